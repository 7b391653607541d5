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
#include "src/kernels/quant/mul_add_lane-inl.h"
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

// scale[s * blocks + k] = d_k * dx_s[k], the f32 product DotBlocks32 takes
// from its group vector (or from scalars for the last blocks). Written here,
// read by DotBlocks32Batch as broadcasts from memory: a load each, where a
// broadcast of a register is a shuffle on the FP ports the dot needs.
template <class Block, size_t S>
HWY_NOINLINE void BlockScales(const uint8_t* HWY_RESTRICT row, size_t blocks,
                              const QuantizedX* const* x, uint16_t* HWY_RESTRICT d16,
                              float* HWY_RESTRICT scale) {
  const hn::CappedTag<float, 8> df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  const size_t N = hn::Lanes(df);
  for (size_t k = 0; k < blocks; ++k) d16[k] = U16At(row + k * Block::kBytes);
  size_t k = 0;
  for (; k + N <= blocks; k += N) {
    const auto d = hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(d16 + k)));
    for (size_t s = 0; s < S; ++s) {
      hn::StoreU(hn::Mul(d, hn::LoadU(df, x[s]->dx.data() + k)), df, scale + s * blocks + k);
    }
  }
  for (; k < blocks; ++k) {
    const float d = HalfAt(row + k * Block::kBytes);
    for (size_t s = 0; s < S; ++s) scale[s * blocks + k] = d * x[s]->dx[k];
  }
}

// y[s * y_stride] = row . x[s] for s < S, as DotBlocks32 computes each (the
// 32-value blocks: Q4_1, Q5_0, Q5_1, Q8_0); scale from BlockScales.
template <class Block, size_t S>
void DotBlocks32Batch(const uint8_t* HWY_RESTRICT row, size_t blocks, const QuantizedX* const* x,
                      const float* HWY_RESTRICT scale, float* HWY_RESTRICT y, size_t y_stride) {
  using D32 = hn::Repartition<int32_t, D16>;
  const hn::Rebind<float, D32> df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  constexpr size_t kG = TransposeLanes<decltype(df)>();  // 0 on HWY_SCALAR
  using VF32 = hn::Vec<decltype(df)>;
  const int16_t* HWY_RESTRICT x16[S];
  VF32 acc0[S], acc1[S], zero_acc[S], min_acc[S];
  for (size_t s = 0; s < S; ++s) {
    x16[s] = x[s]->x16.get();
    acc0[s] = acc1[s] = zero_acc[s] = min_acc[s] = hn::Zero(df);
  }
  size_t k = 0;
  if constexpr (kG > 0) {
    for (; k + kG <= blocks; k += kG) {
      const uint8_t* HWY_RESTRICT b = row + k * Block::kBytes;
      if constexpr (Block::kZero != 0) {
        for (size_t s = 0; s < S; ++s) {
          zero_acc[s] = hn::MulAdd(hn::LoadU(df, scale + s * blocks + k),
                                   hn::LoadU(df, x[s]->xsum16.data() + k), zero_acc[s]);
        }
      }
      // Even blocks into acc0, odd ones into acc1 (kG is even), as
      // GroupDotSink alternates them.
      for (size_t j = 0; j < kG; j += 2) {
        BlockCapture<32> c0, c1;
        Block::template Decode<true>(b + j * Block::kBytes, 0, c0);
        Block::template Decode<true>(b + (j + 1) * Block::kBytes, 0, c1);
        const size_t c = (k + j) * 32;
#pragma GCC unroll 16
        for (size_t s = 0; s < S; ++s) {
          const float* HWY_RESTRICT sc = scale + s * blocks + k + j;
          const auto sum0 = hn::ConvertTo(df, CapturedDot(c0, 0, 32, x16[s] + c));
          acc0[s] = hn::MulAdd(hn::Set(df, sc[0]), sum0, acc0[s]);
          const auto sum1 = hn::ConvertTo(df, CapturedDot(c1, 0, 32, x16[s] + c + 32));
          acc1[s] = hn::MulAdd(hn::Set(df, sc[1]), sum1, acc1[s]);
        }
      }
      if constexpr (Block::kHasMin) {
        HWY_ALIGN uint16_t m16[kG];
        for (size_t j = 0; j < kG; ++j) m16[j] = U16At(b + j * Block::kBytes + 2);
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
    BlockCapture<32> c;
    Block::template Decode<true>(b, 0, c);
    for (size_t s = 0; s < S; ++s) {
      const float sdx = scale[s * blocks + k];
      const auto sum = hn::ConvertTo(df, CapturedDot(c, 0, 32, x16[s] + k * 32));
      acc0[s] = hn::MulAdd(hn::Set(df, sdx), sum, acc0[s]);
      tail[s] = NegMulAddLane(sdx * Block::kZero, x[s]->xsum16[k], tail[s]);
      if constexpr (Block::kHasMin) tail[s] = MulAddLane(HalfAt(b + 2), x[s]->xsum32[k], tail[s]);
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
  const hn::Full128<hwy::float16_t> dh;
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
      const NibblePair nibbles = LoadNibblePair(b + 2 * i * kBytes);
      const auto pick = hn::SetTableIndices(df, kPairScaleLanes[i]);
      const size_t p = k / 2 + i;
      for (size_t s = 0; s < S; ++s) {
        const auto sum = PairSums(nibbles, x[s]->x8.get(), p);
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
      total[s] = MulAddLane(HalfAt(b) * x[s]->dx[k],
                            static_cast<float>(BlockDotQ4_0(b + 2, k, x[s]->x8.get())), total[s]);
    }
  }
  for (size_t s = 0; s < S; ++s) y[s * y_stride] = total[s];
}

// Where the sub-blocks of a K-quant block start, in the order its decoder
// ends them (decode-inl.h), and their length: constants, so that the
// per-stream loop below is unrolled with fixed offsets.
template <class Block>
struct SubBlocks;
template <>
struct SubBlocks<BlockQ4_K> {
  static constexpr size_t kNum = 8, kLen = 32;
  static constexpr size_t kStart[kNum] = {0, 32, 64, 96, 128, 160, 192, 224};
};
template <>
struct SubBlocks<BlockQ5_K> : SubBlocks<BlockQ4_K> {};
template <>
struct SubBlocks<BlockQ6_K> {
  static constexpr size_t kNum = 16, kLen = 16;
  static constexpr size_t kStart[kNum] = {0,   32,  64,  96,  16,  48,  80,  112,
                                          128, 160, 192, 224, 144, 176, 208, 240};
};

// A K-quant block's integers and its sub-blocks' scales and biases, in the
// order its decoder ends them.
template <class Block>
struct BlockRecord : BlockCapture<Block::kValues> {
  float scale[SubBlocks<Block>::kNum], bias[SubBlocks<Block>::kNum];
  size_t num_sub = 0;
  template <int kSlot>
  HWY_INLINE void End(size_t start, size_t len, float sc, float bi) {
    HWY_DASSERT(start == SubBlocks<Block>::kStart[num_sub] && len == SubBlocks<Block>::kLen);
    (void)start;
    (void)len;
    scale[num_sub] = sc;
    bias[num_sub] = bi;
    ++num_sub;
  }
};

// y[s * y_stride] = row . x[s] for s < S, as DotBlocks' DotSink computes each
// (the K-quants): the block decoded once, then per stream its sub-blocks'
// integer dots scaled into DotSink's two accumulators. The decoders end
// sub-blocks of alternate slot parity (Q4_K / Q5_K: slots 0, 1, 0, ...;
// Q6_K: 0, 1, 2, 3, 0, ...), so sub-block e goes to acc0 or acc1 by e's parity.
template <class Block, size_t S>
void DotBlocksKBatch(const uint8_t* HWY_RESTRICT row, size_t blocks, const QuantizedX* const* x,
                     float* HWY_RESTRICT y, size_t y_stride) {
  using Sub = SubBlocks<Block>;
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
    BlockRecord<Block> rec;
    Block::Decode(row + k * Block::kBytes, 0, rec);
    const size_t base = k * Block::kValues;
#pragma GCC unroll 16
    for (size_t e = 0; e < Sub::kNum; e += 2) {
      constexpr size_t kLen = Sub::kLen;
      const size_t start0 = Sub::kStart[e], start1 = Sub::kStart[e + 1];
      const size_t xb0 = (base + start0) / kXBlock, xb1 = (base + start1) / kXBlock;
#pragma GCC unroll 16
      for (size_t s = 0; s < S; ++s) {
        const QuantizedX& xs = *x[s];
        const int16_t* HWY_RESTRICT x16 = xs.x16.get() + base;
        const auto sum0 = hn::ConvertTo(df, CapturedDot(rec, start0, kLen, x16));
        acc0[s] = hn::MulAdd(hn::Set(df, rec.scale[e] * xs.dx[xb0]), sum0, acc0[s]);
        if constexpr (Block::kHasMin) corr0[s] = MulAddLane(rec.bias[e], xs.xsum32[xb0], corr0[s]);
        const auto sum1 = hn::ConvertTo(df, CapturedDot(rec, start1, kLen, x16));
        acc1[s] = hn::MulAdd(hn::Set(df, rec.scale[e + 1] * xs.dx[xb1]), sum1, acc1[s]);
        if constexpr (Block::kHasMin)
          corr1[s] = MulAddLane(rec.bias[e + 1], xs.xsum32[xb1], corr1[s]);
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
