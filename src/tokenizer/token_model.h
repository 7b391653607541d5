// The interface the two tokenization algorithms implement (SPM and byte-level
// BPE), with the shared token-text index. Internal to src/tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "src/tokenizer/vocab.h"
#include "src/util/check.h"

namespace quest {

// Token text -> id. Views point into Vocab::tokens, which outlives the index.
using TokenIndex = std::unordered_map<std::string_view, int32_t>;

class TokenModel {
 public:
  virtual ~TokenModel() = default;
  // Appends the ids of `text`, a fragment that holds no special token.
  // `first` is true when the fragment starts the input or follows a special
  // token (where SPM's add_space_prefix applies, as in llama.cpp). Any bytes,
  // valid UTF-8 or not, must be accepted.
  virtual void Encode(std::string_view text, bool first, std::vector<int32_t>* ids) const = 0;
  // The bytes a normal or byte token stands for in decoded text.
  virtual std::string Piece(int32_t id) const = 0;
};

// `vocab` and `index` must outlive the model.
Result<std::unique_ptr<TokenModel>> CreateSpmModel(const Vocab& vocab, const TokenIndex& index);
Result<std::unique_ptr<TokenModel>> CreateBpeModel(const Vocab& vocab, const TokenIndex& index);

// Bytes of the UTF-8 character at `text[pos]`: its lead byte's length when
// that many continuation bytes follow, else 1 (an invalid byte stands alone,
// so it never swallows the start of the next character).
inline size_t Utf8CharLength(std::string_view text, size_t pos) {
  const uint8_t c = static_cast<uint8_t>(text[pos]);
  const size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                                  : (c & 0xF8) == 0xF0 ? 4 : 1;
  if (pos + len > text.size()) return 1;
  for (size_t i = 1; i < len; ++i) {
    if ((static_cast<uint8_t>(text[pos + i]) & 0xC0) != 0x80) return 1;
  }
  return len;
}

}  // namespace quest
