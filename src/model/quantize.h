// f32 -> ggml block formats, for writing GGUF files (make-model, test
// fixtures): F16, BF16, Q8_0, Q4_0 round to nearest as ggml's reference
// quantizers do; Q4_K, Q6_K fit each sub-block's range (quantize_k.h). The
// scalar dequantizers in src/kernels/quant are the inverse.
#pragma once

#include <cstddef>
#include <cstdint>

#include "src/gguf/ggml_type.h"
#include "src/util/check.h"

namespace quest {

// Types QuantizeRow can write.
bool CanQuantizeTo(GgmlType type);

// Writes n values (a multiple of the type's block size) to out, which holds
// n / block_size * type_size bytes.
void QuantizeRow(GgmlType type, const float* x, int64_t n, void* out);

}  // namespace quest
