// The decode dot products of one weight row with S streams' x at once
// (MatVecBatch): each block is loaded and unpacked once, and its integers meet
// every stream's rounded x while they are in registers. Per stream, the f32
// operations and their order are exactly those of the single-stream dot
// (DotBlocks in matvec.cc, DotQ4_0), only the integer sums (exact) are shared
// work, so each stream's result equals MatVec's bit for bit.
// Included once per Highway target (no include guard, by design).
#if defined(QUEST_KERNELS_QUANT_DOT_BATCH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QUEST_KERNELS_QUANT_DOT_BATCH_INL_H_
#undef QUEST_KERNELS_QUANT_DOT_BATCH_INL_H_
#else
#define QUEST_KERNELS_QUANT_DOT_BATCH_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <utility>

#include "hwy/highway.h"
#include "src/kernels/quant/decode-inl.h"
#include "src/kernels/quant/dot_q4_0-inl.h"
#include "src/kernels/quant/quantize_x-inl.h"
#include "src/kernels/reduce-inl.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One block's integers as its decoder hands them over (decoded at base 0, so
// that every index is a constant and the vectors stay in registers).
template <size_t kValues>
struct BlockCapture {
  static constexpr size_t kN = hn::MaxLanes(D16());
  V16 q[kValues / kN];
  template <int kSlot>
  HWY_INLINE void Add(size_t i, V16 v) {
    q[i / kN] = v;
  }
  template <int kSlot>
  HWY_INLINE void End(size_t /*start*/, size_t /*len*/, float /*scale*/, float /*bias*/) {}
};

// The exact integer dot of values [start, start + len) of a captured block
// with x16 (which points at the block's first value), in the lanes of
// ReorderWidenMulAccumulate, as GroupDotSink and DotSink sum them.
template <size_t kValues>
HWY_INLINE hn::Vec<hn::Repartition<int32_t, D16>> CapturedDot(const BlockCapture<kValues>& c,
                                                              size_t start, size_t len,
                                                              const int16_t* HWY_RESTRICT x16) {
  const hn::Repartition<int32_t, D16> d32;
  constexpr size_t kN = BlockCapture<kValues>::kN;
  auto s0 = hn::Zero(d32), s1 = hn::Zero(d32);
  for (size_t i = start; i < start + len; i += kN) {
    s0 = hn::ReorderWidenMulAccumulate(d32, c.q[i / kN], hn::LoadU(D16(), x16 + i), s0, s1);
  }
  return hn::Add(s0, s1);
}

// y[s * y_stride] = row . x[s] for s < S, as DotBlocks32 computes each (the
// 32-value blocks: Q4_1, Q5_0, Q5_1, Q8_0). Per stream and block, the scale
// d * dx is the product of the two broadcasts, the same f32 product as lane j
// of DotBlocks32's group vector.
template <class Block, size_t S>
void DotBlocks32Batch(const uint8_t* HWY_RESTRICT row, size_t blocks, const QuantizedX* const* x,
                      float* HWY_RESTRICT y, size_t y_stride) {
  using D32 = hn::Repartition<int32_t, D16>;
  const hn::Rebind<float, D32> df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  constexpr size_t kG = TransposeLanes<decltype(df)>();  // 0 on HWY_SCALAR
  using VF32 = hn::Vec<decltype(df)>;
  const int16_t* HWY_RESTRICT x16[S];
  const float* HWY_RESTRICT dx[S];
  VF32 acc0[S], acc1[S], zero_acc[S], min_acc[S];
  for (size_t s = 0; s < S; ++s) {
    x16[s] = x[s]->x16.get();
    dx[s] = x[s]->dx.data();
    acc0[s] = acc1[s] = zero_acc[s] = min_acc[s] = hn::Zero(df);
  }
  size_t k = 0;
  if constexpr (kG > 0) {
    for (; k + kG <= blocks; k += kG) {
      const uint8_t* HWY_RESTRICT b = row + k * Block::kBytes;
      HWY_ALIGN uint16_t d16[kG], m16[kG];
      for (size_t j = 0; j < kG; ++j) {
        d16[j] = U16At(b + j * Block::kBytes);
        if constexpr (Block::kHasMin) m16[j] = U16At(b + j * Block::kBytes + 2);
      }
      const auto d = hn::PromoteTo(df, hn::Load(dh, reinterpret_cast<const hwy::float16_t*>(d16)));
      HWY_ALIGN float dj[kG];
      hn::Store(d, df, dj);
      for (size_t s = 0; s < S; ++s) {
        if constexpr (Block::kZero != 0) {
          zero_acc[s] = hn::MulAdd(hn::Mul(d, hn::LoadU(df, dx[s] + k)),
                                   hn::LoadU(df, x[s]->xsum16.data() + k), zero_acc[s]);
        }
      }
      // Even blocks into acc0, odd ones into acc1 (kG is even), as
      // GroupDotSink alternates them.
      for (size_t j = 0; j < kG; j += 2) {
        BlockCapture<32> c0, c1;
        Block::template Decode<true>(b + j * Block::kBytes, 0, c0);
        Block::template Decode<true>(b + (j + 1) * Block::kBytes, 0, c1);
        const auto vd0 = hn::Set(df, dj[j]), vd1 = hn::Set(df, dj[j + 1]);
        const size_t c = (k + j) * 32;
#pragma GCC unroll 16
        for (size_t s = 0; s < S; ++s) {
          const auto sum0 = hn::ConvertTo(df, CapturedDot(c0, 0, 32, x16[s] + c));
          acc0[s] = hn::MulAdd(hn::Mul(vd0, hn::Set(df, dx[s][k + j])), sum0, acc0[s]);
          const auto sum1 = hn::ConvertTo(df, CapturedDot(c1, 0, 32, x16[s] + c + 32));
          acc1[s] = hn::MulAdd(hn::Mul(vd1, hn::Set(df, dx[s][k + j + 1])), sum1, acc1[s]);
        }
      }
      if constexpr (Block::kHasMin) {
        const auto m =
            hn::PromoteTo(df, hn::Load(dh, reinterpret_cast<const hwy::float16_t*>(m16)));
        for (size_t s = 0; s < S; ++s)
          min_acc[s] = hn::MulAdd(m, hn::LoadU(df, x[s]->xsum32.data() + k), min_acc[s]);
      }
    }
  }
  // The last blocks (fewer than a group) one at a time, into acc0.
  float tail[S];
  for (size_t s = 0; s < S; ++s) tail[s] = 0.0f;
  for (; k < blocks; ++k) {
    const uint8_t* HWY_RESTRICT b = row + k * Block::kBytes;
    const float d = HalfAt(b);
    BlockCapture<32> c;
    Block::template Decode<true>(b, 0, c);
    for (size_t s = 0; s < S; ++s) {
      const float sdx = d * dx[s][k];
      const auto sum = hn::ConvertTo(df, CapturedDot(c, 0, 32, x16[s] + k * 32));
      acc0[s] = hn::MulAdd(hn::Set(df, sdx), sum, acc0[s]);
      tail[s] -= sdx * Block::kZero * x[s]->xsum16[k];
      if constexpr (Block::kHasMin) tail[s] += HalfAt(b + 2) * x[s]->xsum32[k];
    }
  }
  for (size_t s = 0; s < S; ++s) {
    const auto total =
        hn::Add(hn::NegMulAdd(hn::Set(df, static_cast<float>(Block::kZero)), zero_acc[s],
                              hn::Add(acc0[s], acc1[s])),
                min_acc[s]);
    y[s * y_stride] = hn::GetLane(hn::SumOfLanes(df, total)) + tail[s];
  }
}

// y[s * y_stride] = row . x[s] for s < S, as DotQ4_0 computes each: the
// pair's nibbles unpacked once, then met by every stream's 8-bit x.
template <size_t S>
void DotQ4_0Batch(const uint8_t* HWY_RESTRICT row, size_t blocks, const QuantizedX8* const* x,
                  float* HWY_RESTRICT y, size_t y_stride) {
  constexpr size_t kBytes = 18;
  size_t k = 0;
  float total[S];
  for (size_t s = 0; s < S; ++s) total[s] = 0.0f;
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  const hn::Full256<float> df;
  const hn::Full256<uint8_t> du8;
  const hn::Full256<int8_t> di8;
  const hn::Full128<uint8_t> du8h;
  const hn::Full128<hwy::float16_t> dh;
  const hn::Full256<uint16_t> du16;
  HWY_ALIGN static constexpr int32_t kPick[4][8] = {{0, 0, 0, 0, 1, 1, 1, 1},
                                                    {2, 2, 2, 2, 3, 3, 3, 3},
                                                    {4, 4, 4, 4, 5, 5, 5, 5},
                                                    {6, 6, 6, 6, 7, 7, 7, 7}};
  const auto mask = hn::Set(du8, 0xF);
  using VF = hn::Vec<decltype(df)>;
  VF acc0[S], acc1[S], zero_acc[S], sc[S];
  for (size_t s = 0; s < S; ++s) acc0[s] = acc1[s] = zero_acc[s] = hn::Zero(df);
  for (; k + 8 <= blocks; k += 8) {
    const uint8_t* HWY_RESTRICT b = row + k * kBytes;
    HWY_ALIGN uint16_t d16[8];
    for (size_t j = 0; j < 8; ++j) d16[j] = U16At(b + j * kBytes);
    const auto d = hn::PromoteTo(df, hn::Load(dh, reinterpret_cast<const hwy::float16_t*>(d16)));
    for (size_t s = 0; s < S; ++s) {
      sc[s] = hn::Mul(d, hn::LoadU(df, x[s]->dx.get() + k));
      zero_acc[s] = hn::MulAdd(sc[s], hn::LoadU(df, x[s]->sum.get() + k), zero_acc[s]);
    }
    // Pair i of the group (blocks k + 2i, k + 2i + 1) into accumulator i % 2.
    for (size_t i = 0; i < 4; ++i) {
      const uint8_t* HWY_RESTRICT a = b + 2 * i * kBytes;
      const auto w = hn::Combine(du8, hn::LoadU(du8h, a + kBytes + 2), hn::LoadU(du8h, a + 2));
      const auto lo = hn::And(w, mask);
      const auto hi = hn::And(hn::BitCast(du8, hn::ShiftRight<4>(hn::BitCast(du16, w))), mask);
      const auto pick = hn::SetTableIndices(df, kPick[i]);
      const size_t p = k / 2 + i;
      for (size_t s = 0; s < S; ++s) {
        const int8_t* HWY_RESTRICT x8 = x[s]->x8.get();
        const auto sum = hn::ConvertTo(
            df, DotU4I8x2(lo, hn::LoadU(di8, x8 + p * 64), hi, hn::LoadU(di8, x8 + p * 64 + 32)));
        auto& acc = (i & 1) ? acc1[s] : acc0[s];
        acc = hn::MulAdd(sum, hn::TableLookupLanes(sc[s], pick), acc);
      }
    }
  }
  for (size_t s = 0; s < S; ++s) {
    total[s] = hn::GetLane(hn::SumOfLanes(
        df, hn::NegMulAdd(hn::Set(df, 8.0f), zero_acc[s], hn::Add(acc0[s], acc1[s]))));
  }
#endif
  // The last blocks (all of them without the pair path) one at a time.
  for (; k < blocks; ++k) {
    const uint8_t* HWY_RESTRICT b = row + k * kBytes;
    for (size_t s = 0; s < S; ++s) {
      total[s] +=
          HalfAt(b) * x[s]->dx[k] * static_cast<float>(BlockDotQ4_0(b + 2, k, x[s]->x8.get()));
    }
  }
  for (size_t s = 0; s < S; ++s) y[s * y_stride] = total[s];
}

// A K-quant block's integers and its sub-blocks' affine maps, in the order
// the decoder ends them.
template <size_t kValues>
struct BlockRecord : BlockCapture<kValues> {
  struct SubBlock {
    size_t start, len;
    float scale, bias;
    int slot;
  };
  SubBlock sub[16];
  size_t num_sub = 0;
  template <int kSlot>
  HWY_INLINE void End(size_t start, size_t len, float scale, float bias) {
    sub[num_sub++] = {start, len, scale, bias, kSlot};
  }
};

// y[s * y_stride] = row . x[s] for s < S, as DotBlocks' DotSink computes each
// (the K-quants): the block decoded once, then per stream its sub-blocks'
// integer dots scaled into DotSink's two accumulators by slot parity.
template <class Block, size_t S>
void DotBlocksKBatch(const uint8_t* HWY_RESTRICT row, size_t blocks, const QuantizedX* const* x,
                     float* HWY_RESTRICT y, size_t y_stride) {
  using D32 = hn::Repartition<int32_t, D16>;
  const hn::Rebind<float, D32> df;
  using VF32 = hn::Vec<decltype(df)>;
  VF32 acc0[S], acc1[S];
  float corr0[S], corr1[S];
  for (size_t s = 0; s < S; ++s) {
    acc0[s] = acc1[s] = hn::Zero(df);
    corr0[s] = corr1[s] = 0.0f;
  }
  for (size_t k = 0; k < blocks; ++k) {
    BlockRecord<Block::kValues> rec;
    Block::Decode(row + k * Block::kBytes, 0, rec);
    const size_t base = k * Block::kValues;
    // The decoders end sub-blocks of alternate slot parity (Q4_K / Q5_K:
    // slots 0, 1, 0, ...; Q6_K: 0, 1, 2, 3, 0, ...), so the sub-blocks go in
    // pairs to acc0 and acc1.
    for (size_t e = 0; e < rec.num_sub; e += 2) {
      const auto& sb0 = rec.sub[e];
      const auto& sb1 = rec.sub[e + 1];
      HWY_DASSERT((sb0.slot & 1) == 0 && (sb1.slot & 1) == 1);
      const size_t xb0 = (base + sb0.start) / kXBlock, xb1 = (base + sb1.start) / kXBlock;
#pragma GCC unroll 16
      for (size_t s = 0; s < S; ++s) {
        const QuantizedX& xs = *x[s];
        const auto sum0 =
            hn::ConvertTo(df, CapturedDot(rec, sb0.start, sb0.len, xs.x16.get() + base));
        acc0[s] = hn::MulAdd(hn::Set(df, sb0.scale * xs.dx[xb0]), sum0, acc0[s]);
        if constexpr (Block::kHasMin) corr0[s] += sb0.bias * xs.xsum32[xb0];
        const auto sum1 =
            hn::ConvertTo(df, CapturedDot(rec, sb1.start, sb1.len, xs.x16.get() + base));
        acc1[s] = hn::MulAdd(hn::Set(df, sb1.scale * xs.dx[xb1]), sum1, acc1[s]);
        if constexpr (Block::kHasMin) corr1[s] += sb1.bias * xs.xsum32[xb1];
      }
    }
  }
  for (size_t s = 0; s < S; ++s) {
    y[s * y_stride] =
        hn::GetLane(hn::SumOfLanes(df, hn::Add(acc0[s], acc1[s]))) + (corr0[s] + corr1[s]);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#endif  // include guard
