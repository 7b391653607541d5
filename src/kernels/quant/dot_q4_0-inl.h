// The Q4_0 MatVec dot product with 8-bit activations (llama.cpp's way for its
// 4-bit types): x is rounded once per MatVec call to i8 per 32 values, and the
// dot multiplies the u8 nibbles by the i8 x, four products summed per i32
// lane. That is half the vector work of the i16 activations the other block
// types use (matvec.cc, GroupDotSink): BM_MatVec q4_0 (8192 x 2048, from
// DRAM) 23-24 -> 30-32 GB/s on 2 threads, 11.5-11.8 -> 15.6-16.4 on one.
// The cost: |x - dx * x8| <= dx / 2 with dx = max |x| / 127 per 32 values,
// 1/254 of the block's largest |x|, 16x finer than the weights' own rounding
// (Q4_0 steps by d = max |w| / 8: up to 1/16 of the largest |w|).
// Included once per Highway target (no include guard, by design).
#if defined(QUEST_KERNELS_QUANT_DOT_Q4_0_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QUEST_KERNELS_QUANT_DOT_Q4_0_INL_H_
#undef QUEST_KERNELS_QUANT_DOT_Q4_0_INL_H_
#else
#define QUEST_KERNELS_QUANT_DOT_Q4_0_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/aligned_allocator.h"
#include "hwy/highway.h"
#include "src/kernels/quant/decode-inl.h"
#include "src/kernels/quant/mul_add_lane-inl.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// x rounded to i8, in the order the dot reads it: per pair of blocks (A, B),
// 64 bytes [A 0..15, B 0..15, A 16..31, B 16..31], which is the order of the
// pair's low nibbles then high nibbles once A's and B's 16 bytes share a
// 256-bit vector. A last unpaired block fills its pair's A halves.
struct QuantizedX8 {
  hwy::AlignedFreeUniquePtr<int8_t[]> x8;  // [pairs * 64]
  hwy::AlignedFreeUniquePtr<float[]> dx;   // [blocks]: the step, max |x| / 127
  hwy::AlignedFreeUniquePtr<float[]> sum;  // [blocks]: sum of the block's x8 (exact)
};

// Where value i (< 32) of block b lives in QuantizedX8::x8.
HWY_INLINE size_t X8Index(size_t b, size_t i) {
  return (b / 2) * 64 + (i < 16 ? 0 : 32) + (b % 2) * 16 + (i % 16);
}

QuantizedX8 QuantizeX8(const float* HWY_RESTRICT x, size_t cols) {
  const hn::CappedTag<float, 16> df;  // N divides 16: a vector stays in one half
  const hn::Rebind<int32_t, decltype(df)> di32;
  const hn::Rebind<int8_t, decltype(df)> di8;
  const size_t N = hn::Lanes(df);
  const size_t blocks = cols / 32;
  // x8 in whole pairs (zeros in an unpaired block's B halves).
  const size_t x8_bytes = (blocks + 1) / 2 * 64;
  QuantizedX8 q{hwy::AllocateAligned<int8_t>(x8_bytes), hwy::AllocateAligned<float>(blocks),
                hwy::AllocateAligned<float>(blocks)};
  std::memset(q.x8.get(), 0, x8_bytes);
  for (size_t b = 0; b < blocks; ++b) {
    const float* xb = x + b * 32;
    auto amax = hn::Zero(df);
    for (size_t i = 0; i < 32; i += N) amax = hn::Max(amax, hn::Abs(hn::LoadU(df, xb + i)));
    const float m = hn::GetLane(hn::MaxOfLanes(df, amax));
    q.dx[b] = m / 127.0f;
    const auto inv = hn::Set(df, m > 0.0f ? 127.0f / m : 0.0f);
    auto sum = hn::Zero(di32);
    for (size_t i = 0; i < 32; i += N) {
      const auto v = hn::NearestInt(hn::Mul(hn::LoadU(df, xb + i), inv));
      sum = hn::Add(sum, v);
      hn::StoreU(hn::DemoteTo(di8, v), di8, q.x8.get() + X8Index(b, i));
    }
    q.sum[b] = static_cast<float>(hn::GetLane(hn::SumOfLanes(di32, sum)));
  }
  return q;
}

// sum_i (q_i - 8) * x8_i of block b, exact, in whatever vectors the target
// has: the tail blocks on x86, every block elsewhere.
HWY_INLINE int32_t BlockDotQ4_0(const uint8_t* HWY_RESTRICT qs, size_t b,
                                const int8_t* HWY_RESTRICT x8) {
  const D16 d;
  const hn::Repartition<int32_t, D16> d32;
  const hn::Rebind<int8_t, D16> d8;
  const size_t N = hn::Lanes(d);
  const auto mask = hn::Set(d, 0xF), eight = hn::Set(d, 8);
  auto s0 = hn::Zero(d32), s1 = hn::Zero(d32);
  for (size_t i = 0; i < 16; i += N) {
    const V16 q = BytesAt(qs + i);
    const auto lo = hn::PromoteTo(d, hn::LoadU(d8, x8 + X8Index(b, i)));
    const auto hi = hn::PromoteTo(d, hn::LoadU(d8, x8 + X8Index(b, 16 + i)));
    s0 = hn::ReorderWidenMulAccumulate(d32, hn::Sub(hn::And(q, mask), eight), lo, s0, s1);
    s0 = hn::ReorderWidenMulAccumulate(d32, hn::Sub(hn::ShiftRight<4>(q), eight), hi, s0, s1);
  }
  return hn::GetLane(hn::SumOfLanes(d32, hn::Add(s0, s1)));
}

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// i32 lane j = sum of the four products u8 a[4j..4j+3] * i8 b[4j..4j+3]:
// pmaddubsw (u8 x i8 -> i16 pairs; the nibbles are <= 15, so
// |pair| <= 2 * 15 * 128 and nothing saturates) of both halves, added in i16
// (<= 7680), then pmaddwd by ones. Highway 1.0.3 has no u8 x i8 op. (VNNI's
// vpdpbusd would be one instruction, but the 1.0.3 AVX3_DL target also
// enables AVX-VNNI, whose VEX encoding Zen 4 lacks; in L2 it was ~7% faster.)
HWY_INLINE hn::Vec256<int32_t> DotU4I8x2(hn::Vec256<uint8_t> lo, hn::Vec256<int8_t> xlo,
                                         hn::Vec256<uint8_t> hi, hn::Vec256<int8_t> xhi) {
  const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo.raw, xlo.raw),
                                     _mm256_maddubs_epi16(hi.raw, xhi.raw));
  return hn::Vec256<int32_t>{_mm256_madd_epi16(p, _mm256_set1_epi16(1))};
}

// A pair of Q4_0 blocks (A at a, B right after it): their 32 nibble bytes in
// one vector, A's in the lower half, split into low and high nibbles.
struct NibblePair {
  hn::Vec256<uint8_t> lo, hi;
};
HWY_INLINE NibblePair LoadNibblePair(const uint8_t* HWY_RESTRICT a) {
  const hn::Full256<uint8_t> du8;
  const hn::Full128<uint8_t> du8h;
  const hn::Full256<uint16_t> du16;
  const auto mask = hn::Set(du8, 0xF);
  const auto w = hn::Combine(du8, hn::LoadU(du8h, a + 18 + 2), hn::LoadU(du8h, a + 2));
  const auto high = hn::BitCast(du8, hn::ShiftRight<4>(hn::BitCast(du16, w)));
  return {hn::And(w, mask), hn::And(high, mask)};
}

// The pair's 8 sums with x8's pair p, as f32: A's in lanes 0-3, B's in 4-7.
HWY_INLINE hn::Vec256<float> PairSums(const NibblePair& n, const int8_t* HWY_RESTRICT x8,
                                      size_t p) {
  const hn::Full256<int8_t> di8;
  return hn::ConvertTo(hn::Full256<float>(), DotU4I8x2(n.lo, hn::LoadU(di8, x8 + p * 64), n.hi,
                                                       hn::LoadU(di8, x8 + p * 64 + 32)));
}

// TableLookupLanes indices that give pair i of a group of 8 blocks the
// scales of its lanes: [s(2i) x 4, s(2i + 1) x 4].
HWY_ALIGN constexpr int32_t kPairScaleLanes[4][8] = {{0, 0, 0, 0, 1, 1, 1, 1},
                                                     {2, 2, 2, 2, 3, 3, 3, 3},
                                                     {4, 4, 4, 4, 5, 5, 5, 5},
                                                     {6, 6, 6, 6, 7, 7, 7, 7}};
#endif

// sum_c w[c] x[c] for a Q4_0 row. x86: per group of 8 blocks, the scales
// d * dx as one f32 vector; per pair of blocks one 256-bit vector of their 32
// nibble bytes, whose low and high nibbles meet x8 in DotU4I8x2; lanes 0-3
// are A's sum, 4-7 B's, converted and scaled by [dA, dA, dA, dA, dB, ...]
// picked from the group's scales. The zero point (-8 d dx sum(x8)) is one FMA
// per group.
float DotQ4_0(const uint8_t* HWY_RESTRICT row, size_t blocks, const QuantizedX8& x) {
  constexpr size_t kBytes = 18;
  const int8_t* HWY_RESTRICT x8 = x.x8.get();
  size_t k = 0;
  float total = 0.0f;
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  // The next row, prefetched into L2 as this one is read (DotBlocks32).
  const char* HWY_RESTRICT next = reinterpret_cast<const char*>(row) + blocks * kBytes;
  size_t fetched = 0;
  const hn::Full256<float> df;
  const hn::Full128<hwy::float16_t> dh;
  const auto pick0 = hn::SetTableIndices(df, kPairScaleLanes[0]);
  const auto pick1 = hn::SetTableIndices(df, kPairScaleLanes[1]);
  const auto pick2 = hn::SetTableIndices(df, kPairScaleLanes[2]);
  const auto pick3 = hn::SetTableIndices(df, kPairScaleLanes[3]);
  auto acc0 = hn::Zero(df), acc1 = hn::Zero(df), zero_acc = hn::Zero(df);
  const auto pair = [&](const uint8_t* HWY_RESTRICT a, size_t p) {
    return PairSums(LoadNibblePair(a), x8, p);
  };
  for (; k + 8 <= blocks; k += 8) {
    const uint8_t* HWY_RESTRICT b = row + k * kBytes;
    PrefetchL2Until(next, (k + 8) * kBytes, &fetched);
    HWY_ALIGN uint16_t d16[8];
    for (size_t j = 0; j < 8; ++j) d16[j] = U16At(b + j * kBytes);
    const auto sc =
        hn::Mul(hn::PromoteTo(df, hn::Load(dh, reinterpret_cast<const hwy::float16_t*>(d16))),
                hn::LoadU(df, x.dx.get() + k));
    zero_acc = hn::MulAdd(sc, hn::LoadU(df, x.sum.get() + k), zero_acc);
    const size_t p = k / 2;
    acc0 = hn::MulAdd(pair(b, p), hn::TableLookupLanes(sc, pick0), acc0);
    acc1 = hn::MulAdd(pair(b + 2 * kBytes, p + 1), hn::TableLookupLanes(sc, pick1), acc1);
    acc0 = hn::MulAdd(pair(b + 4 * kBytes, p + 2), hn::TableLookupLanes(sc, pick2), acc0);
    acc1 = hn::MulAdd(pair(b + 6 * kBytes, p + 3), hn::TableLookupLanes(sc, pick3), acc1);
  }
  total = hn::GetLane(
      hn::SumOfLanes(df, hn::NegMulAdd(hn::Set(df, 8.0f), zero_acc, hn::Add(acc0, acc1))));
#endif
  // The last blocks (all of them without the pair path) one at a time.
  for (; k < blocks; ++k) {
    const uint8_t* HWY_RESTRICT b = row + k * kBytes;
    total = MulAddLane(HalfAt(b) * x.dx[k], static_cast<float>(BlockDotQ4_0(b + 2, k, x8)), total);
  }
  return total;
}

// y[0..8) for a group of 8 Q4_0 rows repacked by RepackQ4_0x8 (matvec.h):
// per block column, the 8 rows' f16 scales, then 4 chunks of 32 bytes, chunk j
// holding nibble bytes 4j..4j+3 of each row in turn. On x86 a chunk is one
// 256-bit vector with one row per i32 lane, so x needs no shuffle (its 4 values
// are broadcast), the 8 rows' sums need no horizontal reduction, and the 8
// scales are one load: about half the vector work of DotQ4_0 per weight byte.
// The 8 pmaddubsw results of a block column add up in i16: a lane is at most
// 8 * 2 * 15 * 127 = 30480.
void DotQ4_0x8(const uint8_t* HWY_RESTRICT group, size_t blocks, const QuantizedX8& x,
               float* HWY_RESTRICT y) {
  constexpr size_t kColumnBytes = 8 * 18;
  const int8_t* HWY_RESTRICT x8 = x.x8.get();
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  // The next group, prefetched into L2 as this one is read (as DotQ4_0 does
  // the next row): three lines per column, at fixed offsets.
  const char* HWY_RESTRICT next = reinterpret_cast<const char*>(group) + blocks * kColumnBytes;
  const __m256i mask = _mm256_set1_epi8(0xF);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc = _mm256_setzero_ps(), zero_acc = _mm256_setzero_ps();
  for (size_t k = 0; k < blocks; ++k) {
    const uint8_t* HWY_RESTRICT b = group + k * kColumnBytes;
    __builtin_prefetch(next + k * kColumnBytes, 0, 2);
    __builtin_prefetch(next + k * kColumnBytes + 64, 0, 2);
    __builtin_prefetch(next + k * kColumnBytes + 128, 0, 2);
    __m256i sums = _mm256_setzero_si256();
    for (size_t j = 0; j < 4; ++j) {
      const __m256i w =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16 + 32 * j));
      int32_t lo, hi;  // x of the chunk's low nibbles (values 4j..) and high ones (16 + 4j..)
      std::memcpy(&lo, x8 + X8Index(k, 4 * j), 4);
      std::memcpy(&hi, x8 + X8Index(k, 16 + 4 * j), 4);
      sums = _mm256_add_epi16(
          sums, _mm256_maddubs_epi16(_mm256_and_si256(w, mask), _mm256_set1_epi32(lo)));
      sums = _mm256_add_epi16(
          sums, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w, 4), mask),
                                     _mm256_set1_epi32(hi)));
    }
    const __m256 d = _mm256_mul_ps(
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b))),
        _mm256_set1_ps(x.dx[k]));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(sums, ones)), d, acc);
    zero_acc = _mm256_fmadd_ps(d, _mm256_set1_ps(x.sum[k]), zero_acc);
  }
  _mm256_storeu_ps(y, _mm256_fnmadd_ps(_mm256_set1_ps(8.0f), zero_acc, acc));
#else
  // Other targets: plain loops over the same layout.
  for (size_t r = 0; r < 8; ++r) {
    float total = 0.0f;
    for (size_t k = 0; k < blocks; ++k) {
      const uint8_t* HWY_RESTRICT b = group + k * kColumnBytes;
      int32_t dot = 0;
      for (size_t j = 0; j < 4; ++j) {
        for (size_t t = 0; t < 4; ++t) {
          const uint8_t q = b[16 + 32 * j + 4 * r + t];
          dot += (q & 0xF) * x8[X8Index(k, 4 * j + t)] + (q >> 4) * x8[X8Index(k, 16 + 4 * j + t)];
        }
      }
      total += HalfAt(b + 2 * r) * x.dx[k] * (static_cast<float>(dot) - 8.0f * x.sum[k]);
    }
    y[r] = total;
  }
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#endif  // include guard
