// The arithmetic peak probes of the benchmarks: independent chains of vector
// multiply-adds in registers on every thread (f32 FMA; 8-bit integer dots),
// so `quest bench prefill` can state the ceilings of the same moments next to
// what it achieves.
#include <omp.h>

#include <algorithm>

#include "src/kernels/kernels.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/peak_probes.cc"
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

// 8-bit dot chains: kDotA x kDotB accumulators of i32 lanes, each step
// adding to each the u8 x i8 products of a vector of bytes (4 per lane) by
// pmaddubsw + pmaddwd + paddd (AVX2, AVX-512 BW), the instructions of quest's
// Q4_0 dot. VNNI's vpdpbusd is not probed: the build compiles no AVX3_DL
// target (Highway 1.0.3's also enables AVX-VNNI, whose VEX form Zen 4 lacks).
// The chains' byte operands are a[j] x b[k] (a = 1, 2; b = 1..4): each step
// adds 4 * a[j] * b[k] to every lane of chain (j, k), and *sink gets the sum
// of the chains' first lanes. Returns the multiply-adds done; 0 on targets
// without such a dot (no probe).
constexpr int kDotA = 2, kDotB = 4;

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3
#if HWY_TARGET == HWY_AVX2
using IntVec = __m256i;
HWY_INLINE IntVec Bytes(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }
HWY_INLINE IntVec ZeroI() { return _mm256_setzero_si256(); }
HWY_INLINE IntVec DotStep(IntVec acc, IntVec a, IntVec b) {
  const IntVec pairs = _mm256_maddubs_epi16(a, b);
  return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}
HWY_INLINE int32_t Lane0(IntVec v) { return _mm256_cvtsi256_si32(v); }
#else
using IntVec = __m512i;
HWY_INLINE IntVec Bytes(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }
HWY_INLINE IntVec ZeroI() { return _mm512_setzero_si512(); }
HWY_INLINE IntVec DotStep(IntVec acc, IntVec a, IntVec b) {
  const IntVec pairs = _mm512_maddubs_epi16(a, b);
  return _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)));
}
HWY_INLINE int32_t Lane0(IntVec v) { return _mm_cvtsi128_si32(_mm512_castsi512_si128(v)); }
#endif

int64_t IntDotChainsImpl(int64_t iters, int32_t* sink) {
  IntVec a[kDotA], b[kDotB], acc[kDotA][kDotB];
  for (int j = 0; j < kDotA; ++j) a[j] = Bytes(j + 1);
  for (int k = 0; k < kDotB; ++k) b[k] = Bytes(k + 1);
  for (int j = 0; j < kDotA; ++j) {
    for (int k = 0; k < kDotB; ++k) acc[j][k] = ZeroI();
  }
  for (int64_t it = 0; it < iters; ++it) {
    // Opaque to the compiler: the products are recomputed every step.
    for (int j = 0; j < kDotA; ++j) asm volatile("" : "+v"(a[j]));
    for (int j = 0; j < kDotA; ++j) {
      for (int k = 0; k < kDotB; ++k) acc[j][k] = DotStep(acc[j][k], a[j], b[k]);
    }
  }
  int32_t s = 0;
  for (int j = 0; j < kDotA; ++j) {
    for (int k = 0; k < kDotB; ++k) s += Lane0(acc[j][k]);
  }
  *sink = s;
  return iters * kDotA * kDotB * static_cast<int64_t>(sizeof(IntVec));
}
#else
int64_t IntDotChainsImpl(int64_t /*iters*/, int32_t* sink) {
  *sink = 0;
  return 0;
}
#endif

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quest {

HWY_EXPORT(FmaChainsImpl);
HWY_EXPORT(IntDotChainsImpl);

namespace {

// Runs work(&sink) once on each of num_threads threads; returns the sum of
// what the calls return, per second. The sinks are observed, so the chains
// that feed them cannot be optimized away.
template <class Work>
double PerSecond(int num_threads, const Work& work) {
  double count = 0, sink = 0;
  const double t0 = omp_get_wtime();
#pragma omp parallel num_threads(std::max(1, num_threads)) reduction(+ : count, sink)
  {
    double s = 0;
    count += work(&s);
    sink += s;
  }
  const double seconds = omp_get_wtime() - t0;
  volatile double keep = sink;
  (void)keep;
  return count / seconds;
}

}  // namespace

double FmaPeakGflops(int num_threads, int64_t iters_per_thread) {
  return PerSecond(num_threads, [&](double* sink) {
           float s = 0;
           const double flops = HWY_DYNAMIC_DISPATCH(FmaChainsImpl)(iters_per_thread, &s);
           *sink = s;
           return flops;
         }) /
         1e9;
}

int64_t IntDotChains(int64_t iters, int32_t* sink) {
  return HWY_DYNAMIC_DISPATCH(IntDotChainsImpl)(iters, sink);
}

double IntDotPeakGops(int num_threads, int64_t iters_per_thread) {
  return 2 *
         PerSecond(num_threads,
                   [&](double* sink) {
                     int32_t s = 0;
                     const double macs = static_cast<double>(IntDotChains(iters_per_thread, &s));
                     *sink = s;
                     return macs;
                   }) /
         1e9;
}

}  // namespace quest
#endif  // HWY_ONCE
