// Per-target block decoders for the ggml weight formats: each turns one block
// into i16 vectors of small integers plus a per-sub-block affine map
// (value = scale * q + bias), and hands them to a sink (dot product or store).
// Included once per Highway target (no include guard, by design).
#if defined(QUEST_KERNELS_QUANT_DECODE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QUEST_KERNELS_QUANT_DECODE_INL_H_
#undef QUEST_KERNELS_QUANT_DECODE_INL_H_
#else
#define QUEST_KERNELS_QUANT_DECODE_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Quant values travel as i16 lanes, at most 16 per vector, so that a vector
// never straddles a 16-value sub-block (Q6_K) and 16 nibble bytes fill whole
// vectors on every target. Sinks widen them (i16 x i16 -> i32 pairs, or f32).
using D16 = hn::CappedTag<int16_t, 16>;
using V16 = hn::Vec<D16>;

// One f16 (block scale) at p -> f32. F16C on AVX2/AVX3; emulated elsewhere.
HWY_INLINE float HalfAt(const uint8_t* p) {
  const hn::CappedTag<float, 1> d1;
  const hn::Rebind<hwy::float16_t, decltype(d1)> dh1;
  return hn::GetLane(hn::PromoteTo(d1, hn::LoadU(dh1, reinterpret_cast<const hwy::float16_t*>(p))));
}

// Lanes(D16) bytes at p, zero-extended to i16.
HWY_INLINE V16 BytesAt(const uint8_t* p) {
  const hn::Rebind<uint8_t, D16> du8;
  return hn::PromoteTo(D16(), hn::LoadU(du8, p));
}

// The sink protocol. A decoder calls, for each sub-block,
//   sink.Add<slot>(i, q)   values i .. i + Lanes(D16) - 1 of the row are the
//                          small integers q (|q| <= 128),
//   sink.End<slot>(start, len, scale, bias)
// meaning values [start, start + len) are scale * q + bias. Up to 4 sub-blocks
// (slots) may be open at once, so that one byte load feeds several of them.
// i and start count values from the start of the row; blocks start at
// multiples of their size.
//
// The 32-value blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) also decode raw
// (Decode<true>): the integers without the zero point kZero, for a dot product
// that subtracts kZero * sum(x) once per block instead of from every value.
// They all start with f16 d, followed by f16 m where kHasMin.

// Q4_0, 18 bytes / 32 values: f16 d, 16 bytes; low nibbles are values 0..15,
// high nibbles 16..31; value = d * (q - 8).
struct BlockQ4_0 {
  static constexpr size_t kValues = 32, kBytes = 18;
  static constexpr bool kHasMin = false;  // bias != 0: the dot needs sums of x
  static constexpr int16_t kZero = 8;
  template <bool kRaw = false, class Sink>
  static HWY_INLINE void Decode(const uint8_t* HWY_RESTRICT b, size_t base, Sink& s) {
    const D16 d;
    const size_t N = hn::Lanes(d);
    const auto mask = hn::Set(d, 0xF), zero = hn::Set(d, kRaw ? 0 : kZero);
    for (size_t i = 0; i < 16; i += N) {
      const V16 q = BytesAt(b + 2 + i);
      s.template Add<0>(base + i, hn::Sub(hn::And(q, mask), zero));
      s.template Add<0>(base + 16 + i, hn::Sub(hn::ShiftRight<4>(q), zero));
    }
    s.template End<0>(base, 32, HalfAt(b), 0.0f);
  }
};

// Q4_1, 20 bytes: f16 d, f16 m, 16 bytes as Q4_0; value = d * q + m.
struct BlockQ4_1 {
  static constexpr size_t kValues = 32, kBytes = 20;
  static constexpr bool kHasMin = true;  // bias != 0: the dot needs sums of x
  static constexpr int16_t kZero = 0;
  template <bool kRaw = false, class Sink>
  static HWY_INLINE void Decode(const uint8_t* HWY_RESTRICT b, size_t base, Sink& s) {
    const D16 d;
    const size_t N = hn::Lanes(d);
    const auto mask = hn::Set(d, 0xF);
    for (size_t i = 0; i < 16; i += N) {
      const V16 q = BytesAt(b + 4 + i);
      s.template Add<0>(base + i, hn::And(q, mask));
      s.template Add<0>(base + 16 + i, hn::ShiftRight<4>(q));
    }
    s.template End<0>(base, 32, HalfAt(b), HalfAt(b + 2));
  }
};

// Bit j of a u16 for lane j (Q5_0 / Q5_1 high bits).
HWY_ALIGN static constexpr int16_t kLaneBit[16] = {
    1 << 0, 1 << 1, 1 << 2,  1 << 3,  1 << 4,  1 << 5,  1 << 6,  1 << 7,
    1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12, 1 << 13, 1 << 14, INT16_MIN};

// Q5_0 / Q5_1 quant values: low nibble as Q4_x, plus 16 if bit j of qh is set.
template <class Sink>
HWY_INLINE void AddQ5(const uint8_t* HWY_RESTRICT qs, uint32_t qh_bits, int16_t offset, size_t base,
                      Sink& s) {
  const D16 d;
  const size_t N = hn::Lanes(d);
  const auto mask = hn::Set(d, 0xF), sixteen = hn::Set(d, 16), off = hn::Set(d, offset);
  const auto qh0 = hn::Set(d, static_cast<int16_t>(qh_bits & 0xFFFF));
  const auto qh1 = hn::Set(d, static_cast<int16_t>(qh_bits >> 16));
  for (size_t i = 0; i < 16; i += N) {
    const V16 q = BytesAt(qs + i);
    const auto bit = hn::Load(d, kLaneBit + i);
    const auto h0 = hn::IfThenElseZero(hn::TestBit(qh0, bit), sixteen);
    const auto h1 = hn::IfThenElseZero(hn::TestBit(qh1, bit), sixteen);
    s.template Add<0>(base + i, hn::Sub(hn::Or(hn::And(q, mask), h0), off));
    s.template Add<0>(base + 16 + i, hn::Sub(hn::Or(hn::ShiftRight<4>(q), h1), off));
  }
}

HWY_INLINE uint16_t U16At(const uint8_t* p) {
  uint16_t v;
  __builtin_memcpy(&v, p, 2);
  return v;
}
HWY_INLINE uint32_t U32At(const uint8_t* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

// Prefetches bytes [*done, end) of base into L2 (prefetcht1), a line at a
// time, and advances *done: the next row (MatVec) or weight tile (MatMul) is
// fetched this way, spread over the work on the current one.
HWY_INLINE void PrefetchL2Until(const char* HWY_RESTRICT base, size_t end, size_t* done) {
  for (; *done < end; *done += 64) __builtin_prefetch(base + *done, 0, 2);
}

// Q5_0, 22 bytes: f16 d, u32 high bits (bit j = value j), 16 bytes of low
// nibbles as Q4_0; value = d * (q - 16).
struct BlockQ5_0 {
  static constexpr size_t kValues = 32, kBytes = 22;
  static constexpr bool kHasMin = false;  // bias != 0: the dot needs sums of x
  static constexpr int16_t kZero = 16;
  template <bool kRaw = false, class Sink>
  static HWY_INLINE void Decode(const uint8_t* HWY_RESTRICT b, size_t base, Sink& s) {
    AddQ5(b + 6, U32At(b + 2), kRaw ? 0 : kZero, base, s);
    s.template End<0>(base, 32, HalfAt(b), 0.0f);
  }
};

// Q5_1, 24 bytes: f16 d, f16 m, u32 high bits, 16 bytes; value = d * q + m.
struct BlockQ5_1 {
  static constexpr size_t kValues = 32, kBytes = 24;
  static constexpr bool kHasMin = true;  // bias != 0: the dot needs sums of x
  static constexpr int16_t kZero = 0;
  template <bool kRaw = false, class Sink>
  static HWY_INLINE void Decode(const uint8_t* HWY_RESTRICT b, size_t base, Sink& s) {
    AddQ5(b + 8, U32At(b + 4), 0, base, s);
    s.template End<0>(base, 32, HalfAt(b), HalfAt(b + 2));
  }
};

// Q8_0, 34 bytes: f16 d, 32 int8; value = d * q.
struct BlockQ8_0 {
  static constexpr size_t kValues = 32, kBytes = 34;
  static constexpr bool kHasMin = false;  // bias != 0: the dot needs sums of x
  static constexpr int16_t kZero = 0;
  template <bool kRaw = false, class Sink>
  static HWY_INLINE void Decode(const uint8_t* HWY_RESTRICT b, size_t base, Sink& s) {
    const D16 d;
    const hn::Rebind<int8_t, D16> di8;
    const size_t N = hn::Lanes(d);
    const int8_t* q = reinterpret_cast<const int8_t*>(b + 2);
    for (size_t i = 0; i < 32; i += N)
      s.template Add<0>(base + i, hn::PromoteTo(d, hn::LoadU(di8, q + i)));
    s.template End<0>(base, 32, HalfAt(b), 0.0f);
  }
};

// The 6-bit scales and mins of the 8 sub-blocks of a Q4_K / Q5_K block, packed
// in 12 bytes q: sub-block j < 4 in the low 6 bits of bytes j (scale) and
// j + 4 (min); j >= 4 in the low / high nibble of byte j + 4, with the top 2
// bits of bytes j - 4 / j as bits 4, 5. Unpacked 4 at a time in u32 words (one
// byte each), then converted as a vector: dsc[j] = d * scale_j and
// dmin_m[j] = dmin * min_j, the reference's f32 products. (Scalar stores
// gathered by a vector load would stall store forwarding.)
HWY_INLINE void ScalesMinsK4(const uint8_t* HWY_RESTRICT q, float d, float dmin,
                             float* HWY_RESTRICT dsc, float* HWY_RESTRICT dmin_m) {
  const uint32_t u0 = U32At(q), u1 = U32At(q + 4), u2 = U32At(q + 8);
  const uint32_t sc_lo = u0 & 0x3F3F3F3Fu, m_lo = u1 & 0x3F3F3F3Fu;
  const uint32_t sc_hi = (u2 & 0x0F0F0F0Fu) | (((u0 >> 6) & 0x03030303u) << 4);
  const uint32_t m_hi = ((u2 >> 4) & 0x0F0F0F0Fu) | (((u1 >> 6) & 0x03030303u) << 4);
  const uint64_t sc8 = sc_lo | (static_cast<uint64_t>(sc_hi) << 32);
  const uint64_t m8 = m_lo | (static_cast<uint64_t>(m_hi) << 32);
  const hn::CappedTag<float, 8> df;
  const hn::Rebind<uint8_t, decltype(df)> du8;
  const hn::Rebind<int32_t, decltype(df)> di32;
  const uint8_t* sc_bytes = reinterpret_cast<const uint8_t*>(&sc8);
  const uint8_t* m_bytes = reinterpret_cast<const uint8_t*>(&m8);
  const auto vd = hn::Set(df, d), vdmin = hn::Set(df, dmin);
  for (size_t j = 0; j < 8; j += hn::Lanes(df)) {
    hn::Store(hn::Mul(vd, hn::ConvertTo(df, hn::PromoteTo(di32, hn::LoadU(du8, sc_bytes + j)))), df,
              dsc + j);
    hn::Store(hn::Mul(vdmin, hn::ConvertTo(df, hn::PromoteTo(di32, hn::LoadU(du8, m_bytes + j)))),
              df, dmin_m + j);
  }
}

// Q4_K, 144 bytes / 256 values: f16 d, f16 dmin, 12 bytes of 6-bit scales and
// mins, 128 bytes of nibbles. Sub-block s (32 values) is d * sc_s * q - dmin *
// m_s; bytes 32j .. 32j + 31 hold sub-block 2j (low nibbles) and 2j+1 (high).
struct BlockQ4_K {
  static constexpr size_t kValues = 256, kBytes = 144;
  static constexpr bool kHasMin = true;  // bias != 0: the dot needs sums of x
  template <class Sink>
  static HWY_INLINE void Decode(const uint8_t* HWY_RESTRICT b, size_t base, Sink& s) {
    const D16 d;
    const size_t N = hn::Lanes(d);
    const auto mask = hn::Set(d, 0xF);
    HWY_ALIGN float dsc[8], dmin_m[8];
    ScalesMinsK4(b + 4, HalfAt(b), HalfAt(b + 2), dsc, dmin_m);
    const uint8_t* HWY_RESTRICT qs = b + 16;
    for (int j = 0; j < 4; ++j, qs += 32, base += 64) {
      for (size_t i = 0; i < 32; i += N) {
        const V16 q = BytesAt(qs + i);
        s.template Add<0>(base + i, hn::And(q, mask));
        s.template Add<1>(base + 32 + i, hn::ShiftRight<4>(q));
      }
      s.template End<0>(base, 32, dsc[2 * j], -dmin_m[2 * j]);
      s.template End<1>(base + 32, 32, dsc[2 * j + 1], -dmin_m[2 * j + 1]);
    }
  }
};

// Q5_K, 176 bytes: f16 d, f16 dmin, 12 bytes of scales/mins, 32 bytes of high
// bits (bit 2j / 2j+1 of byte l is the fifth bit of value l of sub-block 2j /
// 2j+1), 128 bytes of nibbles as Q4_K.
struct BlockQ5_K {
  static constexpr size_t kValues = 256, kBytes = 176;
  static constexpr bool kHasMin = true;  // bias != 0: the dot needs sums of x
  template <class Sink>
  static HWY_INLINE void Decode(const uint8_t* HWY_RESTRICT b, size_t base, Sink& s) {
    const D16 d;
    const size_t N = hn::Lanes(d);
    const auto mask = hn::Set(d, 0xF), one = hn::Set(d, 1);
    HWY_ALIGN float dsc[8], dmin_m[8];
    ScalesMinsK4(b + 4, HalfAt(b), HalfAt(b + 2), dsc, dmin_m);
    const uint8_t* HWY_RESTRICT qh = b + 16;
    const uint8_t* HWY_RESTRICT qs = b + 48;
    for (int j = 0; j < 4; ++j, qs += 32, base += 64) {
      for (size_t i = 0; i < 32; i += N) {
        const V16 q = BytesAt(qs + i);
        const V16 h = BytesAt(qh + i);
        const auto h0 = hn::ShiftLeft<4>(hn::And(hn::ShiftRightSame(h, 2 * j), one));
        const auto h1 = hn::ShiftLeft<4>(hn::And(hn::ShiftRightSame(h, 2 * j + 1), one));
        s.template Add<0>(base + i, hn::Or(hn::And(q, mask), h0));
        s.template Add<1>(base + 32 + i, hn::Or(hn::ShiftRight<4>(q), h1));
      }
      s.template End<0>(base, 32, dsc[2 * j], -dmin_m[2 * j]);
      s.template End<1>(base + 32, 32, dsc[2 * j + 1], -dmin_m[2 * j + 1]);
    }
  }
};

// Q6_K, 210 bytes: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8
// scales, f16 d. In each half of 128 values, value l + 32k (l < 32, k < 4)
// takes the low (k < 2) or high nibble of ql[l + 32 (k & 1)] and bits 2k, 2k+1
// of qh[l]; value = d * scale[l / 16 + 2k] * (q - 32), sub-blocks of 16.
struct BlockQ6_K {
  static constexpr size_t kValues = 256, kBytes = 210;
  static constexpr bool kHasMin = false;  // bias != 0: the dot needs sums of x
  template <class Sink>
  static HWY_INLINE void Decode(const uint8_t* HWY_RESTRICT b, size_t base, Sink& s) {
    const D16 d;
    const size_t N = hn::Lanes(d);
    const auto mask = hn::Set(d, 0xF), hi2 = hn::Set(d, 0x30), off = hn::Set(d, 32);
    // dsc[k] = d * scale_k (the reference's f32 product), 16 at a time.
    HWY_ALIGN float dsc_all[16];
    {
      const hn::CappedTag<float, 16> df;
      const hn::Rebind<int8_t, decltype(df)> di8;
      const hn::Rebind<int32_t, decltype(df)> di32;
      const auto dd = hn::Set(df, HalfAt(b + 208));
      const int8_t* HWY_RESTRICT sc = reinterpret_cast<const int8_t*>(b + 192);
      for (size_t k = 0; k < 16; k += hn::Lanes(df)) {
        hn::Store(hn::Mul(dd, hn::ConvertTo(df, hn::PromoteTo(di32, hn::LoadU(di8, sc + k)))), df,
                  dsc_all + k);
      }
    }
    const float* HWY_RESTRICT dsc = dsc_all;
    const uint8_t* HWY_RESTRICT ql = b;
    const uint8_t* HWY_RESTRICT qh = b + 128;
    for (int half = 0; half < 2; ++half, ql += 64, qh += 32, dsc += 8, base += 128) {
      for (size_t l0 = 0; l0 < 32; l0 += 16) {
        for (size_t l = l0; l < l0 + 16; l += N) {
          const V16 a = BytesAt(ql + l), c = BytesAt(ql + 32 + l), h = BytesAt(qh + l);
          // Bits 2k, 2k+1 of h moved to bits 4, 5 (h < 256, so no sign bits).
          const auto q1 = hn::Or(hn::And(a, mask), hn::And(hn::ShiftLeft<4>(h), hi2));
          const auto q2 = hn::Or(hn::And(c, mask), hn::And(hn::ShiftLeft<2>(h), hi2));
          const auto q3 = hn::Or(hn::ShiftRight<4>(a), hn::And(h, hi2));
          const auto q4 = hn::Or(hn::ShiftRight<4>(c), hn::And(hn::ShiftRight<2>(h), hi2));
          s.template Add<0>(base + l, hn::Sub(q1, off));
          s.template Add<1>(base + 32 + l, hn::Sub(q2, off));
          s.template Add<2>(base + 64 + l, hn::Sub(q3, off));
          s.template Add<3>(base + 96 + l, hn::Sub(q4, off));
        }
        const size_t is = l0 / 16;
        s.template End<0>(base + l0, 16, dsc[is], 0.0f);
        s.template End<1>(base + 32 + l0, 16, dsc[is + 2], 0.0f);
        s.template End<2>(base + 64 + l0, 16, dsc[is + 4], 0.0f);
        s.template End<3>(base + 96 + l0, 16, dsc[is + 6], 0.0f);
      }
    }
  }
};

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#endif  // QUEST_KERNELS_QUANT_DECODE_INL_H_
