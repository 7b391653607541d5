// Splits text into the pieces a byte-level BPE merges within, by the regex
// sequence that tokenizer.ggml.pre names (PCRE2, UTF-8 + Unicode properties).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/util/check.h"

namespace quest {

class PreTokenizer {
 public:
  // `pre` is a tokenizer.ggml.pre value: "gpt2"/"default", "smollm" (and the
  // other vocabularies that isolate each digit first: "starcoder", "refact",
  // "codeshell", ...), "llama3"/"llama-bpe", "qwen2". Unknown -> error naming it.
  static Result<PreTokenizer> Create(std::string_view pre);

  // Pieces of `text` in order; together they are exactly `text`. Each regex of
  // the sequence splits every piece of the previous one, keeping the text
  // between matches as pieces too (HF "isolated" behaviour). Invalid UTF-8 is
  // allowed: its bytes never match and end up in pieces of their own.
  std::vector<std::string_view> Split(std::string_view text) const;

  // The regex sequence, for messages and tests.
  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  struct Regex;  // compiled PCRE2 code + JIT
  PreTokenizer() = default;
  std::vector<std::string> patterns_;
  std::vector<std::shared_ptr<const Regex>> regexes_;  // parallel to patterns_; immutable, shared
};

}  // namespace quest
