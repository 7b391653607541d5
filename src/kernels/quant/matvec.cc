// MatVec and MatVecBatch (decode) and DequantizeRow over ggml weight rows:
// Highway SIMD with runtime dispatch, every block type decoded in registers
// (decode-inl.h), OpenMP over rows. MatMul is in matmul.cc. Scalar twins:
// quant_reference.cc.
#include "src/kernels/quant/matvec.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "hwy/aligned_allocator.h"
#include "src/util/f16.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/quant/matvec.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "src/kernels/quant/decode-inl.h"
#include "src/kernels/quant/dequantize-inl.h"
#include "src/kernels/quant/dot_batch-inl.h"
#include "src/kernels/quant/dot_q4_0-inl.h"
#include "src/kernels/quant/mul_add_lane-inl.h"
#include "src/kernels/quant/quantize_x-inl.h"
#include "src/kernels/reduce-inl.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// ---------------------------------------------------------------- sinks

// Dot product with the quantized x for the K-quant blocks (256 values; the
// 32-value blocks use GroupDotSink): per sub-block, i16 q x i16 x16 -> i32 in a
// vector (exact), then one f32 FMA with scale * dx; the bias (minus the block
// min, Q4_K/Q5_K: kHasMin) multiplies the f32 sum of x over the
// sub-block. Accumulators per slot (two in f32), so that the FMA chains of
// consecutive sub-blocks are independent.
template <bool kHasMin>
struct DotSink {
  using D32 = hn::Repartition<int32_t, D16>;
  using DF32 = hn::Rebind<float, D32>;
  using V32 = hn::Vec<D32>;

  const int16_t* HWY_RESTRICT x16;   // [cols]
  const float* HWY_RESTRICT dx;      // [cols / 32]
  const float* HWY_RESTRICT xsum32;  // [cols / 32]
  // Open sub-blocks by slot, as named members so that they stay in registers;
  // b0 / b1: ReorderWidenMulAccumulate's two halves.
  V32 b0_0, b0_1, b0_2, b0_3, b1_0, b1_1, b1_2, b1_3;
  hn::Vec<DF32> acc0, acc1;
  float corr0 = 0.0f, corr1 = 0.0f;

  explicit DotSink(const QuantizedX& q)
      : x16(q.x16.get()), dx(q.dx.data()), xsum32(q.xsum32.data()) {
    const D32 d;
    b0_0 = b0_1 = b0_2 = b0_3 = b1_0 = b1_1 = b1_2 = b1_3 = hn::Zero(d);
    acc0 = acc1 = hn::Zero(DF32());
  }
  template <int kSlot>
  HWY_INLINE V32& B0() {
    if constexpr (kSlot == 0) return b0_0;
    if constexpr (kSlot == 1) return b0_1;
    if constexpr (kSlot == 2) return b0_2;
    if constexpr (kSlot == 3) return b0_3;
  }
  template <int kSlot>
  HWY_INLINE V32& B1() {
    if constexpr (kSlot == 0) return b1_0;
    if constexpr (kSlot == 1) return b1_1;
    if constexpr (kSlot == 2) return b1_2;
    if constexpr (kSlot == 3) return b1_3;
  }
  template <int kSlot>
  HWY_INLINE void Add(size_t i, V16 q) {
    B0<kSlot>() = hn::ReorderWidenMulAccumulate(D32(), q, hn::LoadU(D16(), x16 + i), B0<kSlot>(),
                                                B1<kSlot>());
  }
  template <int kSlot>
  HWY_INLINE void End(size_t start, size_t len, float scale, float bias) {
    const DF32 df;
    const auto sum = hn::ConvertTo(df, hn::Add(B0<kSlot>(), B1<kSlot>()));
    auto& acc = (kSlot & 1) ? acc1 : acc0;
    acc = hn::MulAdd(hn::Set(df, scale * dx[start / kXBlock]), sum, acc);
    B0<kSlot>() = B1<kSlot>() = hn::Zero(D32());
    // The types with a bias all have 32-value sub-blocks.
    if constexpr (kHasMin) {
      float& corr = (kSlot & 1) ? corr1 : corr0;
      corr = MulAddLane(bias, xsum32[start / kXBlock], corr);
    }
  }
  HWY_INLINE float Sum() const {
    return hn::GetLane(hn::SumOfLanes(DF32(), hn::Add(acc0, acc1))) + (corr0 + corr1);
  }
};

// The dot product for the 32-value blocks (Q4_1, Q5_0, Q5_1, Q8_0), a
// group of kG blocks at a time (kG = lanes of an f32 vector, 8 on AVX2/AVX3;
// see DotBlocks32): the group's scales d * dx are one vector, stored for the
// blocks to broadcast; each block's integer dot of its raw integers (without
// the zero point) ends in one conversion and one FMA, alternate blocks into
// alternate accumulators. DotSink instead converts each block's f16 scale and
// multiplies it by dx in scalar code, subtracts kZero from every value, and
// chains every block's FMA on one accumulator.
template <class Block>
struct GroupDotSink {
  using D32 = hn::Repartition<int32_t, D16>;
  using DF32 = hn::Rebind<float, D32>;
  using V32 = hn::Vec<D32>;
  static constexpr size_t kG = TransposeLanes<DF32>();  // 0 on HWY_SCALAR
  static constexpr size_t kScales = kG > 0 ? kG : 1;

  const int16_t* HWY_RESTRICT x16;
  V32 b0, b1;  // the open block: ReorderWidenMulAccumulate's two halves
  hn::Vec<DF32> acc0, acc1;
  HWY_ALIGN float scale[kScales];  // d * dx of the group's blocks

  explicit GroupDotSink(const int16_t* x) : x16(x) {
    b0 = b1 = hn::Zero(D32());
    acc0 = acc1 = hn::Zero(DF32());
  }

  // What a decoder sees (the sink protocol) for block j of the group.
  template <size_t j>
  struct View {
    GroupDotSink& s;
    template <int kSlot>
    HWY_INLINE void Add(size_t i, V16 q) {
      s.b0 = hn::ReorderWidenMulAccumulate(D32(), q, hn::LoadU(D16(), s.x16 + i), s.b0, s.b1);
    }
    template <int kSlot>
    HWY_INLINE void End(size_t /*start*/, size_t /*len*/, float /*scale*/, float /*bias*/) {
      auto& acc = (j & 1) ? s.acc1 : s.acc0;
      acc =
          hn::MulAdd(hn::Set(DF32(), s.scale[j]), hn::ConvertTo(DF32(), hn::Add(s.b0, s.b1)), acc);
      s.b0 = s.b1 = hn::Zero(D32());
    }
  };
};

// ---------------------------------------------------------------- plain types

// sum_c w[c] x[c]: four accumulators to hide FMA latency.
template <typename T>
float DotPlain(const T* HWY_RESTRICT w, const float* HWY_RESTRICT x, size_t n) {
  const DF df;
  const size_t N = hn::Lanes(df);
  VF a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    a0 = hn::MulAdd(LoadPlain(df, w + i), hn::LoadU(df, x + i), a0);
    a1 = hn::MulAdd(LoadPlain(df, w + i + N), hn::LoadU(df, x + i + N), a1);
    a2 = hn::MulAdd(LoadPlain(df, w + i + 2 * N), hn::LoadU(df, x + i + 2 * N), a2);
    a3 = hn::MulAdd(LoadPlain(df, w + i + 3 * N), hn::LoadU(df, x + i + 3 * N), a3);
  }
  for (; i + N <= n; i += N) a0 = hn::MulAdd(LoadPlain(df, w + i), hn::LoadU(df, x + i), a0);
  float t = 0.0f;
  for (; i < n; ++i) t = MulAddLane(ScalarAt(w + i), x[i], t);
  return hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)))) + t;
}

// Four rows against one x: each x vector is loaded once for the four rows,
// and four weight streams are in flight at once (one row at a time left the
// f16 MatVec at ~11 GB/s per thread, compute-bound on x loads and latency).
template <typename T>
void DotPlain4(const T* HWY_RESTRICT w, size_t row_stride, const float* HWY_RESTRICT x, size_t n,
               float* HWY_RESTRICT y) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const T* HWY_RESTRICT w0 = w;
  const T* HWY_RESTRICT w1 = w + row_stride;
  const T* HWY_RESTRICT w2 = w + 2 * row_stride;
  const T* HWY_RESTRICT w3 = w + 3 * row_stride;
  VF a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
  VF b0 = hn::Zero(df), b1 = hn::Zero(df), b2 = hn::Zero(df), b3 = hn::Zero(df);
  size_t i = 0;
  // The next four rows, prefetched into L2 as these are read: the hardware
  // prefetcher stops at every 4 KB page and starts late on the next (a 2048
  // f16 row is one page), and four interleaved streams confuse it further
  // (BM_MatVec f16, 2 threads: 27-30 -> 36-43 GB/s; Llama-3.2-1B f16 decode
  // at depth 0: 10.4-11.2 -> 12.9-13.2 tok/s).
  const char* HWY_RESTRICT next = reinterpret_cast<const char*>(w + 4 * row_stride);
  const size_t row_bytes = row_stride * sizeof(T);
  for (; i + 2 * N <= n; i += 2 * N) {
    for (size_t b = i * sizeof(T); b < (i + 2 * N) * sizeof(T); b += 64) {
      for (size_t r = 0; r < 4; ++r) __builtin_prefetch(next + r * row_bytes + b, 0, 2);
    }
    const VF x0 = hn::LoadU(df, x + i), x1 = hn::LoadU(df, x + i + N);
    a0 = hn::MulAdd(LoadPlain(df, w0 + i), x0, a0);
    a1 = hn::MulAdd(LoadPlain(df, w1 + i), x0, a1);
    a2 = hn::MulAdd(LoadPlain(df, w2 + i), x0, a2);
    a3 = hn::MulAdd(LoadPlain(df, w3 + i), x0, a3);
    b0 = hn::MulAdd(LoadPlain(df, w0 + i + N), x1, b0);
    b1 = hn::MulAdd(LoadPlain(df, w1 + i + N), x1, b1);
    b2 = hn::MulAdd(LoadPlain(df, w2 + i + N), x1, b2);
    b3 = hn::MulAdd(LoadPlain(df, w3 + i + N), x1, b3);
  }
  for (; i + N <= n; i += N) {
    const VF x0 = hn::LoadU(df, x + i);
    a0 = hn::MulAdd(LoadPlain(df, w0 + i), x0, a0);
    a1 = hn::MulAdd(LoadPlain(df, w1 + i), x0, a1);
    a2 = hn::MulAdd(LoadPlain(df, w2 + i), x0, a2);
    a3 = hn::MulAdd(LoadPlain(df, w3 + i), x0, a3);
  }
  float t0 = 0.0f, t1 = 0.0f, t2 = 0.0f, t3 = 0.0f;
  for (; i < n; ++i) {
    t0 = MulAddLane(ScalarAt(w0 + i), x[i], t0);
    t1 = MulAddLane(ScalarAt(w1 + i), x[i], t1);
    t2 = MulAddLane(ScalarAt(w2 + i), x[i], t2);
    t3 = MulAddLane(ScalarAt(w3 + i), x[i], t3);
  }
  y[0] = hn::GetLane(hn::SumOfLanes(df, hn::Add(a0, b0))) + t0;
  y[1] = hn::GetLane(hn::SumOfLanes(df, hn::Add(a1, b1))) + t1;
  y[2] = hn::GetLane(hn::SumOfLanes(df, hn::Add(a2, b2))) + t2;
  y[3] = hn::GetLane(hn::SumOfLanes(df, hn::Add(a3, b3))) + t3;
}

// ---------------------------------------------------------------- rows

// Block j of a group, raw, into the sink.
template <class Block, size_t j>
HWY_INLINE void DecodeInto(const uint8_t* HWY_RESTRICT block, size_t base, GroupDotSink<Block>& s) {
  typename GroupDotSink<Block>::template View<j> view{s};
  Block::template Decode<true>(block, base, view);
}
template <class Block, size_t... kJ>
HWY_INLINE void DecodeGroup(const uint8_t* HWY_RESTRICT blocks, size_t base, GroupDotSink<Block>& s,
                            std::index_sequence<kJ...>) {
  (DecodeInto<Block, kJ>(blocks + kJ * Block::kBytes, base + kJ * Block::kValues, s), ...);
}

// A row of 32-value blocks against the quantized x. Per group of kG blocks,
// besides the blocks' integer dots: the f16 d (and m) gathered by scalar
// moves and converted as one vector, and the zero point (-kZero * d * dx *
// sum(x16)) and the mins (m * sum(x)) as one vector FMA each. The integer
// sums are exact (|sum| < 2^24, exact in f32 too), so only the f32 rounding
// differs from DotSink. In L2 (512 x 2048 Q4_0, 1 thread) 14.0 -> 15.8 GB/s;
// BM_MatVec q4_0 2 threads from DRAM 19-21 -> 23-25 GB/s.
template <class Block>
float DotBlocks32(const uint8_t* HWY_RESTRICT row, size_t blocks, const QuantizedX& x) {
  using Sink = GroupDotSink<Block>;
  constexpr size_t kG = Sink::kG;
  const typename Sink::DF32 df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  auto zero_acc = hn::Zero(df), min_acc = hn::Zero(df);
  Sink s(x.x16.get());
  // The next row, prefetched into L2 as in DotBlocks.
  const char* HWY_RESTRICT next = reinterpret_cast<const char*>(row) + blocks * Block::kBytes;
  size_t fetched = 0;
  size_t k = 0;
  if constexpr (kG > 0) {
    for (; k + kG <= blocks; k += kG) {
      const uint8_t* HWY_RESTRICT b = row + k * Block::kBytes;
      PrefetchL2Until(next, (k + kG) * Block::kBytes, &fetched);
      HWY_ALIGN uint16_t d16[kG], m16[kG];
      for (size_t j = 0; j < kG; ++j) {
        d16[j] = U16At(b + j * Block::kBytes);
        if constexpr (Block::kHasMin) m16[j] = U16At(b + j * Block::kBytes + 2);
      }
      const auto sc =
          hn::Mul(hn::PromoteTo(df, hn::Load(dh, reinterpret_cast<const hwy::float16_t*>(d16))),
                  hn::LoadU(df, x.dx.data() + k));
      hn::Store(sc, df, s.scale);
      DecodeGroup<Block>(b, k * Block::kValues, s, std::make_index_sequence<kG>());
      if constexpr (Block::kZero != 0)
        zero_acc = hn::MulAdd(sc, hn::LoadU(df, x.xsum16.data() + k), zero_acc);
      if constexpr (Block::kHasMin) {
        const auto m =
            hn::PromoteTo(df, hn::Load(dh, reinterpret_cast<const hwy::float16_t*>(m16)));
        min_acc = hn::MulAdd(m, hn::LoadU(df, x.xsum32.data() + k), min_acc);
      }
    }
  }
  // The last blocks (fewer than a group) one at a time.
  float tail = 0.0f;
  for (; k < blocks; ++k) {
    const uint8_t* HWY_RESTRICT b = row + k * Block::kBytes;
    const float sdx = HalfAt(b) * x.dx[k];
    s.scale[0] = sdx;
    DecodeInto<Block, 0>(b, k * Block::kValues, s);
    tail = NegMulAddLane(sdx * Block::kZero, x.xsum16[k], tail);
    if constexpr (Block::kHasMin) tail = MulAddLane(HalfAt(b + 2), x.xsum32[k], tail);
  }
  const auto total = hn::Add(hn::NegMulAdd(hn::Set(df, static_cast<float>(Block::kZero)), zero_acc,
                                           hn::Add(s.acc0, s.acc1)),
                             min_acc);
  return hn::GetLane(hn::SumOfLanes(df, total)) + tail;
}

// x quantized the way Block's dot reads it: 8-bit for Q4_0 (dot_q4_0-inl.h),
// 16-bit for the other block types.
template <class Block>
auto QuantizeFor(const float* HWY_RESTRICT x, size_t cols) {
  if constexpr (std::is_same_v<Block, BlockQ4_0>) {
    return QuantizeX8(x, cols);
  } else {
    return QuantizeX(x, cols, Block::kHasMin);
  }
}

template <class Block, class X>
float DotBlocks(const uint8_t* HWY_RESTRICT row, size_t blocks, const X& x) {
  if constexpr (std::is_same_v<Block, BlockQ4_0>) {
    return DotQ4_0(row, blocks, x);
  } else if constexpr (Block::kValues == 32) {
    return DotBlocks32<Block>(row, blocks, x);
  } else {
    DotSink<Block::kHasMin> s(x);
    // The next row, prefetched into L2 a block at a time as this one is read
    // (the hardware prefetcher restarts late at every 4 KB page): BM_MatVec, 2
    // threads, q4_0 19.8 -> 22.6 GB/s, q4_K 17 -> 22.8, q8_0 26 -> 40.
    const char* HWY_RESTRICT next = reinterpret_cast<const char*>(row) + blocks * Block::kBytes;
    size_t fetched = 0;
    for (size_t k = 0; k < blocks; ++k) {
      PrefetchL2Until(next, (k + 1) * Block::kBytes, &fetched);
      Block::Decode(row + k * Block::kBytes, k * Block::kValues, s);
    }
    return s.Sum();
  }
}

void DequantizeRowImpl(GgmlType type, const void* row, int64_t cols, float* out) {
  DequantizeRowAny(type, row, cols, out);
}

// y[r] = row r . x for r < rows; rows split into one contiguous range per
// thread, so each thread streams its own part of W once.
template <class T>
void MatVecT(Plain<T>, const uint8_t* w, size_t row_bytes, int64_t rows, size_t cols,
             const float* x, float* y, int num_threads) {
  // Rows in fours; row_bytes is a whole number of elements for plain types.
  const int64_t quads = rows / 4;
#pragma omp parallel num_threads(num_threads) if (num_threads > 1 && rows > 1)
  {
#pragma omp for schedule(static) nowait
    for (int64_t r4 = 0; r4 < quads; ++r4) {
      DotPlain4(reinterpret_cast<const T*>(w + 4 * r4 * row_bytes), row_bytes / sizeof(T), x, cols,
                y + 4 * r4);
    }
#pragma omp for schedule(static)
    for (int64_t r = 4 * quads; r < rows; ++r) {
      y[r] = DotPlain(reinterpret_cast<const T*>(w + r * row_bytes), x, cols);
    }
  }
}
template <class Block>
void MatVecT(Block, const uint8_t* w, size_t row_bytes, int64_t rows, size_t cols, const float* x,
             float* y, int num_threads) {
  const size_t blocks = cols / Block::kValues;
  const auto qx = QuantizeFor<Block>(x, cols);
#pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1 && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    y[r] = DotBlocks<Block>(w + r * row_bytes, blocks, qx);
  }
}

// Each row dotted with every x of the batch while it is in L1.
// Plain rows in fours, as MatVecT reads them (the same summation order).
template <class T>
void MatVecBatchT(Plain<T>, const uint8_t* w, size_t row_bytes, int64_t rows, size_t cols,
                  const float* x, int64_t batch, float* y, int num_threads) {
  const int64_t quads = rows / 4;
  const size_t stride = row_bytes / sizeof(T);
#pragma omp parallel num_threads(num_threads) if (num_threads > 1 && rows > 1)
  {
#pragma omp for schedule(static) nowait
    for (int64_t r4 = 0; r4 < quads; ++r4) {
      const T* quad = reinterpret_cast<const T*>(w + 4 * r4 * row_bytes);
      for (int64_t b = 0; b < batch; ++b)
        DotPlain4(quad, stride, x + b * cols, cols, y + b * rows + 4 * r4);
    }
#pragma omp for schedule(static)
    for (int64_t r = 4 * quads; r < rows; ++r) {
      const T* row = reinterpret_cast<const T*>(w + r * row_bytes);
      for (int64_t b = 0; b < batch; ++b) y[b * rows + r] = DotPlain(row, x + b * cols, cols);
    }
  }
}
// Streams per pass over a row: each pass decodes the row's blocks once for
// this many streams, whose accumulators stay in registers (16 on AVX2).
template <class Block>
constexpr size_t BatchStreams() {
  return 4;
}

// Per-thread scratch of a batched row: the 32-value blocks' f16 scales and
// their products with each stream's dx.
struct BatchScratch {
  std::vector<uint16_t> d16;  // [blocks]
  std::vector<float> scale;   // [S * blocks]
};

// y[s * y_stride] = row . x[s] for s < S.
template <class Block, size_t S>
HWY_INLINE void DotBlocksBatch(const uint8_t* HWY_RESTRICT row, size_t blocks, const void* const* x,
                               BatchScratch& scratch, float* HWY_RESTRICT y, size_t y_stride) {
  if constexpr (std::is_same_v<Block, BlockQ4_0>) {
    DotQ4_0Batch<S>(row, blocks, reinterpret_cast<const QuantizedX8* const*>(x), y, y_stride);
  } else if constexpr (Block::kValues == 32) {
    const auto* qx = reinterpret_cast<const QuantizedX* const*>(x);
    BlockScales<Block, S>(row, blocks, qx, scratch.d16.data(), scratch.scale.data());
    DotBlocks32Batch<Block, S>(row, blocks, qx, scratch.scale.data(), y, y_stride);
  } else {
    DotBlocksKBatch<Block, S>(row, blocks, reinterpret_cast<const QuantizedX* const*>(x), y,
                              y_stride);
  }
}
// The instance for S = n, n in [1, sizeof...(kS)].
template <class Block, size_t... kS>
HWY_INLINE void DotBlocksBatchN(size_t n, const uint8_t* HWY_RESTRICT row, size_t blocks,
                                const void* const* x, BatchScratch& scratch, float* HWY_RESTRICT y,
                                size_t y_stride, std::index_sequence<kS...>) {
  ((n == kS + 1 ? DotBlocksBatch<Block, kS + 1>(row, blocks, x, scratch, y, y_stride) : void()),
   ...);
}

// Each row is decoded once per BatchStreams() streams and dotted with their x
// while in registers; the next row is prefetched into L2 meanwhile.
template <class Block>
void MatVecBatchT(Block, const uint8_t* w, size_t row_bytes, int64_t rows, size_t cols,
                  const float* x, int64_t batch, float* y, int num_threads) {
  constexpr size_t S = BatchStreams<Block>();
  const size_t blocks = cols / Block::kValues;
  std::vector<decltype(QuantizeFor<Block>(x, cols))> qx;
  for (int64_t b = 0; b < batch; ++b) qx.push_back(QuantizeFor<Block>(x + b * cols, cols));
  std::vector<const void*> ptrs;
  for (const auto& q : qx) ptrs.push_back(&q);
#pragma omp parallel num_threads(num_threads) if (num_threads > 1 && rows > 1)
  {
    BatchScratch scratch{std::vector<uint16_t>(blocks), std::vector<float>(S * blocks)};
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* row = w + r * row_bytes;
      if (r + 1 < rows) {
        size_t fetched = 0;
        PrefetchL2Until(reinterpret_cast<const char*>(row + row_bytes), row_bytes, &fetched);
      }
      for (int64_t b = 0; b < batch; b += S) {
        const size_t n = static_cast<size_t>(std::min<int64_t>(S, batch - b));
        DotBlocksBatchN<Block>(n, row, blocks, ptrs.data() + b, scratch, y + b * rows + r,
                               static_cast<size_t>(rows), std::make_index_sequence<S>());
      }
    }
  }
}

void MatVecBatchImpl(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
                     int64_t batch, float* y, int num_threads) {
  const size_t row_bytes = RowBytes(type, cols);
  VisitType(type, [&](auto tag) {
    MatVecBatchT(tag, static_cast<const uint8_t*>(w), row_bytes, rows, static_cast<size_t>(cols), x,
                 batch, y, num_threads);
  });
}

// Rows in groups of 8, the groups split into one contiguous range per thread.
void MatVecQ4_0x8Impl(const void* w8, int64_t rows, int64_t cols, const float* x, float* y,
                      int num_threads) {
  const size_t blocks = static_cast<size_t>(cols) / 32;
  const size_t group_bytes = RowBytes(GgmlType::kQ4_0, cols) * 8;
  const auto qx = QuantizeX8(x, static_cast<size_t>(cols));
  const uint8_t* base = static_cast<const uint8_t*>(w8);
  const int64_t groups = rows / 8;
#pragma omp parallel for num_threads(num_threads) \
    schedule(static) if (num_threads > 1 && groups > 1)
  for (int64_t g = 0; g < groups; ++g) {
    DotQ4_0x8(base + g * group_bytes, blocks, qx, y + 8 * g);
  }
}

void MatVecImpl(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x, float* y,
                int num_threads) {
  const size_t row_bytes = RowBytes(type, cols);
  VisitType(type, [&](auto tag) {
    MatVecT(tag, static_cast<const uint8_t*>(w), row_bytes, rows, static_cast<size_t>(cols), x, y,
            num_threads);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quest {

HWY_EXPORT(DequantizeRowImpl);
HWY_EXPORT(MatVecImpl);
HWY_EXPORT(MatVecQ4_0x8Impl);
HWY_EXPORT(MatVecBatchImpl);

void DequantizeRow(GgmlType type, const void* row, int64_t cols, float* out) {
  QE_DCHECK(CheckWeightType(type, cols).ok());
  HWY_DYNAMIC_DISPATCH(DequantizeRowImpl)(type, row, cols, out);
}

void MatVec(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x, float* y,
            int num_threads) {
  QE_DCHECK(CheckWeightType(type, cols).ok());
  HWY_DYNAMIC_DISPATCH(MatVecImpl)(type, w, rows, cols, x, y, std::max(1, num_threads));
}

bool CanRepackQ4_0x8(GgmlType type, int64_t rows, int64_t cols) {
  return type == GgmlType::kQ4_0 && rows > 0 && rows % 8 == 0 && cols > 0 && cols % 32 == 0;
}

void RepackQ4_0x8(const void* w, int64_t rows, int64_t cols, void* out, int num_threads) {
  QE_CHECK(CanRepackQ4_0x8(GgmlType::kQ4_0, rows, cols), "rows %lld cols %lld",
           static_cast<long long>(rows), static_cast<long long>(cols));
  constexpr size_t kBytes = 18;
  const size_t blocks = static_cast<size_t>(cols) / 32;
  const uint8_t* src = static_cast<const uint8_t*>(w);
  uint8_t* dst = static_cast<uint8_t*>(out);
#pragma omp parallel for num_threads(std::max(1, num_threads)) schedule(static)
  for (int64_t g = 0; g < rows / 8; ++g) {
    for (size_t k = 0; k < blocks; ++k) {
      uint8_t* column = dst + (static_cast<size_t>(g) * blocks + k) * 8 * kBytes;
      for (size_t r = 0; r < 8; ++r) {
        const uint8_t* block = src + ((static_cast<size_t>(g) * 8 + r) * blocks + k) * kBytes;
        std::memcpy(column + 2 * r, block, 2);  // the f16 scale
        for (size_t j = 0; j < 4; ++j)
          std::memcpy(column + 16 + 32 * j + 4 * r, block + 2 + 4 * j, 4);
      }
    }
  }
}

void MatVecQ4_0x8(const void* w8, int64_t rows, int64_t cols, const float* x, float* y,
                  int num_threads) {
  QE_DCHECK(CanRepackQ4_0x8(GgmlType::kQ4_0, rows, cols));
  HWY_DYNAMIC_DISPATCH(MatVecQ4_0x8Impl)(w8, rows, cols, x, y, std::max(1, num_threads));
}

int MatVecXLevels(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
      return 0;
    case GgmlType::kQ4_0:
      return 127;
    default:
      return 32767;
  }
}

// Where MatVecBatch beats MatMulUnpacked (AVX2 EPYC, 2 threads, ms per call).
// MatVecBatch's cost grows with the batch (the per-stream integer dot is
// compute-bound); MatMulUnpacked's is mostly a fixed dequantization into f32
// tiles. Gemma 3 270M's output matrix (262144 x 640 Q8_0): batch 4: 18 vs 23;
// batch 8: 36 vs 31. 2048 x 2048 at batch 8: Q8_0 0.68 vs 0.86, Q5_0 0.87 vs
// 0.87, Q4_K 0.84 vs 0.85, Q6_K 1.07 vs 0.95; batch 16: Q4_K 1.8 vs 1.4.
// Q4_0's 8-bit dot does half the vector work: batch 16: 1.07 vs 1.28.
constexpr int64_t kMatVecBatchMax = 6;
constexpr int64_t kMatVecBatchMaxQ4_0 = 16;

void MatVecBatch(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
                 int64_t batch, float* y, int num_threads) {
  QE_DCHECK(CheckWeightType(type, cols).ok());
  HWY_DYNAMIC_DISPATCH(MatVecBatchImpl)(type, w, rows, cols, x, batch, y, std::max(1, num_threads));
}

bool BatchPrefersMatVec(GgmlType type, int64_t batch) {
  return batch <= (type == GgmlType::kQ4_0 ? kMatVecBatchMaxQ4_0 : kMatVecBatchMax);
}

}  // namespace quest
#endif  // HWY_ONCE
