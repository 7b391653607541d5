// Thread counts: a requested --threads resolved against the processors this
// process may run on, and the OpenMP wait policy chosen for shared machines.
#pragma once

#include <string>

#include "src/util/check.h"

namespace quest {

// Processors in this process's CPU affinity mask (what taskset, cgroups and
// container limits leave), at least 1.
int AvailableProcessors();

// 0 means every available processor (or fewer if OMP_NUM_THREADS says so).
// More threads than processors only adds barrier and oversubscription cost
// (and OpenMP aborts or overflows its stack on absurd counts), so a larger
// request is refused with a message naming `flag` and the processor count.
Result<int> ResolveThreads(int requested, const std::string& flag = "--threads");

// Makes OpenMP's idle threads sleep instead of spinning unless the user chose
// a policy (OMP_WAIT_POLICY or GOMP_SPINCOUNT set). Spinning barriers slow the
// engine down by an order of magnitude when another process competes for the
// cores; sleeping costs little on an idle machine (docs/RELIABILITY.md has the
// figures). The OpenMP runtime reads its settings when it is loaded, so this
// re-executes the program (argv: main's) with the policy set; first thing in main().
void PreferPassiveOpenMpWait(char** argv);

}  // namespace quest
