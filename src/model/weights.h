// Typed, shape-checked views of a model's tensors inside the mapped GGUF file
// (no copies: weights stay in the page cache, shared, and are read in place).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "src/gguf/ggml_type.h"
#include "src/gguf/gguf.h"
#include "src/model/config.h"
#include "src/util/check.h"

namespace quest {

// A row-major weight matrix: rows output features of cols inputs each, in a
// ggml type (a row is cols / block_size blocks).
struct Matrix {
  GgmlType type = GgmlType::kF32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  // The same rows repacked 8 at a time for the decode MatVec (RepackQ4_0x8),
  // when the model was loaded with `repack`; null otherwise.
  const void* repacked = nullptr;
  size_t bytes() const;
  const void* Row(int64_t r) const;
};

struct LayerWeights {
  const float* attn_norm = nullptr;  // [d_model]
  // [heads*head_dim x d_model], ..., [d_model x heads*head_dim]; Phi-3's
  // fused attn_qkv gives wq, wk, wv as three row ranges of one tensor.
  Matrix wq, wk, wv, wo;
  const float* bq = nullptr;         // Qwen 2: [heads*head_dim] bias of q
  const float* bk = nullptr;         // Qwen 2: [kv_heads*head_dim]
  const float* bv = nullptr;         // Qwen 2: [kv_heads*head_dim]
  const float* q_norm = nullptr;     // Gemma 3, Qwen 3: [head_dim] RMSNorm of each query head
  const float* k_norm = nullptr;     // Gemma 3, Qwen 3: [head_dim]
  const float* post_attn_norm = nullptr;  // Gemma 3
  const float* ffn_norm = nullptr;        // [d_model]
  // [d_ff x d_model] x2, [d_model x d_ff]; Phi-3's ffn_up holds gate's rows
  // then up's.
  Matrix gate, up, down;
  const float* post_ffn_norm = nullptr;   // Gemma 3
};

struct ModelWeights {
  Matrix token_embd;  // [vocab x d_model]
  std::vector<LayerWeights> layers;
  const float* output_norm = nullptr;
  Matrix output;  // [vocab x d_model]; the embedding when tied
  std::vector<float> rope_freq_factors;  // llama 3 "rope_freqs.weight" (empty: none)
  // LongRoPE (Phi-3 128K): per-pair divisors [rope_dim/2] for contexts past
  // the original one and within it (empty: none); see RopeFreqFactorsFor.
  std::vector<float> rope_factors_long, rope_factors_short;
  // f32 copies of norm vectors stored in other types (rare); views point here.
  std::vector<std::unique_ptr<std::vector<float>>> owned;
  size_t total_bytes = 0;  // bytes of all matrices (weights read per token, roughly)
  // Memory of the repacked copies (RepackWeights), and their total size.
  std::vector<std::unique_ptr<uint8_t[]>> repacked_storage;
  size_t repacked_bytes = 0;
};

// Finds every tensor the architecture needs, checks its type and shape, and
// names the tensor, its shape and the expected one on error.
Result<ModelWeights> LoadWeights(const GgufFile& gguf, const ModelConfig& config);

// The per-pair frequency divisors a sequence context of `context` tokens
// rotates with: LongRoPE's long or short set (LongRopeUsesLongFactors), else
// rope_freq_factors (llama 3's or YaRN's; empty: none).
const std::vector<float>& RopeFreqFactorsFor(const ModelConfig& c, const ModelWeights& w,
                                             int context);

// Opt-in (`--repack`): gives every Q4_0 matrix that the decode MatVec reads
// (the projections and the output; rows a multiple of 8) a repacked copy in
// memory, as llama.cpp's CPU backend does by default. The mmapped rows stay for
// prefill and embedding lookups. Costs the matrices' bytes again in RSS; other
// types are left as they are.
void RepackWeights(ModelWeights* w, int num_threads);

}  // namespace quest
