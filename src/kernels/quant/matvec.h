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

// How MatVec rounds x for `type`: per 32 values, to integers of magnitude at
// most this (x ~ dx * xq, dx = max |x| / levels, |error| <= dx / 2): 127 for
// Q4_0 (8-bit activations, as llama.cpp's), 32767 for the other block types,
// 0 for the plain types (f32/f16/bf16: x is used as it is).
int MatVecXLevels(GgmlType type);

// y[b * rows + r] = sum_c W[r][c] x[b * cols + c], b < batch. Tiles of W rows
// are dequantized once into an f32 scratch that stays in L2 and reused across
// the whole batch (4 rows x 3 batch register tiles). x: [batch, cols],
// y: [batch, rows].
void MatMul(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x, int64_t batch,
            float* y, int num_threads);

}  // namespace quest
