// Sizes checked against the machine's memory before allocating, so a flag
// asking for too much is refused with its name instead of ending in an abort
// (std::bad_alloc) or the kernel's OOM killer.
#pragma once

#include <cstdint>
#include <string>

#include "src/util/check.h"

namespace quest {

// Physical memory of the machine, in bytes (sysconf).
uint64_t PhysicalMemoryBytes();

// An error naming `what` (e.g. "--working-set-gb 1000") when `bytes` exceed
// the physical memory.
Status CheckFitsInMemory(double bytes, const std::string& what);

}  // namespace quest
