// Valid synthetic vocabularies for `quest make-model`, in the three GGUF
// tokenizer shapes the presets' families use: Llama 3 byte-level BPE, Qwen 2
// byte-level BPE (its own special tokens) and Llama 2 / Mistral SentencePiece,
// with Phi-3's chat tokens on top for Phi-3.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace quest {

enum class SyntheticVocab { kLlama3Bpe, kQwen2Bpe, kSentencePiece, kPhi3SentencePiece };

struct TokenizerData {
  std::vector<std::string> tokens;
  std::vector<float> scores;   // SentencePiece only
  std::vector<int32_t> types;  // 1 normal, 2 unknown, 3 control, 6 byte
  std::vector<std::string> merges;  // BPE only
  int bos = -1, eos = -1, unknown = -1;
  bool add_bos = true;
};

// `vocab` tokens in all, the special ones included.
TokenizerData MakeVocab(SyntheticVocab kind, int vocab);

}  // namespace quest
