// KV append kernels: convert new K/V rows to the storage type (f16, f32, or
// q8: int8 with a per-row scale), and fold a stored key row into its page's
// channel-wise max/min (the Quest metadata).
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

template <typename T>
void MinMax(const T* HWY_RESTRICT key, int head_dim, bool first, T* HWY_RESTRICT kmax,
            T* HWY_RESTRICT kmin) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  for (int i = 0; i < head_dim; i += N) {  // head_dim % 16 == 0: no tail
    const auto k = LoadF32(df, key + i);
    if (first) {
      StoreF32(df, k, kmax + i);
      StoreF32(df, k, kmin + i);
    } else {
      StoreF32(df, hn::Max(k, LoadF32(df, kmax + i)), kmax + i);
      StoreF32(df, hn::Min(k, LoadF32(df, kmin + i)), kmin + i);
    }
  }
}

// One row of n floats (n % 16 == 0) -> int8, symmetric absmax: returns
// scale = max|x| / 127, dst[i] = round_even(x[i] * (127 / max|x|)). The
// scalar divisions and the f32 product match ref::QuantizeQ8 bit for bit.
float QuantizeQ8Impl(const float* HWY_RESTRICT src, int n, int8_t* HWY_RESTRICT dst) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const int N = static_cast<int>(hn::Lanes(df));
  auto amax = hn::Zero(df);
  for (int i = 0; i < n; i += N) amax = hn::Max(amax, hn::Abs(hn::LoadU(df, src + i)));
  const float absmax = hn::GetLane(hn::MaxOfLanes(df, amax));
  // A row of zeros, or so small (below 127 / FLT_MAX ~ 4e-37) that 127 / max
  // overflows, stores zeros with scale 0 (no 0 * inf).
  const float inv_s = 127.0f / absmax;
  const bool zero = !(absmax > 0.0f) || !std::isfinite(inv_s);
  const auto inv = hn::Set(df, zero ? 0.0f : inv_s);
  for (int i = 0; i < n; i += N) {
    const auto q = hn::NearestInt(hn::Mul(hn::LoadU(df, src + i), inv));
    hn::StoreU(hn::DemoteTo(d8, q), d8, dst + i);
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
    MinMax(static_cast<const uint16_t*>(key), head_dim, first, static_cast<uint16_t*>(kmax),
           static_cast<uint16_t*>(kmin));
  } else {
    MinMax(static_cast<const float*>(key), head_dim, first, static_cast<float*>(kmax),
           static_cast<float*>(kmin));
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
HWY_EXPORT(DequantizeQ8Impl);

void ConvertToKv(const float* src, size_t n, KvType type, void* dst) {
  QE_CHECK(type != KvType::kQ8, "q8 rows are stored with QuantizeQ8");
  if (type == KvType::kF32) {
    std::memcpy(dst, src, n * sizeof(float));
  } else {
    HWY_DYNAMIC_DISPATCH(ConvertToF16Impl)(src, n, static_cast<uint16_t*>(dst));
  }
}

float QuantizeQ8(const float* src, int n, int8_t* dst) {
  QE_DCHECK(n % kHeadDimMultiple == 0, "n %d", n);
  return HWY_DYNAMIC_DISPATCH(QuantizeQ8Impl)(src, n, dst);
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
