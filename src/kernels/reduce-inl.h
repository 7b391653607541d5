// Per-target reductions shared by the kernels: the max of an array, and the
// transposed reduction that sums N dot products (N = lanes of a full f32
// vector) into one vector. Included once per Highway target (no include guard,
// by design).
#if defined(QUEST_KERNELS_REDUCE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QUEST_KERNELS_REDUCE_INL_H_
#undef QUEST_KERNELS_REDUCE_INL_H_
#else
#define QUEST_KERNELS_REDUCE_INL_H_
#endif

#include <cstddef>
#include <limits>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Lanes of a full f32 vector when the transposed reduction below applies (a
// fixed 4, 8 or 16: SSE4/AVX2/AVX-512, NEON); 0 where it does not.
template <class DF>
constexpr size_t TransposeLanes() {
  constexpr size_t n = hn::MaxLanes(DF());
  return (!HWY_HAVE_SCALABLE && (n == 4 || n == 8 || n == 16)) ? n : 0;
}

// a[0..N) each hold N partial sums of one dot product: returns the vector
// whose lane j is the sum of a[j]'s lanes. Interleave-and-add rounds inside
// 128-bit blocks, then across blocks: about 3 shuffles/adds per input vector,
// where N separate horizontal sums cost about 10 each on AVX-512 and made the
// logits loop shuffle-bound.
template <class DF, size_t kN = TransposeLanes<DF>()>
HWY_INLINE hn::Vec<DF> SumLanesTransposed(DF df, const hn::Vec<DF>* HWY_RESTRICT a) {
#if HWY_TARGET == HWY_SCALAR  // one lane: never called (TransposeLanes is 0)
  (void)df;
  return a[0];
#else
  using V = hn::Vec<DF>;
  const hn::Repartition<double, DF> dd;
  // [x0+x2, y0+y2, x1+x3, y1+y3] per block.
  const auto pair = [&](V x, V y) {
    return hn::Add(hn::InterleaveLower(df, x, y), hn::InterleaveUpper(df, x, y));
  };
  // Two pairs -> [sum x, sum y, sum z, sum w] per block.
  const auto quad = [&](V xy, V zw) {
    const auto a64 = hn::BitCast(dd, xy), b64 = hn::BitCast(dd, zw);
    return hn::Add(hn::BitCast(df, hn::InterleaveLower(dd, a64, b64)),
                   hn::BitCast(df, hn::InterleaveUpper(dd, a64, b64)));
  };
  V g[kN / 4];  // g[c]: block b holds the block-b partials of a[4c..4c+4)
  for (size_t c = 0; c < kN / 4; ++c) {
    g[c] = quad(pair(a[4 * c], a[4 * c + 1]), pair(a[4 * c + 2], a[4 * c + 3]));
  }
  if constexpr (kN == 4) {
    return g[0];
  } else if constexpr (kN == 8) {  // blocks: [g0 total, g1 total]
    return hn::OddEvenBlocks(hn::Add(g[1], hn::SwapAdjacentBlocks(g[1])),
                             hn::Add(g[0], hn::SwapAdjacentBlocks(g[0])));
  } else {  // kN == 16: halves, then adjacent blocks -> [g0, g1, g2, g3] totals
    V x = hn::Add(hn::ConcatLowerLower(df, g[2], g[0]), hn::ConcatUpperUpper(df, g[2], g[0]));
    V y = hn::Add(hn::ConcatLowerLower(df, g[3], g[1]), hn::ConcatUpperUpper(df, g[3], g[1]));
    x = hn::Add(x, hn::SwapAdjacentBlocks(x));
    y = hn::Add(y, hn::SwapAdjacentBlocks(y));
    return hn::OddEvenBlocks(y, x);
  }
#endif
}

// Returns max(x[0..n)).
HWY_INLINE float MaxOf(const float* HWY_RESTRICT x, int n) {
  float m = -std::numeric_limits<float>::infinity();
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  int i = 0;
  if (n >= N) {
    auto vm = hn::LoadU(df, x);
    for (i = N; i + N <= n; i += N) vm = hn::Max(vm, hn::LoadU(df, x + i));
    m = hn::GetLane(hn::MaxOfLanes(df, vm));
  }
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

// Whether any of x[0..n) is above m: one compare per vector, no horizontal
// reduction.
HWY_INLINE bool AnyAbove(const float* HWY_RESTRICT x, int n, float m) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  const auto vm = hn::Set(df, m);
  int i = 0;
  for (; i + N <= n; i += N) {
    if (!hn::AllFalse(df, hn::Gt(hn::LoadU(df, x + i), vm))) return true;
  }
  for (; i < n; ++i) {
    if (x[i] > m) return true;
  }
  return false;
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#endif  // QUEST_KERNELS_REDUCE_INL_H_
