// f32 -> ggml's 256-value k-quant blocks Q4_K and Q6_K, for writing GGUF files
// (make-model --type q4_k / q4_k_m). A direct range fit, not ggml's iterative
// search: each sub-block's range is covered without clamping, so every value
// is within half of its sub-block's quant step (see quantize_k.cc).
#pragma once

#include <cstdint>

namespace quest {

constexpr int kSuperBlock = 256;  // values per k-quant block

// 8 scales and 8 mins (each 0..63) of a Q4_K / Q5_K block -> the 12 packed
// bytes: j < 4 in the low 6 bits of bytes j (scale) and j + 4 (min); j >= 4 in
// the low / high nibble of byte j + 4, with bits 4, 5 in the top 2 bits of
// bytes j - 4 (scale) and j (min).
void PackScalesMinsK4(const uint8_t* scales, const uint8_t* mins, uint8_t* packed);

// n values (a multiple of 256) -> n / 256 blocks of 144 bytes.
void QuantizeRowQ4_K(const float* x, int64_t n, uint8_t* out);

// n values (a multiple of 256) -> n / 256 blocks of 210 bytes.
void QuantizeRowQ6_K(const float* x, int64_t n, uint8_t* out);

}  // namespace quest
