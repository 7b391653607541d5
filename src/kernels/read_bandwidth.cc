// A STREAM-like read: sums a large float buffer once on several threads, so the
// benchmarks can state the machine's read bandwidth next to their own.
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

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quest {

HWY_EXPORT(SumRangeImpl);

double SumFloats(const float* p, size_t n, int num_threads) {
  num_threads = std::max(1, num_threads);
  double total = 0;
#pragma omp parallel num_threads(num_threads) reduction(+ : total)
  {
    const size_t t = omp_get_thread_num();
    const size_t nt = omp_get_num_threads();
    const size_t begin = n * t / nt;
    const size_t end = n * (t + 1) / nt;
    total += HWY_DYNAMIC_DISPATCH(SumRangeImpl)(p + begin, end - begin);
  }
  return total;
}

}  // namespace quest
#endif  // HWY_ONCE
