// Weight x activation products for decode (MatVec) and chunked prefill
// (MatMul), over weight rows stored in any supported ggml type and dequantized
// on the fly; Highway SIMD with runtime dispatch, OpenMP over rows. The scalar
// twins are in quant_reference.h.
//
// Type contract, for every function here: `type` passed CheckWeightType(type,
// cols) (a QE_DCHECK in debug builds; callers validate untrusted ids first);
// weights are ggml blocks of `type`, rows x cols values row-major, each row
// RowBytes(type, cols) bytes, with no alignment requirement; activations and
// outputs are f32.
#pragma once

#include <cstdint>

#include "src/gguf/ggml_type.h"
#include "src/kernels/quant/quant_reference.h"

namespace quest {

// out[0..cols) = the f32 values of one weight row (embedding lookup).
void DequantizeRow(GgmlType type, const void* row, int64_t cols, float* out);

// y[r] = sum_c W[r][c] x[c], r < rows. The decode hot path: each weight byte is
// read once and dequantized in registers; memory-bound. rows are split into one
// contiguous range per thread. x: [cols], y: [rows].
void MatVec(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x, float* y,
            int num_threads);

// Q4_0 rows repacked eight at a time, for the decode MatVec only (opt-in:
// a copy of the weights in memory, which the mmapped file otherwise spares;
// llama.cpp's CPU backend does the same by default). Per group of 8 rows and
// per block column: the 8 rows' f16 scales (16 bytes), then 4 chunks of 32
// bytes, chunk j holding nibble bytes 4j..4j+3 of rows 0..7 in turn; the same
// RowBytes(kQ4_0, cols) * rows bytes as the rows. A 256-bit vector then holds
// one row per 32-bit lane: x is broadcast instead of shuffled and no row needs
// a horizontal sum. Needs rows % 8 == 0.
bool CanRepackQ4_0x8(GgmlType type, int64_t rows, int64_t cols);
void RepackQ4_0x8(const void* w, int64_t rows, int64_t cols, void* out, int num_threads);
// MatVec over repacked rows: x rounded as MatVec rounds it for Q4_0.
void MatVecQ4_0x8(const void* w8, int64_t rows, int64_t cols, const float* x, float* y,
                  int num_threads);

// How MatVec rounds x for `type`: per 32 values, to integers of magnitude at
// most this (x ~ dx * xq, dx = max |x| / levels, |error| <= dx / 2): 127 for
// Q4_0 (8-bit activations, as llama.cpp's), 32767 for the other block types,
// 0 for the plain types (f32/f16/bf16: x is used as it is).
int MatVecXLevels(GgmlType type);

// The decode step of a small batch: y[b * rows + r] = row r . x[b], each row
// read once and dotted with every x of the batch while it is in L1, by the
// same dot (and the same rounding of x) as MatVec, so y[b] equals MatVec of
// x[b] bit for bit. Compute grows with the batch; MatMulUnpacked wins where
// its f32 tiles beat the quantized dot (BatchPrefersMatVec says where).
void MatVecBatch(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
                 int64_t batch, float* y, int num_threads);
// Whether MatVecBatch is the faster of the two for a batch of this size
// (measured: BM_DecodeBatch, and the decode step's largest matrix).
bool BatchPrefersMatVec(GgmlType type, int64_t batch);

// y[b * rows + r] = sum_c W[r][c] x[b * cols + c], b < batch: prefill chunks.
// W is dequantized a K-block at a time into f32 panels, repacked for a GEMM
// micro-kernel that runs near the FMA peak (matmul.cc). Every output is one
// FMA chain over the columns in order, whatever the batch: a row's result does
// not depend on what it is batched with. x: [batch, cols], y: [batch, rows].
void MatMul(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x, int64_t batch,
            float* y, int num_threads);

// The same product for a decode batch too small to repay MatMul's packing
// (more sequences than BatchPrefersMatVec takes, up to a few dozen): tiles of
// dequantized rows dotted with the batch as they are. Slower than MatMul at
// prefill sizes; results round differently from both MatMul and MatVec.
void MatMulUnpacked(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
                    int64_t batch, float* y, int num_threads);

}  // namespace quest
