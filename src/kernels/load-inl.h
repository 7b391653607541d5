// Per-target helpers shared by the kernels: load a vector of f32 from f32, f16
// or int8 storage. Included once per Highway target (no include guard, by design).
#if defined(QUEST_KERNELS_LOAD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QUEST_KERNELS_LOAD_INL_H_
#undef QUEST_KERNELS_LOAD_INL_H_
#else
#define QUEST_KERNELS_LOAD_INL_H_
#endif

#include <cstdint>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class DF>
HWY_INLINE hn::Vec<DF> LoadF32(DF df, const float* HWY_RESTRICT p) {
  return hn::LoadU(df, p);
}

// f16 storage is uint16_t bits; F16C vcvtph2ps on x86.
template <class DF>
HWY_INLINE hn::Vec<DF> LoadF32(DF df, const uint16_t* HWY_RESTRICT p) {
  const hn::Rebind<hwy::float16_t, DF> dh;
  return hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(p)));
}

// q8 storage: the int8 values as f32, unscaled (the caller applies the
// per-token scale where it is cheapest: on a logit, or on a softmax weight).
template <class DF>
HWY_INLINE hn::Vec<DF> LoadF32(DF df, const int8_t* HWY_RESTRICT p) {
  const hn::Rebind<int32_t, DF> di;
  const hn::Rebind<int8_t, DF> d8;
  return hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, p)));
}

template <class DF>
HWY_INLINE void StoreF32(DF df, hn::Vec<DF> v, float* HWY_RESTRICT p) {
  hn::StoreU(v, df, p);
}

template <class DF>
HWY_INLINE void StoreF32(DF df, hn::Vec<DF> v, uint16_t* HWY_RESTRICT p) {
  const hn::Rebind<hwy::float16_t, DF> dh;
  hn::StoreU(hn::DemoteTo(dh, v), dh, reinterpret_cast<hwy::float16_t*>(p));
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#endif  // QUEST_KERNELS_LOAD_INL_H_
