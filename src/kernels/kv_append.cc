// KV append kernels: convert new K/V rows to the storage type (f16, f32, or
// q8: int8 with a per-row scale), and fold a stored key row into its page's
// channel-wise max/min (the Quest metadata).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "src/kernels/kernels.h"
#include "src/util/check.h"
#include "src/util/f16.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/kv_append.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "src/kernels/load-inl.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void ConvertToF16Impl(const float* HWY_RESTRICT src, size_t n, uint16_t* HWY_RESTRICT dst) {
#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128 || \
    (HWY_ARCH_X86 && HWY_TARGET > HWY_AVX2)
  // Highway 1.0.3 emulates DemoteTo(f16) on targets without F16C by truncation;
  // round to nearest even like the hardware, so every target stores the same
  // bits (the metadata bound is exact either way).
  for (size_t i = 0; i < n; ++i) dst[i] = F32ToF16(src[i]);
  return;
#endif
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N) StoreF32(df, hn::LoadU(df, src + i), dst + i);
  const hn::CappedTag<float, 1> d1;
  for (; i < n; ++i) StoreF32(d1, hn::LoadU(d1, src + i), dst + i);
}

// Folds row hi into kmax and row lo into kmin (the same row but for q8).
template <typename T>
void MinMax(const T* HWY_RESTRICT hi, const T* HWY_RESTRICT lo, int head_dim, bool first,
            T* HWY_RESTRICT kmax, T* HWY_RESTRICT kmin) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  for (int i = 0; i < head_dim; i += N) {  // head_dim % 16 == 0: no tail
    const auto h = LoadF32(df, hi + i);
    const auto l = LoadF32(df, lo + i);
    if (first) {
      StoreF32(df, h, kmax + i);
      StoreF32(df, l, kmin + i);
    } else {
      StoreF32(df, hn::Max(h, LoadF32(df, kmax + i)), kmax + i);
      StoreF32(df, hn::Min(l, LoadF32(df, kmin + i)), kmin + i);
    }
  }
}

void MinMaxF16Impl(const uint16_t* hi, const uint16_t* lo, int head_dim, bool first,
                   uint16_t* kmax, uint16_t* kmin) {
  MinMax(hi, lo, head_dim, first, kmax, kmin);
}

// One row of n floats (n % 16 == 0) -> int8, symmetric absmax: returns
// scale = max|x| / 127, dst[i] = round_even(x[i] * (127 / max|x|)). The
// scalar divisions and the f32 product match ref::QuantizeQ8 bit for bit.
float QuantizeQ8Impl(const float* HWY_RESTRICT src, int n, float limit,
                     int8_t* HWY_RESTRICT dst) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const int N = static_cast<int>(hn::Lanes(df));
  auto amax = hn::Zero(df);
  for (int i = 0; i < n; i += N) amax = hn::Max(amax, hn::Abs(hn::LoadU(df, src + i)));
  const float absmax = std::min(limit, hn::GetLane(hn::MaxOfLanes(df, amax)));
  // A row of zeros, or so small (below 127 / FLT_MAX ~ 4e-37) that 127 / max
  // overflows, stores zeros with scale 0 (no 0 * inf).
  const float inv_s = 127.0f / absmax;
  const bool zero = !(absmax > 0.0f) || !std::isfinite(inv_s);
  const auto inv = hn::Set(df, zero ? 0.0f : inv_s);
  const auto lim = hn::Set(df, 127.0f);  // clipped values: at most 127 codes
  for (int i = 0; i < n; i += N) {
    const auto y = hn::Min(lim, hn::Max(hn::Neg(lim), hn::Mul(hn::LoadU(df, src + i), inv)));
    hn::StoreU(hn::DemoteTo(d8, hn::NearestInt(y)), d8, dst + i);
  }
  return zero ? 0.0f : absmax / 127.0f;
}

// dst[i] = src[i] * scale (f32), the value q8 storage stands for.
void DequantizeQ8Impl(const int8_t* HWY_RESTRICT src, int n, float scale,
                      float* HWY_RESTRICT dst) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  const auto vs = hn::Set(df, scale);
  for (int i = 0; i < n; i += N) hn::StoreU(hn::Mul(LoadF32(df, src + i), vs), df, dst + i);
}

void UpdatePageMinMaxImpl(const void* key, KvType type, int head_dim, bool first, void* kmax,
                          void* kmin) {
  if (type == KvType::kF16) {
    const uint16_t* k = static_cast<const uint16_t*>(key);
    MinMax(k, k, head_dim, first, static_cast<uint16_t*>(kmax), static_cast<uint16_t*>(kmin));
  } else {
    const float* k = static_cast<const float*>(key);
    MinMax(k, k, head_dim, first, static_cast<float*>(kmax), static_cast<float*>(kmin));
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quest {

HWY_EXPORT(ConvertToF16Impl);
HWY_EXPORT(UpdatePageMinMaxImpl);
HWY_EXPORT(QuantizeQ8Impl);
HWY_EXPORT(MinMaxF16Impl);
HWY_EXPORT(DequantizeQ8Impl);

void ConvertToKv(const float* src, size_t n, KvType type, void* dst) {
  QE_CHECK(type != KvType::kQ8, "q8 rows are stored with QuantizeQ8");
  if (type == KvType::kF32) {
    std::memcpy(dst, src, n * sizeof(float));
  } else {
    HWY_DYNAMIC_DISPATCH(ConvertToF16Impl)(src, n, static_cast<uint16_t*>(dst));
  }
}

float QuantizeQ8(const float* src, int n, int8_t* dst, float limit) {
  QE_DCHECK(n % kHeadDimMultiple == 0, "n %d", n);
  return HWY_DYNAMIC_DISPATCH(QuantizeQ8Impl)(src, n, limit, dst);
}

namespace {
// The nearest f16 >= x (up) or <= x (down), x finite within the f16 range:
// round to nearest, then one step outward if that went the wrong way.
// Scalar (util/f16.h): Highway 1.0.3 truncates f16 demotion on targets
// without F16C, and this runs once per appended key row.
uint16_t F16Outward(float x, bool up) {
  const uint16_t h = F32ToF16(x);
  const float back = F16ToF32(h);
  if (up ? back >= x : back <= x) return h;
  // One step toward +inf (up) or -inf: the magnitude grows or shrinks by one
  // unit depending on the sign; +-0 steps to the smallest subnormal.
  if ((h & 0x7FFFu) == 0) return up ? 0x0001 : 0x8001;
  const bool negative = (h & 0x8000u) != 0;
  return static_cast<uint16_t>(negative == up ? h - 1 : h + 1);
}
}  // namespace

void UpdatePageMinMaxOutward(const float* key, int head_dim, bool first, uint16_t* kmax,
                             uint16_t* kmin) {
  constexpr int kMaxHeadDim = 512;  // KvCacheConfig::kMaxHeadDim
  QE_CHECK(head_dim % kHeadDimMultiple == 0 && head_dim <= kMaxHeadDim, "head_dim %d", head_dim);
  alignas(64) uint16_t hi[kMaxHeadDim], lo[kMaxHeadDim];
  for (int i = 0; i < head_dim; ++i) {
    hi[i] = F16Outward(key[i], /*up=*/true);
    lo[i] = F16Outward(key[i], /*up=*/false);
  }
  HWY_DYNAMIC_DISPATCH(MinMaxF16Impl)(hi, lo, head_dim, first, kmax, kmin);
}

void DequantizeQ8(const int8_t* src, int n, float scale, float* dst) {
  QE_DCHECK(n % kHeadDimMultiple == 0, "n %d", n);
  HWY_DYNAMIC_DISPATCH(DequantizeQ8Impl)(src, n, scale, dst);
}

void UpdatePageMinMax(const void* key, KvType type, int head_dim, bool first, void* kmax,
                      void* kmin) {
  QE_DCHECK(head_dim % kHeadDimMultiple == 0, "head_dim %d", head_dim);
  QE_CHECK(type != KvType::kQ8, "q8 keys fold into f32 metadata dequantized");
  HWY_DYNAMIC_DISPATCH(UpdatePageMinMaxImpl)(key, type, head_dim, first, kmax, kmin);
}

}  // namespace quest
#endif  // HWY_ONCE
