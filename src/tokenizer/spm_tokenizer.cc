// SentencePiece-style BPE over a GGUF "llama" vocabulary: spaces become U+2581,
// adjacent pieces merge best-score-first while the merged text is a token, and
// what remains outside the vocabulary falls back to <0xNN> byte tokens.
#include <algorithm>
#include <cstdio>
#include <queue>

#include "src/tokenizer/token_model.h"

namespace quest {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK

// "<0xNN>" -> NN, or -1 when `text` is not of that form.
int ParseByteToken(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int value = 0;
  for (char c : text.substr(3, 2)) {
    value *= 16;
    if (c >= '0' && c <= '9') {
      value += c - '0';
    } else if (c >= 'A' && c <= 'F') {
      value += c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      value += c - 'a' + 10;
    } else {
      return -1;
    }
  }
  return value;
}

// A live piece of the text, in a doubly linked list over the symbol array.
struct Symbol {
  int32_t prev;
  int32_t next;
  uint32_t begin;  // byte offset into the escaped text
  uint32_t size;   // bytes; 0 once merged into its left neighbour
};

// A candidate merge of `left` with its right neighbour into a token of
// `score`; stale once either side changed size.
struct Bigram {
  float score;
  int32_t left;
  uint32_t size;  // bytes of the merged text, to detect staleness
  bool operator<(const Bigram& o) const {
    // Max-heap on score; ties go to the leftmost pair (SentencePiece's order).
    if (score != o.score) return score < o.score;
    return left > o.left;
  }
};

class SpmModel final : public TokenModel {
 public:
  SpmModel(const Vocab& vocab, const TokenIndex& index) : vocab_(vocab), index_(index) {
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      auto it = index_.find(name);
      byte_ids_[b] = it != index_.end() ? it->second : -1;
    }
  }

  void Encode(std::string_view raw, bool first, std::vector<int32_t>* ids) const override {
    // Escape spaces (and prepend one when the vocabulary asks for it).
    std::string text;
    text.reserve(raw.size() + raw.size() / 2 + 3);
    if (first && vocab_.add_space_prefix) text += kSpace;
    for (char c : raw) {
      if (c == ' ') {
        text += kSpace;
      } else {
        text += c;
      }
    }
    if (text.empty()) return;

    // One symbol per UTF-8 character (an invalid byte is a character of its own).
    std::vector<Symbol> symbols;
    symbols.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
      const size_t len = Utf8CharLength(text, pos);
      const int32_t i = static_cast<int32_t>(symbols.size());
      symbols.push_back({i - 1, i + 1, static_cast<uint32_t>(pos), static_cast<uint32_t>(len)});
      pos += len;
    }
    symbols.back().next = -1;

    std::priority_queue<Bigram> queue;
    auto try_add = [&](int32_t left, int32_t right) {
      if (left < 0 || right < 0) return;
      const Symbol& l = symbols[left];
      const Symbol& r = symbols[right];
      const std::string_view merged(text.data() + l.begin, l.size + r.size);
      auto it = index_.find(merged);
      if (it == index_.end()) return;
      queue.push({vocab_.scores[it->second], left, l.size + r.size});
    };
    for (size_t i = 1; i < symbols.size(); ++i) try_add(static_cast<int32_t>(i) - 1, i);

    // O(n log n): every merge removes one symbol and adds at most two bigrams.
    while (!queue.empty()) {
      const Bigram top = queue.top();
      queue.pop();
      Symbol& l = symbols[top.left];
      if (l.size == 0 || l.next < 0) continue;
      Symbol& r = symbols[l.next];
      if (l.size + r.size != top.size) continue;  // stale
      l.size += r.size;
      r.size = 0;
      l.next = r.next;
      if (r.next >= 0) symbols[r.next].prev = top.left;
      try_add(l.prev, top.left);
      try_add(top.left, l.next);
    }

    for (int32_t i = 0; i >= 0; i = symbols[i].next) {
      const Symbol& s = symbols[i];
      const std::string_view piece(text.data() + s.begin, s.size);
      auto it = index_.find(piece);
      if (it != index_.end()) {
        ids->push_back(it->second);
        continue;
      }
      // Not a token: one byte token per byte, or unk where the vocabulary lacks it.
      for (char c : piece) {
        const int32_t b = byte_ids_[static_cast<uint8_t>(c)];
        ids->push_back(b >= 0 ? b : vocab_.unk);
      }
    }
    // A vocabulary with neither byte tokens nor unk yields -1 above; drop them.
    if (vocab_.unk < 0) std::erase(*ids, -1);
  }

  std::string Piece(int32_t id) const override {
    const std::string& text = vocab_.tokens[id];
    if (vocab_.types[id] == TokenType::kByte) {
      // "<0xNN>" -> the byte NN.
      const int byte = ParseByteToken(text);
      return byte >= 0 ? std::string(1, static_cast<char>(byte)) : text;
    }
    std::string out;
    out.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
      if (text.compare(pos, kSpace.size(), kSpace) == 0) {
        out += ' ';
        pos += kSpace.size();
      } else {
        out += text[pos++];
      }
    }
    return out;
  }

 private:
  const Vocab& vocab_;
  const TokenIndex& index_;
  int32_t byte_ids_[256];  // <0xNN> token ids, -1 where absent
};

}  // namespace

Result<std::unique_ptr<TokenModel>> CreateSpmModel(const Vocab& vocab, const TokenIndex& index) {
  if (vocab.scores.size() != vocab.tokens.size()) {
    return Status::Error(StrFormat("tokenizer.ggml.scores: %zu scores for %zu tokens",
                                   vocab.scores.size(), vocab.tokens.size()));
  }
  return std::unique_ptr<TokenModel>(new SpmModel(vocab, index));
}

}  // namespace quest
