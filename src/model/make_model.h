// `quest make-model`: writes a GGUF file with the real shape of a known model
// (Llama 3.2 1B, Llama 3.1 8B, Llama 2 7B), random weights and a valid
// tokenizer, with the standard metadata keys, so that long-context speed can be
// measured at shapes no small model has, by quest and by llama.cpp alike.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "src/gguf/ggml_type.h"
#include "src/util/check.h"

namespace quest {

struct ModelPreset {
  const char* name;
  int layers, d_model, heads, kv_heads, d_ff, vocab, context;
  float rope_base;
  float rope_scale_factor;  // llama3 RoPE scaling factor (0: none)
  bool tied_output;
  bool llama3_vocab;  // GPT-2 style BPE (Llama 3) rather than SentencePiece (Llama 2)
};

// Known presets; nullptr if the name is unknown.
const ModelPreset* FindPreset(const std::string& name);
const char* PresetNames();  // "llama3.2-1b, llama3.1-8b, llama2-7b, tiny"

struct MakeModelOptions {
  std::string preset;
  std::string type = "f16";  // f16 | q8_0 | q4_0
  std::string output;
  uint64_t seed = 1;
  int context = 0;  // 0: the preset's context length
};

// Validates the options (names the flag and value), then writes the file.
Status MakeModel(const MakeModelOptions& options, std::ostream& progress);

}  // namespace quest
