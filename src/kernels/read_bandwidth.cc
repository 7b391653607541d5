// A STREAM-like read: sums a large float buffer once on several threads, so the
// benchmarks can state the machine's read bandwidth next to their own; and the
// same read over scattered runs (Quest's selected pages), the limit of a
// Quest step's page reads.
#include <omp.h>

#include <algorithm>

#include "src/kernels/kernels.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/read_bandwidth.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

double SumRangeImpl(const float* HWY_RESTRICT p, size_t n) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  // Four independent accumulators keep enough loads in flight to saturate DRAM.
  auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    a0 = hn::Add(a0, hn::LoadU(df, p + i));
    a1 = hn::Add(a1, hn::LoadU(df, p + i + N));
    a2 = hn::Add(a2, hn::LoadU(df, p + i + 2 * N));
    a3 = hn::Add(a3, hn::LoadU(df, p + i + 3 * N));
  }
  double s = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  for (; i < n; ++i) s += p[i];
  return s;
}

// Sum of the runs [base + starts[r], + run_floats) for r in [0, n). Each run
// is prefetched into L2 (T1) whole while the run before it is summed, as the
// attention kernel prefetches its next pages: a run is a few KB that the
// hardware prefetcher finds only after its first misses. T0 (into L1) got
// nothing here: as slow as no prefetch at all.
double SumRunsImpl(const float* HWY_RESTRICT base, const int64_t* HWY_RESTRICT starts, size_t n,
                   size_t run_floats) {
  const size_t line_floats = 64 / sizeof(float);
  double s = 0;
  for (size_t r = 0; r < n; ++r) {
    if (r + 1 < n) {
      const float* next = base + starts[r + 1];
      for (size_t i = 0; i < run_floats; i += line_floats) __builtin_prefetch(next + i, 0, 2);
    }
    s += SumRangeImpl(base + starts[r], run_floats);
  }
  return s;
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quest {

HWY_EXPORT(SumRangeImpl);
HWY_EXPORT(SumRunsImpl);

namespace {

// sum_range(begin, end) over n items split into one contiguous range per
// thread, the partial sums added.
template <class SumRange>
double SumOverThreads(size_t n, int num_threads, const SumRange& sum_range) {
  double total = 0;
#pragma omp parallel num_threads(std::max(1, num_threads)) reduction(+ : total)
  {
    const size_t t = omp_get_thread_num();
    const size_t nt = omp_get_num_threads();
    total += sum_range(n * t / nt, n * (t + 1) / nt);
  }
  return total;
}

}  // namespace

double SumFloats(const float* p, size_t n, int num_threads) {
  return SumOverThreads(n, num_threads, [&](size_t begin, size_t end) {
    return HWY_DYNAMIC_DISPATCH(SumRangeImpl)(p + begin, end - begin);
  });
}

double SumRuns(const float* base, const int64_t* starts, size_t num_runs, size_t run_floats,
               int num_threads) {
  return SumOverThreads(num_runs, num_threads, [&](size_t begin, size_t end) {
    return HWY_DYNAMIC_DISPATCH(SumRunsImpl)(base, starts + begin, end - begin, run_floats);
  });
}

}  // namespace quest
#endif  // HWY_ONCE
