// Memory size checks (memory.h).
#include "src/util/memory.h"

#include <unistd.h>

namespace quest {

uint64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return UINT64_MAX;  // unknown: no limit
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
}

Status CheckFitsInMemory(double bytes, const std::string& what) {
  const double physical = static_cast<double>(PhysicalMemoryBytes());
  if (!(bytes <= physical)) {
    return Status::Error(StrFormat("invalid %s: needs %.3g GB, more than the machine's %.3g GB of memory",
                                   what.c_str(), bytes / 1e9, physical / 1e9));
  }
  return Status();
}

}  // namespace quest
