// `quest make-model`: writes a GGUF file with the real shape of a known model
// (Llama 2/3, Qwen 2.5/3, Mistral, Phi-3 4K and 128K), random weights and a valid
// tokenizer, with the standard metadata keys, so that long-context speed can be
// measured at shapes no small model has, by quest and by llama.cpp alike.
// `--tiny` keeps a preset's architecture, tokenizer kind and RoPE scaling at a
// test size, for goldens that cost seconds.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "src/gguf/ggml_type.h"
#include "src/model/make_model_vocab.h"
#include "src/util/check.h"

namespace quest {

enum class PresetRope { kNone, kLlama3, kYarn, kLongRope };

struct ModelPreset {
  const char* name;
  const char* arch;  // general.architecture
  int layers, d_model, heads, kv_heads;
  int head_dim;  // 0: d_model / heads
  int d_ff, vocab, context;
  float rope_base;
  PresetRope rope;
  float rope_factor;     // llama3 or YaRN factor (LongRoPE: context / original_context)
  int original_context;  // the context the scaled RoPE was trained at
  bool tied_output;
  SyntheticVocab vocab_kind;
  int sliding_window = 0;  // every layer's window (0: none)
};

// Known presets; nullptr if the name is unknown.
const ModelPreset* FindPreset(const std::string& name);
std::string PresetNames();  // "llama3.2-1b, llama3.1-8b, ..."

// The preset at test size: 2 layers, d_model 128, 8 heads (2 KV heads where
// the preset has grouped queries), head_dim 16 (32 where the preset's head_dim
// is not d_model / heads), d_ff 256, vocab 1024, context 1024; RoPE scaling
// kept, with an original context of 256; a sliding window becomes 64. d_model
// is `block` where that is larger (256 for the k-quants, whose blocks would
// not divide 128-value rows), so that every matrix takes the chosen type.
ModelPreset TinyPreset(const ModelPreset& p, int block = 1);

struct MakeModelOptions {
  std::string preset;
  bool tiny = false;
  std::string type = "f16";  // f16 | q8_0 | q4_0 | q4_k | q4_k_m (weight_types.h)
  std::string output;
  uint64_t seed = 1;
  int context = 0;  // 0: the preset's context length
};

// Validates the options (names the flag and value), then writes the file.
Status MakeModel(const MakeModelOptions& options, std::ostream& progress);

}  // namespace quest
