// The FMA peak probe of the benchmarks: independent chains of vector
// multiply-adds in registers on every thread, so `quest bench prefill` can
// state the arithmetic ceiling of the same moments next to what it achieves.
#include <omp.h>

#include <algorithm>

#include "src/kernels/kernels.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/fma_peak.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// 12 independent accumulators: two FMA pipes of ~4-5 cycles latency need at
// least 10 in flight; 12 fit AVX2's 16 registers with the two factors.
constexpr int kChains = 12;

// Runs iters steps of kChains FMAs; returns the f32 FLOPs done (2 per lane)
// and a sum that depends on every chain (so nothing is optimized away).
double FmaChainsImpl(int64_t iters, float* sink) {
  const hn::ScalableTag<float> df;
  using V = hn::Vec<decltype(df)>;
  V acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = hn::Set(df, 0.001f * i);
  // a * x + b with a just below 1 and a small b: the chains converge to
  // b / (1 - a) instead of overflowing or going denormal.
  const V a = hn::Set(df, 0.9999f);
  const V b = hn::Set(df, 1e-4f);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < kChains; ++i) acc[i] = hn::MulAdd(acc[i], a, b);
  }
  V s = acc[0];
  for (int i = 1; i < kChains; ++i) s = hn::Add(s, acc[i]);
  *sink = hn::GetLane(s);
  return 2.0 * kChains * hn::Lanes(df) * static_cast<double>(iters);
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quest {

HWY_EXPORT(FmaChainsImpl);

double FmaPeakGflops(int num_threads, int64_t iters_per_thread) {
  double flops = 0;
  float sink = 0;
  const double t0 = omp_get_wtime();
#pragma omp parallel num_threads(std::max(1, num_threads)) reduction(+ : flops, sink)
  {
    float s = 0;
    flops += HWY_DYNAMIC_DISPATCH(FmaChainsImpl)(iters_per_thread, &s);
    sink += s;
  }
  const double seconds = omp_get_wtime() - t0;
  volatile float keep = sink;  // the chains' result is observed
  (void)keep;
  return flops / seconds / 1e9;
}

}  // namespace quest
#endif  // HWY_ONCE
