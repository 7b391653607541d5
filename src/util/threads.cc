// Thread-count resolution and the OpenMP wait policy (threads.h).
#include "src/util/threads.h"

#include <omp.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace quest {

int AvailableProcessors() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<int>(online) : 1;
}

Result<int> ResolveThreads(int requested, const std::string& flag) {
  const int available = AvailableProcessors();
  if (requested < 0) {
    return Status::Error(StrFormat("invalid %s %d: must be >= 0 (0: all %d processors)",
                                   flag.c_str(), requested, available));
  }
  if (requested > available) {
    return Status::Error(StrFormat("invalid %s %d: this machine has %d processors available",
                                   flag.c_str(), requested, available));
  }
  if (requested > 0) return requested;
  return std::clamp(omp_get_max_threads(), 1, available);
}

void PreferPassiveOpenMpWait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) {
    return;
  }
  setenv("OMP_WAIT_POLICY", "passive", /*overwrite=*/0);
  // libgomp reads its environment in a constructor, before main: only a new
  // image of the program sees the setting. If exec fails (no /proc), the
  // program carries on with spinning barriers.
  if (argv != nullptr && argv[0] != nullptr) execv("/proc/self/exe", argv);
}

}  // namespace quest
