// The vocabulary a tokenizer is built from: token strings, scores, types,
// BPE merges and special ids, as a GGUF file's tokenizer.ggml.* keys give them.
// LoadVocab reads and validates those keys; it knows no algorithm.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "src/util/check.h"

namespace quest {

class GgufFile;

// llama.cpp's token types (tokenizer.ggml.token_type), same values.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,      // <bos>, <|im_start|>: matched in text only when parse_special
  kUserDefined = 4,  // "\n\n", "<table>": always matched whole in text
  kUnused = 5,
  kByte = 6,  // <0xNN> byte fallback
};

enum class VocabKind {
  kSpm,  // tokenizer.ggml.model "llama": SentencePiece BPE by piece score, byte fallback
  kBpe,  // tokenizer.ggml.model "gpt2": byte-level BPE by merge rank
};

struct Vocab {
  VocabKind kind = VocabKind::kSpm;
  std::string pre;  // tokenizer.ggml.pre: names the pre-tokenizer regex (BPE); "" if absent

  std::vector<std::string> tokens;  // [n] token text; BPE tokens are in the byte-to-unicode alphabet
  std::vector<float> scores;        // [n] SPM merge priority (higher merges first); empty for BPE
  std::vector<TokenType> types;     // [n]
  // BPE merges in rank order (rank 0 merges first): (left, right) token text.
  std::vector<std::pair<std::string, std::string>> merges;

  // Special ids; -1 when the vocabulary has none.
  int32_t bos = -1;
  int32_t eos = -1;
  int32_t eot = -1;  // end of turn (<end_of_turn>, <|im_end|>); may equal eos
  int32_t pad = -1;
  int32_t unk = -1;
  bool add_bos = false;           // Encode(add_special=true) prepends bos
  bool add_eos = false;           // Encode(add_special=true) appends eos
  bool add_space_prefix = false;  // SPM: a space is prepended to the text

  size_t size() const { return tokens.size(); }
};

// Checks sizes, ids and merges of a vocabulary built by hand or by LoadVocab.
// Messages name the field and the offending value.
Status ValidateVocab(const Vocab& vocab);

// Reads tokenizer.ggml.* from `gguf`. Errors name the key: a missing token
// list, scores (SPM) or merges (BPE), an unknown model or an id out of range.
Result<Vocab> LoadVocab(const GgufFile& gguf);

}  // namespace quest
