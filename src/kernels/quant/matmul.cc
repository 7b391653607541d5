// MatMul, the weight x activations product of a prefill chunk: a GEMM with
// the outer-product micro-kernel of BLIS. Weight rows are dequantized a
// K-block at a time into panels of P rows stored column by column (P
// consecutive floats per column), so one micro-kernel step loads
// kPanelVectors weight vectors, broadcasts kPanelBatch activations and does
// kPanelBatch * kPanelVectors FMAs into accumulators that hold outputs
// directly (no horizontal sums). The K-blocks keep the activations a step
// touches in L1 and the packed tile in L2 (the row tiles below stream both
// from L2 and stay at ~60-70% of the FMA peak).
//
// Every output is one FMA chain over the columns in order, whatever the batch
// size, the output's place in the batch, the tiles or the threads: a
// sequence's prefill gives the same bits alone or batched with others.
//
// MatMulUnpacked, for decode batches too small to repay the packing, keeps
// the row tiles: dot products along whole dequantized rows.
// Scalar twin of both: MatMulRef (quant_reference.h).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "hwy/aligned_allocator.h"
#include "src/kernels/quant/matvec.h"
#include "src/kernels/quant/quant_reference.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/quant/matmul.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "src/kernels/quant/decode-inl.h"
#include "src/kernels/quant/dequantize-inl.h"
#include "src/kernels/reduce-inl.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Registers: AVX2 / SSE4 have 16: 2 x 6 = 12 accumulators, 2 weights, 1
// broadcast. AVX-512 has 32: 4 x 6 = 24 accumulators and 10 loads per 24
// FMAs (Zen 4 issues one 512-bit load per FMA, so fewer loads per FMA).
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
constexpr int kPanelVectors = 4;
#else
constexpr int kPanelVectors = 2;
#endif
constexpr int kPanelBatch = 6;
// Columns per K-block: a multiple of every block type's values (256).
constexpr size_t kKBlock = 256;
// Packed tile size: kept in L2 (512 KB) while the batch streams past it.
constexpr size_t kTileBytes = 128 * 1024;

HWY_INLINE size_t PanelRows() { return kPanelVectors * hn::Lanes(DF()); }

// y[b * y_stride + i] (+)= sum_c panel[c * P + i] * xp[c * kPanelBatch + b] for
// i < P, b < B, c < kc; adds to y when `accumulate` (a later K-block).
template <int B>
void PanelTimesX(const float* HWY_RESTRICT panel, size_t kc, const float* HWY_RESTRICT xp,
                 float* HWY_RESTRICT y, size_t y_stride, bool accumulate) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const size_t P = kPanelVectors * N;
  VF acc[B][kPanelVectors];
  for (int b = 0; b < B; ++b) {
    for (int v = 0; v < kPanelVectors; ++v) {
      acc[b][v] = accumulate ? hn::LoadU(df, y + b * y_stride + v * N) : hn::Zero(df);
    }
  }
  for (size_t c = 0; c < kc; ++c) {
    VF w[kPanelVectors];
    for (int v = 0; v < kPanelVectors; ++v) w[v] = hn::Load(df, panel + c * P + v * N);
    for (int b = 0; b < B; ++b) {
      const VF xb = hn::Set(df, xp[c * kPanelBatch + b]);
      for (int v = 0; v < kPanelVectors; ++v) acc[b][v] = hn::MulAdd(w[v], xb, acc[b][v]);
    }
  }
  for (int b = 0; b < B; ++b) {
    for (int v = 0; v < kPanelVectors; ++v) hn::StoreU(acc[b][v], df, y + b * y_stride + v * N);
  }
}

void PanelTimesXB(int nb, const float* panel, size_t kc, const float* xp, float* y, size_t y_stride,
                  bool accumulate) {
  static_assert(kPanelBatch <= 6, "add cases");
  switch (nb) {
    case 6:
      return PanelTimesX<6>(panel, kc, xp, y, y_stride, accumulate);
    case 5:
      return PanelTimesX<5>(panel, kc, xp, y, y_stride, accumulate);
    case 4:
      return PanelTimesX<4>(panel, kc, xp, y, y_stride, accumulate);
    case 3:
      return PanelTimesX<3>(panel, kc, xp, y, y_stride, accumulate);
    case 2:
      return PanelTimesX<2>(panel, kc, xp, y, y_stride, accumulate);
    default:
      return PanelTimesX<1>(panel, kc, xp, y, y_stride, accumulate);
  }
}

// x [batch, cols] packed for PanelTimesX, group g of kPanelBatch rows: per
// K-block (offset k0, width kc) the group's rows interleaved column by
// column, at xp + k0 * groups * kPanelBatch + g * kc * kPanelBatch: value
// (c, i) at c * kPanelBatch + i is x[g * kPanelBatch + i][k0 + c], zero past
// the batch. The broadcasts of a step then read one sequential stream instead
// of kPanelBatch rows a page or more apart.
void PackXGroup(const float* HWY_RESTRICT x, size_t cols, int64_t batch, int64_t g,
                float* HWY_RESTRICT xp) {
  const int64_t groups = (batch + kPanelBatch - 1) / kPanelBatch;
  for (size_t k0 = 0; k0 < cols; k0 += kKBlock) {
    const size_t kc = std::min(kKBlock, cols - k0);
    float* HWY_RESTRICT dst = xp + k0 * groups * kPanelBatch + g * kc * kPanelBatch;
    for (int i = 0; i < kPanelBatch; ++i) {
      const int64_t b = g * kPanelBatch + i;
      for (size_t c = 0; c < kc; ++c)
        dst[c * kPanelBatch + i] = b < batch ? x[b * cols + k0 + c] : 0.0f;
    }
  }
}

#if HWY_TARGET != HWY_SCALAR
// out[j * out_stride + i] = in[i * in_stride + j] for i, j < 8: an 8 x 8
// transpose in three shuffle stages (32-bit, 64-bit, 128-bit interleaves).
template <class D8>
HWY_INLINE void Transpose8x8(D8 d, const float* HWY_RESTRICT in, size_t in_stride,
                             float* HWY_RESTRICT out, size_t out_stride) {
  const hn::Repartition<uint64_t, D8> d64;
  using V = hn::Vec<D8>;
  V t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    const V a = hn::Load(d, in + i * in_stride), b = hn::Load(d, in + (i + 1) * in_stride);
    t[i] = hn::InterleaveLower(d, a, b);      // columns 0 1 | 4 5 of rows i, i + 1
    t[i + 1] = hn::InterleaveUpper(d, a, b);  // columns 2 3 | 6 7
  }
  for (int h = 0; h < 8; h += 4) {  // rows h..h+3, columns j | j + 4 in u[h + j]
    for (int k = 0; k < 2; ++k) {
      const auto lo = hn::BitCast(d64, t[h + k]), hi = hn::BitCast(d64, t[h + 2 + k]);
      u[h + 2 * k] = hn::BitCast(d, hn::InterleaveLower(d64, lo, hi));
      u[h + 2 * k + 1] = hn::BitCast(d, hn::InterleaveUpper(d64, lo, hi));
    }
  }
  for (int j = 0; j < 4; ++j) {
    hn::Store(hn::ConcatLowerLower(d, u[4 + j], u[j]), d, out + j * out_stride);
    hn::Store(hn::ConcatUpperUpper(d, u[4 + j], u[j]), d, out + (j + 4) * out_stride);
  }
}
#endif  // HWY_TARGET != HWY_SCALAR

// Columns [k0, k0 + kc) of rows [0, nr) of w, dequantized into panels of P
// rows: row r, column c at packed[(r / P) * P * kc + c * P + r % P]; the rows
// of the last panel past nr are zeros. Eight rows at a time are dequantized
// into rows_buf (8 x kc floats, aligned) and transposed 8 x 8 in registers
// where vectors hold 8 floats (AVX2, AVX-512): one scalar store per weight
// otherwise, which cost ~5% of a 1B prefill.
void PackTile(GgmlType type, const uint8_t* w, size_t row_bytes, int nr, size_t k0, size_t kc,
              float* HWY_RESTRICT rows_buf, float* HWY_RESTRICT packed) {
  const size_t P = PanelRows();
  const size_t offset = RowBytes(type, static_cast<int64_t>(k0));
  const size_t padded = (static_cast<size_t>(nr) + P - 1) / P * P;
  const size_t stride = hwy::RoundUpTo(kc, 8);
#if HWY_TARGET != HWY_SCALAR
  const hn::CappedTag<float, 8> d8;
  const bool vector8 = hn::Lanes(d8) == 8;
#endif
  for (size_t r0 = 0; r0 < padded; r0 += 8) {  // P is a multiple of 8 where vector8
    const size_t n8 = std::min<size_t>(8, padded - r0);
    for (size_t i = 0; i < n8; ++i) {
      float* HWY_RESTRICT row = rows_buf + i * stride;
      if (r0 + i < static_cast<size_t>(nr)) {
        DequantizeRowAny(type, w + (r0 + i) * row_bytes + offset, static_cast<int64_t>(kc), row);
      } else {
        std::fill(row, row + kc, 0.0f);
      }
    }
    size_t c = 0;
#if HWY_TARGET != HWY_SCALAR
    if (vector8) {  // then P is a multiple of 8: the 8 rows share a panel
      float* HWY_RESTRICT dst = packed + (r0 / P) * P * kc + r0 % P;
      for (; c + 8 <= kc; c += 8) Transpose8x8(d8, rows_buf + c, stride, dst + c * P, P);
    }
#endif
    for (size_t i = 0; i < n8; ++i) {  // the rest, row by row (P may be < 8)
      const size_t r = r0 + i;
      float* HWY_RESTRICT out = packed + (r / P) * P * kc + r % P;
      for (size_t cc = c; cc < kc; ++cc) out[cc * P] = rows_buf[i * stride + cc];
    }
  }
}

// The raw bytes of the K-block packed after the current one (each of `rows`
// rows' segment), prefetched into L2 a slice per batch step, so that its
// dequantization does not wait on DRAM (f16 weights: ~5% of a 1B prefill).
struct NextBlock {
  const uint8_t* base = nullptr;
  size_t row_bytes = 0, rows = 0, lines_per_row = 0;
};

// The K-block packed after columns [k0, k0 + kc) of the tile at row r0 (nr
// rows): the tile's next K-block, else the first one of the next tile (up to
// tile_rows rows), else none (base null: nothing to prefetch).
NextBlock NextBlockAfter(GgmlType type, const uint8_t* w, size_t row_bytes, int64_t rows,
                         int64_t cols, int64_t tile_rows, size_t kc_max, int64_t r0, int nr,
                         size_t k0, size_t kc) {
  NextBlock next;
  next.row_bytes = row_bytes;
  const size_t k1 = k0 + kc;
  size_t next_kc = 0;
  if (k1 < static_cast<size_t>(cols)) {
    next.base = w + r0 * row_bytes + RowBytes(type, static_cast<int64_t>(k1));
    next.rows = static_cast<size_t>(nr);
    next_kc = std::min(kc_max, static_cast<size_t>(cols) - k1);
  } else if (r0 + nr < rows) {
    next.base = w + (r0 + nr) * row_bytes;
    next.rows = static_cast<size_t>(std::min(tile_rows, rows - (r0 + nr)));
    next_kc = kc_max;
  }
  next.lines_per_row = (RowBytes(type, static_cast<int64_t>(next_kc)) + 63) / 64;
  return next;
}

// One packed K-block of a tile (nr rows) against the whole batch, kPanelBatch
// activation rows at a time (xp: their packed K-block, in L1) over every
// panel (in L2). The last panel's rows past nr go to a scratch y and are
// dropped.
void TileTimesBatch(const float* HWY_RESTRICT packed, int nr, size_t kc, const float* xp,
                    int64_t batch, float* y, size_t rows, bool accumulate, const NextBlock& next) {
  const size_t P = PanelRows();
  const size_t full = static_cast<size_t>(nr) / P;
  const size_t tail = static_cast<size_t>(nr) % P;
  HWY_ALIGN float scratch[kPanelBatch * hwy::kMaxVectorSize / sizeof(float) * kPanelVectors];
  const size_t lines = next.rows * next.lines_per_row;
  const size_t steps = static_cast<size_t>((batch + kPanelBatch - 1) / kPanelBatch);
  const size_t per_step = (lines + steps - 1) / steps;
  size_t fetched = 0;
  for (int64_t b = 0; b < batch; b += kPanelBatch) {
    for (const size_t end = std::min(lines, fetched + per_step); fetched < end; ++fetched) {
      const size_t r = fetched / next.lines_per_row, line = fetched % next.lines_per_row;
      __builtin_prefetch(next.base + r * next.row_bytes + line * 64, 0, 2);
    }
    const int nb = static_cast<int>(std::min<int64_t>(kPanelBatch, batch - b));
    const float* xb = xp + b * kc;
    float* yb = y + b * rows;
    for (size_t p = 0; p < full; ++p) {
      PanelTimesXB(nb, packed + p * P * kc, kc, xb, yb + p * P, rows, accumulate);
    }
    if (tail == 0) continue;
    for (int i = 0; i < nb; ++i) {
      for (size_t r = 0; r < tail; ++r) {
        scratch[i * P + r] = accumulate ? yb[i * rows + full * P + r] : 0.0f;
      }
    }
    PanelTimesXB(nb, packed + full * P * kc, kc, xb, scratch, P, accumulate);
    for (int i = 0; i < nb; ++i) {
      for (size_t r = 0; r < tail; ++r) yb[i * rows + full * P + r] = scratch[i * P + r];
    }
  }
}

// The packed x of the calling thread's last MatMul, grown as needed: one
// allocation per thread instead of one (with its page faults) per call.
float* PackedXBuffer(size_t floats) {
  static thread_local hwy::AlignedFreeUniquePtr<float[]> buffer;
  static thread_local size_t capacity = 0;
  if (floats > capacity) {
    buffer = hwy::AllocateAligned<float>(floats);
    capacity = floats;
  }
  return buffer.get();
}

void MatMulImpl(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
                int64_t batch, float* y, int num_threads) {
  const size_t row_bytes = RowBytes(type, cols);
  const size_t P = PanelRows();
  const size_t kc_max = std::min(static_cast<size_t>(cols), kKBlock);
  // Tile rows: a multiple of P, as many as kTileBytes holds, and at most an
  // even share of the rows per thread (so that small matrices still split).
  const int64_t per_thread = (rows + num_threads - 1) / num_threads;
  const int64_t fit =
      static_cast<int64_t>(std::max<size_t>(1, kTileBytes / sizeof(float) / kc_max / P) * P);
  const int64_t tile_rows =
      std::min(fit, static_cast<int64_t>(hwy::RoundUpTo(static_cast<size_t>(per_thread), P)));
  const int64_t tiles = (rows + tile_rows - 1) / tile_rows;
  const int64_t groups = (batch + kPanelBatch - 1) / kPanelBatch;
  float* xp = PackedXBuffer(static_cast<size_t>(groups * kPanelBatch * cols));
  const uint8_t* wb = static_cast<const uint8_t*>(w);
#pragma omp parallel num_threads(num_threads) if (num_threads > 1 && tiles > 1)
  {
#pragma omp for schedule(static)
    for (int64_t g = 0; g < groups; ++g) PackXGroup(x, static_cast<size_t>(cols), batch, g, xp);
    hwy::AlignedFreeUniquePtr<float[]> packed = hwy::AllocateAligned<float>(tile_rows * kc_max);
    hwy::AlignedFreeUniquePtr<float[]> rows_buf =
        hwy::AllocateAligned<float>(8 * hwy::RoundUpTo(kc_max, 8));
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t r0 = t * tile_rows;
      const int nr = static_cast<int>(std::min(tile_rows, rows - r0));
      for (size_t k0 = 0; k0 < static_cast<size_t>(cols); k0 += kc_max) {
        const size_t kc = std::min(kc_max, static_cast<size_t>(cols) - k0);
        PackTile(type, wb + r0 * row_bytes, row_bytes, nr, k0, kc, rows_buf.get(), packed.get());
        const NextBlock next =
            NextBlockAfter(type, wb, row_bytes, rows, cols, tile_rows, kc_max, r0, nr, k0, kc);
        TileTimesBatch(packed.get(), nr, kc, xp + k0 * groups * kPanelBatch, batch, y + r0,
                       static_cast<size_t>(rows), k0 > 0, next);
      }
    }
  }
}

// ---------------------------------------------------------------- row tiles

// MatMulUnpacked: tiles of dequantized rows, row-major, swept by register
// tiles of dot products along whole rows (summed at the end by transposed
// reductions). No packing, so its fixed cost is only the dequantization.
// Register tile: kR weight rows x kRowTileBatch activation rows, kR * kRowTileBatch accumulators;
// per vector step kR + kRowTileBatch loads feed kR * kRowTileBatch FMAs. With 16 registers (AVX2),
// 4 x 3 uses 12 for accumulators (measured 1 thread, 2048^2 x 64: 4 x 2 gave
// ~41 GFLOP/s, 4 x 3 ~66). AVX-512 has 32: 4 x 6 has 24 accumulators and
// 10 loads per 24 FMAs (Zen 4 issues one 512-bit load and one FMA per cycle,
// so 4 x 3's 7 loads per 12 FMAs were load-bound).
constexpr int kR = 4;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
constexpr int kRowTileBatch = 6;
#else
constexpr int kRowTileBatch = 3;
#endif

// y[b * y_stride + r] = w_r . x_b for r < R, b < B, over cols values.
template <int R, int B>
void MicroTile(const float* HWY_RESTRICT w, size_t w_stride, const float* HWY_RESTRICT x,
               size_t cols, float* HWY_RESTRICT y, size_t y_stride) {
  const DF df;
  const size_t N = hn::Lanes(df);
  VF acc[R][B];
  for (int r = 0; r < R; ++r) {
    for (int b = 0; b < B; ++b) acc[r][b] = hn::Zero(df);
  }
  size_t c = 0;
  for (; c + N <= cols; c += N) {
    VF xv[B];
    for (int b = 0; b < B; ++b) xv[b] = hn::LoadU(df, x + b * cols + c);
    for (int r = 0; r < R; ++r) {
      const VF wv = hn::Load(df, w + r * w_stride + c);
      for (int b = 0; b < B; ++b) acc[r][b] = hn::MulAdd(wv, xv[b], acc[r][b]);
    }
  }
  // The R * B sums, N at a time by the transposed reduction (about 3 shuffles
  // and adds per accumulator where a horizontal sum costs about 10; at 2048
  // columns the 24 horizontal sums were ~8% of a 4 x 6 tile's FMAs).
  HWY_ALIGN float sums[R * B + hwy::kMaxVectorSize / sizeof(float)];
  constexpr size_t kN = TransposeLanes<DF>();
  if constexpr (kN > 0) {
    for (int i0 = 0; i0 < R * B; i0 += static_cast<int>(kN)) {
      VF group[kN];
      for (size_t j = 0; j < kN; ++j) {
        const int i = i0 + static_cast<int>(j);
        group[j] = i < R * B ? acc[i / B][i % B] : hn::Zero(df);
      }
      hn::Store(SumLanesTransposed(df, group), df, sums + i0);
    }
  } else {
    for (int i = 0; i < R * B; ++i) sums[i] = hn::GetLane(hn::SumOfLanes(df, acc[i / B][i % B]));
  }
  for (int r = 0; r < R; ++r) {
    for (int b = 0; b < B; ++b) {
      float s = sums[r * B + b];
      for (size_t cc = c; cc < cols; ++cc) s += w[r * w_stride + cc] * x[b * cols + cc];
      y[b * y_stride + r] = s;
    }
  }
}

template <int R>
void MicroTileB(int nb, const float* w, size_t w_stride, const float* x, size_t cols, float* y,
                size_t y_stride) {
  static_assert(kRowTileBatch <= 6, "add cases");
  switch (nb) {
    case 6:
      return MicroTile<R, 6>(w, w_stride, x, cols, y, y_stride);
    case 5:
      return MicroTile<R, 5>(w, w_stride, x, cols, y, y_stride);
    case 4:
      return MicroTile<R, 4>(w, w_stride, x, cols, y, y_stride);
    case 3:
      return MicroTile<R, 3>(w, w_stride, x, cols, y, y_stride);
    case 2:
      return MicroTile<R, 2>(w, w_stride, x, cols, y, y_stride);
    default:
      return MicroTile<R, 1>(w, w_stride, x, cols, y, y_stride);
  }
}

// Rows [0, nr) of a dequantized tile against the whole batch: for each kRowTileBatch
// activation rows (in L1), sweep the tile (in L2) kR rows at a time. Meanwhile
// the raw bytes of the next tile, [next, next + next_bytes), are prefetched
// into L2 a slice per batch step, so its dequantization does not wait on DRAM
// (it stalled ~4% of a 1B f16 prefill).
void RowTileTimesBatch(const float* HWY_RESTRICT tile, size_t stride, int nr, const float* x,
                       size_t cols, int64_t batch, float* y, size_t y_stride, const uint8_t* next,
                       size_t next_bytes) {
  const int64_t steps = (batch + kRowTileBatch - 1) / kRowTileBatch;
  const size_t slice = hwy::RoundUpTo((next_bytes + steps - 1) / steps, 64);
  size_t prefetched = 0;
  for (int64_t b = 0; b < batch; b += kRowTileBatch) {
    PrefetchL2Until(reinterpret_cast<const char*>(next), std::min(next_bytes, prefetched + slice),
                    &prefetched);
    const int nb = static_cast<int>(std::min<int64_t>(kRowTileBatch, batch - b));
    const float* xb = x + b * cols;
    float* yb = y + b * y_stride;
    int r = 0;
    for (; r + kR <= nr; r += kR)
      MicroTileB<kR>(nb, tile + r * stride, stride, xb, cols, yb + r, y_stride);
    switch (nr - r) {
      case 3:
        MicroTileB<3>(nb, tile + r * stride, stride, xb, cols, yb + r, y_stride);
        break;
      case 2:
        MicroTileB<2>(nb, tile + r * stride, stride, xb, cols, yb + r, y_stride);
        break;
      case 1:
        MicroTileB<1>(nb, tile + r * stride, stride, xb, cols, yb + r, y_stride);
        break;
      default:
        break;
    }
  }
}

void MatMulUnpackedImpl(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
                        int64_t batch, float* y, int num_threads) {
  const size_t row_bytes = RowBytes(type, cols);
  // Scratch rows padded to whole vectors, aligned for Load.
  const size_t stride = hwy::RoundUpTo(static_cast<size_t>(cols), 16);
  // A tile of dequantized rows stays in L2 (~192 KB of the 512 KB) while the
  // whole batch streams past it; a multiple of kR rows.
  const int64_t tile_rows =
      std::clamp<int64_t>((192 * 1024 / sizeof(float)) / stride / kR * kR, kR, 64);
  const int64_t tiles = (rows + tile_rows - 1) / tile_rows;
  const uint8_t* wb = static_cast<const uint8_t*>(w);
#pragma omp parallel num_threads(num_threads) if (num_threads > 1 && tiles > 1)
  {
    hwy::AlignedFreeUniquePtr<float[]> tile = hwy::AllocateAligned<float>(tile_rows * stride);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t r0 = t * tile_rows;
      const int nr = static_cast<int>(std::min(tile_rows, rows - r0));
      for (int r = 0; r < nr; ++r) {
        DequantizeRowAny(type, wb + (r0 + r) * row_bytes, cols, tile.get() + r * stride);
      }
      const int64_t next_rows = std::clamp<int64_t>(rows - (r0 + nr), 0, tile_rows);
      RowTileTimesBatch(tile.get(), stride, nr, x, static_cast<size_t>(cols), batch, y + r0,
                        static_cast<size_t>(rows), wb + (r0 + nr) * row_bytes,
                        static_cast<size_t>(next_rows) * row_bytes);
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quest {

HWY_EXPORT(MatMulImpl);
HWY_EXPORT(MatMulUnpackedImpl);

void MatMul(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x, int64_t batch,
            float* y, int num_threads) {
  QE_DCHECK(CheckWeightType(type, cols).ok());
  if (rows <= 0 || batch <= 0) return;
  HWY_DYNAMIC_DISPATCH(MatMulImpl)(type, w, rows, cols, x, batch, y, std::max(1, num_threads));
}

void MatMulUnpacked(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
                    int64_t batch, float* y, int num_threads) {
  QE_DCHECK(CheckWeightType(type, cols).ok());
  if (rows <= 0 || batch <= 0) return;
  HWY_DYNAMIC_DISPATCH(MatMulUnpackedImpl)
  (type, w, rows, cols, x, batch, y, std::max(1, num_threads));
}

}  // namespace quest
#endif  // HWY_ONCE
