// Weight x activation products for decode (MatVec) and chunked prefill
// (MatMul), over rows stored in any supported ggml type, dequantized on the
// fly; Highway SIMD with runtime dispatch, OpenMP over rows. The scalar twins
// are in quant_reference.h.
#pragma once

#include <cstdint>

#include "src/gguf/ggml_type.h"
#include "src/kernels/quant/quant_reference.h"

namespace quest {

// out[0..cols) = the values of one row (embedding lookup).
void DequantizeRow(GgmlType type, const void* row, int64_t cols, float* out);

// y[r] = sum_c W[r][c] x[c]: W is rows x cols in `type`, row-major.
void MatVec(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x, float* y,
            int num_threads);

// y[b * rows + r] = sum_c W[r][c] x[b * cols + c], b < batch: each weight row
// is dequantized once and used for the whole batch.
void MatMul(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
            int64_t batch, float* y, int num_threads);

}  // namespace quest
