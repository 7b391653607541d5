// The scalar f32 terms that the quantized dot products add up outside their
// vectors (block tails, mins, bias corrections): a * b + c rounded as the
// target's FMA does, written out so that MatVec and MatVecBatch round each term
// alike whatever the optimizer sees around it. Included once per Highway
// target (no include guard, by design).
#if defined(QUEST_KERNELS_QUANT_MUL_ADD_LANE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QUEST_KERNELS_QUANT_MUL_ADD_LANE_INL_H_
#undef QUEST_KERNELS_QUANT_MUL_ADD_LANE_INL_H_
#else
#define QUEST_KERNELS_QUANT_MUL_ADD_LANE_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {

// a * b + c. One rounding where the target has FMA, two elsewhere: what GCC's
// default contraction (-ffp-contract=fast) makes of the plain expression where
// it sees the pattern. Left to the compiler, the same expression can be fused
// in one caller and not in another: a batched loop vectorized across streams
// multiplies and adds separately.
HWY_INLINE float MulAddLane(float a, float b, float c) {
#if HWY_NATIVE_FMA
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;  // no FMA in the target's instruction set to fuse into
#endif
}

// c - a * b, rounded as MulAddLane (negating a is exact).
HWY_INLINE float NegMulAddLane(float a, float b, float c) { return MulAddLane(-a, b, c); }

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#endif  // include guard
