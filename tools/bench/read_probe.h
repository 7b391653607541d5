// The read-bandwidth probe of the benchmarks: a STREAM-like timed sum over a
// buffer far larger than the last-level cache, on the benchmark's threads.
// `quest bench attention` runs a pass between its own timings, so that what it
// reads is compared with the bandwidth of the same moments (this VM's swings
// with its neighbours: 25-60 GB/s within minutes).
#pragma once

#include <chrono>
#include <cstddef>

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

 private:
  size_t n_;
  int threads_;
  AlignedArray<float> buf_;
};

}  // namespace quest
