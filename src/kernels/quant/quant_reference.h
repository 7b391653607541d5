// Scalar references for the ggml weight formats quest computes with: one row
// of blocks -> f32, and matvec / matmul on top of it (double accumulation).
// The bit layouts follow ggml's block structs (ggml-common.h); see the
// comments at each format in quant_reference.cc.
#pragma once

#include <cstdint>

#include "src/gguf/ggml_type.h"
#include "src/util/check.h"

namespace quest {

// Names the type and the row length if quest cannot compute with them.
Status CheckWeightType(GgmlType type, int64_t cols);

// out[0..cols) = the row's values. cols is a multiple of the block size.
void DequantizeRowRef(GgmlType type, const void* row, int64_t cols, float* out);

// One block of a block-quantized type (not F32/F16/BF16) -> block_size floats.
void DequantizeBlockRef(GgmlType type, const uint8_t* block, float* out);

// Bytes of one row of cols values.
size_t RowBytes(GgmlType type, int64_t cols);

// y[r] = sum_c W[r][c] x[c].
void MatVecRef(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
               float* y);
// y[b * rows + r] = sum_c W[r][c] x[b * cols + c].
void MatMulRef(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
               int64_t batch, float* y);

}  // namespace quest
