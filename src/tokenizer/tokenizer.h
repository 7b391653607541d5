// Text <-> token ids for a GGUF vocabulary: special-token matching, then
// SentencePiece BPE (spm_tokenizer.cc) or byte-level BPE (bpe_tokenizer.cc).
// A Tokenizer is immutable after Create, cheap to copy, and safe to share
// between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/tokenizer/vocab.h"
#include "src/util/check.h"

namespace quest {

class Tokenizer {
 public:
  // Validates `vocab` and builds the lookup tables (about 0.1 s for 262k
  // tokens). Errors name the field: scores missing for SPM, merges missing or
  // naming no token for BPE, an unknown pre-tokenizer, ids out of range.
  static Result<Tokenizer> Create(Vocab vocab);

  // Token ids of `text` (any bytes; invalid UTF-8 is encoded through byte
  // tokens or unk, never rejected).
  //  add_special:   prepend bos / append eos as the vocabulary's add_bos/add_eos say.
  //  parse_special: also match control tokens written in the text
  //                 ("<start_of_turn>", "<|im_start|>"); user-defined tokens
  //                 ("\n\n", "<table>") are matched either way, as llama.cpp does.
  // Matching is leftmost-longest (HF tokenizers' added-token rule).
  std::vector<int32_t> Encode(std::string_view text, bool add_special, bool parse_special) const;

  // The concatenated pieces of `ids`; control tokens render as their text (so
  // Decode(Encode(s, false, true)) == s), ids out of range render as nothing.
  std::string Decode(const std::vector<int32_t>& ids) const;
  // The bytes one token stands for (may be a partial UTF-8 character).
  std::string TokenToPiece(int32_t id) const;

  int32_t bos() const;
  int32_t eos() const;
  int32_t eot() const;
  // eos, eot and the other end markers the vocabulary has (<|endoftext|>, <eos>, ...).
  bool IsEndOfGeneration(int32_t id) const;
  size_t vocab_size() const;
  const Vocab& vocab() const;
  // The id of a token by its exact text, or -1.
  int32_t TokenId(std::string_view text) const;

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace quest
