// One weight row of any supported ggml type to f32: the embedding lookup
// (DequantizeRow) and the tiles of MatMul. Plain types are converted a vector
// at a time, block types decoded in registers by decode-inl.h.
// Included once per Highway target (no include guard, by design).
#if defined(QUEST_KERNELS_QUANT_DEQUANTIZE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QUEST_KERNELS_QUANT_DEQUANTIZE_INL_H_
#undef QUEST_KERNELS_QUANT_DEQUANTIZE_INL_H_
#else
#define QUEST_KERNELS_QUANT_DEQUANTIZE_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "src/gguf/ggml_type.h"
#include "src/kernels/quant/decode-inl.h"
#include "src/util/f16.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Store into out: the integers into a block-sized i16 buffer, then the affine
// map over the sub-block once it ends.
struct StoreSink {
  float* HWY_RESTRICT out;   // [cols]
  HWY_ALIGN int16_t q[256];  // the current block's integers, by value index % 256

  explicit StoreSink(float* out_in) : out(out_in) {}
  template <int kSlot>
  HWY_INLINE void Add(size_t i, V16 v) {
    hn::StoreU(v, D16(), q + (i & 255));
  }
  template <int kSlot>
  HWY_INLINE void End(size_t start, size_t len, float scale, float bias) {
    const hn::CappedTag<float, 16> d;
    const hn::Rebind<int32_t, decltype(d)> di32;
    const hn::Rebind<int16_t, decltype(d)> di16;
    const size_t N = hn::Lanes(d);
    const auto vs = hn::Set(d, scale), vb = hn::Set(d, bias);
    for (size_t i = start; i < start + len; i += N) {
      const auto v = hn::ConvertTo(d, hn::PromoteTo(di32, hn::LoadU(di16, q + (i & 255))));
      // Same rounding as the reference where there is no bias.
      hn::StoreU(bias == 0.0f ? hn::Mul(v, vs) : hn::MulAdd(v, vs, vb), d, out + i);
    }
  }
};

// ---------------------------------------------------------------- plain types

// N values of a plain (one value per element) weight type as f32.
template <class D>
HWY_INLINE hn::Vec<D> LoadPlain(D d, const float* HWY_RESTRICT p) {
  return hn::LoadU(d, p);
}
template <class D>
HWY_INLINE hn::Vec<D> LoadPlain(D d, const hwy::float16_t* HWY_RESTRICT p) {
  return hn::PromoteTo(d, hn::LoadU(hn::Rebind<hwy::float16_t, D>(), p));
}
// bf16 is the top half of an f32.
template <class D>
HWY_INLINE hn::Vec<D> LoadPlain(D d, const hwy::bfloat16_t* HWY_RESTRICT p) {
  const hn::Rebind<uint16_t, D> du16;
  const hn::Rebind<uint32_t, D> du32;
  const auto bits = hn::PromoteTo(du32, hn::LoadU(du16, reinterpret_cast<const uint16_t*>(p)));
  return hn::BitCast(d, hn::ShiftLeft<16>(bits));
}

// One value, for the tails: memcpy, since rows need not be element-aligned
// (a scalar float load from a misaligned address is undefined behaviour).
HWY_INLINE float ScalarAt(const float* p) {
  float v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
HWY_INLINE float ScalarAt(const hwy::float16_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof(h));
  return F16ToF32(h);
}
HWY_INLINE float ScalarAt(const hwy::bfloat16_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof(h));
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

template <typename T>
void DequantizePlain(const T* HWY_RESTRICT w, size_t n, float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(LoadPlain(df, w + i), df, out + i);
  for (; i < n; ++i) out[i] = ScalarAt(w + i);
}

// ---------------------------------------------------------------- rows

template <class Block>
void DequantizeBlocks(const uint8_t* HWY_RESTRICT row, size_t blocks, float* HWY_RESTRICT out) {
  StoreSink s(out);
  for (size_t k = 0; k < blocks; ++k) Block::Decode(row + k * Block::kBytes, k * Block::kValues, s);
}

// Q8_0 straight from the bytes to f32 (the same float(q) * d as StoreSink),
// without the 16-bit round trip: Gemma 3's 262144 x 640 output matrix is
// Q8_0, and a decode batch dequantizes all of it every step.
template <>
inline void DequantizeBlocks<BlockQ8_0>(const uint8_t* HWY_RESTRICT row, size_t blocks,
                                        float* HWY_RESTRICT out) {
  const hn::CappedTag<float, 32> df;  // 32 % lanes == 0
  const hn::Rebind<int32_t, decltype(df)> di32;
  const hn::Rebind<int8_t, decltype(df)> di8;
  const size_t N = hn::Lanes(df);
  for (size_t k = 0; k < blocks; ++k) {
    const uint8_t* HWY_RESTRICT b = row + k * BlockQ8_0::kBytes;
    const int8_t* HWY_RESTRICT q = reinterpret_cast<const int8_t*>(b + 2);
    const auto d = hn::Set(df, HalfAt(b));
    for (size_t i = 0; i < 32; i += N) {
      const auto v = hn::ConvertTo(df, hn::PromoteTo(di32, hn::LoadU(di8, q + i)));
      hn::StoreU(hn::Mul(v, d), df, out + k * 32 + i);
    }
  }
}

// Calls fn(Block-or-plain-tag) for the type; the tag says how to read a row.
template <class T>
struct Plain {};

template <class Fn>
HWY_INLINE void VisitType(GgmlType type, const Fn& fn) {
  switch (type) {
    case GgmlType::kF32:
      return fn(Plain<float>());
    case GgmlType::kF16:
      return fn(Plain<hwy::float16_t>());
    case GgmlType::kBF16:
      return fn(Plain<hwy::bfloat16_t>());
    case GgmlType::kQ4_0:
      return fn(BlockQ4_0());
    case GgmlType::kQ4_1:
      return fn(BlockQ4_1());
    case GgmlType::kQ5_0:
      return fn(BlockQ5_0());
    case GgmlType::kQ5_1:
      return fn(BlockQ5_1());
    case GgmlType::kQ8_0:
      return fn(BlockQ8_0());
    case GgmlType::kQ4_K:
      return fn(BlockQ4_K());
    case GgmlType::kQ5_K:
      return fn(BlockQ5_K());
    case GgmlType::kQ6_K:
      return fn(BlockQ6_K());
    default:
      HWY_ABORT("matvec: unsupported weight type %u", static_cast<unsigned>(type));
  }
}

// One row (cols values) -> f32.
template <class T>
void DequantizeRowT(Plain<T>, const uint8_t* row, size_t cols, float* out) {
  DequantizePlain(reinterpret_cast<const T*>(row), cols, out);
}
template <class Block>
void DequantizeRowT(Block, const uint8_t* row, size_t cols, float* out) {
  DequantizeBlocks<Block>(row, cols / Block::kValues, out);
}

HWY_INLINE void DequantizeRowAny(GgmlType type, const void* row, int64_t cols, float* out) {
  VisitType(type, [&](auto tag) {
    DequantizeRowT(tag, static_cast<const uint8_t*>(row), static_cast<size_t>(cols), out);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#endif  // QUEST_KERNELS_QUANT_DEQUANTIZE_INL_H_
