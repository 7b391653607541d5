// Which ggml type each matrix of a make-model file gets: one type for all
// (f16, q8_0, q4_0, q4_k), or llama.cpp's Q4_K_M mix (q4_k_m).
#pragma once

#include <cstdint>
#include <string>

#include "src/gguf/ggml_type.h"
#include "src/util/check.h"

namespace quest {

struct WeightTypes {
  std::string name;  // as given to --type
  GgmlType base;     // the type of most matrices
  bool q4_k_m = false;
  uint32_t file_type;  // general.file_type (llama_ftype)
};

// Names the value and the accepted ones if `type` is unknown.
Result<WeightTypes> ParseWeightTypes(const std::string& type);

// What a matrix is for, where the Q4_K_M mix treats it apart.
enum class MatrixRole {
  kOther,
  kOutput,   // output.weight, or token_embd.weight when the output is tied to it
  kAttnV,    // attn_v.weight
  kFfnDown,  // ffn_down.weight
};

// The type of a matrix whose rows hold `cols` values, in layer `layer` of
// `layers`. Q4_K_M, as llama.cpp's quantizer chooses it: Q6_K for the output
// and for attn_v and ffn_down in the first and last eighth of the layers and
// every third layer between, Q4_K elsewhere (llama.cpp gives Phi-3's fused
// attn_qkv Q5_K, which quest does not write: Q4_K here). Rows that are not a
// whole number of 256-value blocks take Q8_0, as llama.cpp's fallback does
// for Q6_K (for Q4_K it takes Q5_0).
GgmlType MatrixType(const WeightTypes& types, MatrixRole role, int layer, int layers, int64_t cols);

}  // namespace quest
