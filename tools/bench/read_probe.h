// The read-bandwidth probe of the benchmarks: a STREAM-like timed sum over a
// buffer far larger than the last-level cache, on the benchmark's threads.
// `quest bench attention` runs a pass between its own timings, so that what it
// reads is compared with the bandwidth of the same moments (this VM's swings
// with its neighbours: 25-60 GB/s within minutes). ScatterPass reads the same
// buffer the way a Quest step reads its selected pages, which is what bounds
// that part of a step: runs of a few KB far apart are read slower than a
// stream (the hardware prefetcher does not follow them).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "src/kernels/kernels.h"
#include "src/util/aligned.h"

namespace quest {

class ReadProbe {
 public:
  ReadProbe(double gb, int threads)
      : n_(static_cast<size_t>(gb * 1e9 / sizeof(float))), threads_(threads), buf_(n_) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < n_; i += 1024) buf_[i] = 1.0f;  // every page touched before timing
  }
  // One timed pass, GB/s.
  double Pass() {
    const auto t0 = std::chrono::steady_clock::now();
    volatile double sink = SumFloats(buf_.data(), n_, threads_);  // kept: volatile
    (void)sink;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return n_ * sizeof(float) / s / 1e9;
  }

  // One timed pass over scattered runs, GB/s: the buffer is cut into runs of
  // run_bytes (one page's K and V) and into regions of region_runs runs (one
  // KV head's pages); in each region, keep_runs runs picked at random are
  // read in ascending order (one head's page list of a Quest step). 0 when
  // the buffer holds no whole region.
  double ScatterPass(size_t run_bytes, int region_runs, int keep_runs) {
    const size_t run_floats = std::max<size_t>(1, run_bytes / sizeof(float));
    const size_t region = std::max(1, region_runs);
    const size_t keep = std::clamp<size_t>(keep_runs, 1, region);
    if (run_floats != run_floats_ || region != region_runs_ || keep != keep_runs_) {
      run_floats_ = run_floats;
      region_runs_ = region;
      keep_runs_ = keep;
      starts_.clear();
      std::mt19937_64 rng(1);
      std::vector<int64_t> runs(region);
      for (size_t r0 = 0; (r0 + region) * run_floats <= n_; r0 += region) {
        for (size_t i = 0; i < region; ++i) runs[i] = static_cast<int64_t>(r0 + i);
        for (size_t i = 0; i < keep; ++i) {  // partial Fisher-Yates: keep distinct runs
          std::swap(runs[i], runs[i + rng() % (region - i)]);
        }
        std::sort(runs.begin(), runs.begin() + keep);
        for (size_t i = 0; i < keep; ++i) starts_.push_back(runs[i] * run_floats);
      }
    }
    if (starts_.empty()) return 0;
    const auto t0 = std::chrono::steady_clock::now();
    volatile double sink =
        SumRuns(buf_.data(), starts_.data(), starts_.size(), run_floats_, threads_);  // kept
    (void)sink;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return starts_.size() * run_floats_ * sizeof(float) / s / 1e9;
  }

 private:
  size_t n_;
  int threads_;
  AlignedArray<float> buf_;
  // ScatterPass's runs, kept while its arguments stay the same.
  size_t run_floats_ = 0, region_runs_ = 0, keep_runs_ = 0;
  std::vector<int64_t> starts_;
};

}  // namespace quest
