// The 16-bit rounding of x that MatVec's dot products read for every block
// type but Q4_0 (dot_q4_0-inl.h): x16 per 32 values plus the per-block step
// and sums. Included once per Highway target (no include guard, by design).
#if defined(QUEST_KERNELS_QUANT_QUANTIZE_X_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QUEST_KERNELS_QUANT_QUANTIZE_X_INL_H_
#undef QUEST_KERNELS_QUANT_QUANTIZE_X_INL_H_
#else
#define QUEST_KERNELS_QUANT_QUANTIZE_X_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hwy/aligned_allocator.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// x, quantized once per MatVec call for the block types but Q4_0 (whose dot,
// dot_q4_0-inl.h, takes 8-bit x): per 32 values,
// x16 = round(x / dx) with dx = max |x| / 32767, so |x - dx * x16| <= dx / 2
// (a relative error of 1.5e-5 of the block's largest |x|, ~500x finer than
// ggml's q8 activations). This lets the dot products multiply i16 x i16 -> i32
// pairs (pmaddwd), half the vector ops of converting every weight to f32.
constexpr size_t kXBlock = 32;

struct QuantizedX {
  hwy::AlignedFreeUniquePtr<int16_t[]> x16;  // [cols]
  std::vector<float> dx;                     // [cols / 32]
  std::vector<float> xsum32;                 // [cols / 32]: f32 sums, for the mins
  std::vector<float> xsum16;                 // [cols / 32]: sums of x16 (exact), for kZero
};

QuantizedX QuantizeX(const float* HWY_RESTRICT x, size_t cols, bool need_sums) {
  const hn::CappedTag<float, 16> df;
  const hn::Rebind<int32_t, decltype(df)> di32;
  const hn::Rebind<int16_t, decltype(df)> di16;
  const size_t N = hn::Lanes(df);
  QuantizedX q{hwy::AllocateAligned<int16_t>(cols),
               std::vector<float>(cols / kXBlock),
               {},
               std::vector<float>(cols / kXBlock)};
  for (size_t b = 0; b < cols / kXBlock; ++b) {
    const float* xb = x + b * kXBlock;
    auto amax = hn::Zero(df);
    for (size_t i = 0; i < kXBlock; i += N) amax = hn::Max(amax, hn::Abs(hn::LoadU(df, xb + i)));
    const float m = hn::GetLane(hn::MaxOfLanes(df, amax));
    q.dx[b] = m / 32767.0f;
    const auto inv = hn::Set(df, m > 0.0f ? 32767.0f / m : 0.0f);
    auto sum16 = hn::Zero(di32);
    for (size_t i = 0; i < kXBlock; i += N) {
      const auto v = hn::NearestInt(hn::Mul(hn::LoadU(df, xb + i), inv));
      sum16 = hn::Add(sum16, v);
      hn::StoreU(hn::DemoteTo(di16, hn::BitCast(di32, v)), di16, q.x16.get() + b * kXBlock + i);
    }
    // |sum| <= 32 * 32767 < 2^24: exact in f32.
    q.xsum16[b] = static_cast<float>(hn::GetLane(hn::SumOfLanes(di32, sum16)));
  }
  if (need_sums) {
    q.xsum32.resize(cols / kXBlock);
    for (size_t b = 0; b < cols / kXBlock; ++b) {
      auto sum = hn::Zero(df);
      for (size_t i = 0; i < kXBlock; i += N)
        sum = hn::Add(sum, hn::LoadU(df, x + b * kXBlock + i));
      q.xsum32[b] = hn::GetLane(hn::SumOfLanes(df, sum));
    }
  }
  return q;
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#endif  // include guard
