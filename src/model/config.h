// Model hyperparameters read from GGUF metadata, for the architectures quest
// runs: `llama` (Llama 2/3, SmolLM2, Mistral), `qwen2`, `qwen3`, `phi3` and
// `gemma3`.
#pragma once

#include <string>
#include <vector>

#include "src/gguf/gguf.h"
#include "src/model/rope_scaling.h"
#include "src/util/check.h"

namespace quest {

enum class Arch { kLlama, kQwen2, kQwen3, kPhi3, kGemma3 };

// How RoPE pairs the channels of a head: llama GGUFs hold Q/K weights permuted
// for adjacent pairs (2i, 2i+1); Gemma, Qwen and Phi-3 rotate (i, i + head_dim
// / 2) ("NeoX" in llama.cpp).
enum class RopeStyle { kAdjacentPairs, kHalves };

struct ModelConfig {
  Arch arch = Arch::kLlama;
  std::string arch_name;
  int num_layers = 0;
  int d_model = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int d_ff = 0;
  int vocab_size = 0;
  int context_length = 0;
  float rms_eps = 1e-5f;
  RopeStyle rope_style = RopeStyle::kAdjacentPairs;
  int rope_dim = 0;           // channels rotated (head_dim unless the GGUF says less)
  float rope_base = 10000;    // global layers
  float rope_base_local = 0;  // Gemma 3 sliding-window layers (10000)
  float rope_scale = 1;       // linear position scaling (1 / rope.scaling.factor)
  RopeScaling rope_scaling;   // as the file declares it
  // YaRN's per-pair frequency divisors [rope_dim/2] (empty: none); its
  // magnitude scale is folded into attn_scale (q and k each: squared).
  std::vector<float> rope_freq_factors;
  int sliding_window = 0;     // 0: every layer is global
  std::vector<bool> layer_is_local;  // [num_layers] sliding-window layers
  float attn_scale = 0;       // softmax scale applied to q.k
  float embed_scale = 1;      // Gemma multiplies embeddings by sqrt(d_model)
  bool tied_output = false;   // lm head = token embedding
  bool qkv_bias = false;      // Qwen 2: Q, K and V projections carry biases
  bool qk_norm = false;       // Gemma 3, Qwen 3: RMSNorm of each q and k head before RoPE
  bool fused_qkv = false;     // Phi-3: one attn_qkv matrix, one ffn_up of [gate; up]

  // The architectures quest supports, for error messages.
  static const char* SupportedArchitectures() { return "llama, qwen2, qwen3, phi3, gemma3"; }
  static Result<ModelConfig> FromGguf(const GgufFile& gguf);
};

}  // namespace quest
