// Byte-level BPE over a GGUF "gpt2" vocabulary: the pre-tokenizer cuts the text
// into pieces, each piece's bytes become GPT-2's printable byte characters, and
// adjacent tokens merge lowest-rank-first.
#include <algorithm>
#include <queue>
#include <unordered_map>

#include "src/tokenizer/pre_tokenizer.h"
#include "src/tokenizer/token_model.h"

namespace quest {
namespace {

// Appends code point `cp` (< 0x800 here) as UTF-8.
void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// GPT-2's byte-to-unicode table: printable Latin-1 bytes stand for themselves,
// the other 68 bytes map to U+0100.. in byte order, so every token is text.
std::vector<std::string> ByteToUnicode() {
  std::vector<std::string> table(256);
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    AppendUtf8(printable ? b : next++, &table[b]);
  }
  return table;
}

// The bytes of one UTF-8 character (1-4) packed into a key.
uint32_t PackChar(std::string_view c) {
  uint32_t key = 0;
  for (char b : c) key = (key << 8) | static_cast<uint8_t>(b);
  return key;
}

struct Symbol {
  int32_t prev;
  int32_t next;
  int32_t id;  // token id; -1 when the byte's character is not in the vocabulary
};

struct Candidate {
  int32_t rank;
  int32_t left;
  int32_t left_id;  // ids when queued, to detect staleness
  int32_t right_id;
  bool operator<(const Candidate& o) const {
    // Min-heap on rank; ties go to the leftmost pair.
    if (rank != o.rank) return rank > o.rank;
    return left > o.left;
  }
};

struct Merge {
  int32_t rank;
  int32_t result;  // id of left+right
};

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

class BpeModel final : public TokenModel {
 public:
  BpeModel(const Vocab& vocab, PreTokenizer pre) : vocab_(vocab), pre_(std::move(pre)) {}

  Status Init(const TokenIndex& index) {
    const std::vector<std::string> table = ByteToUnicode();
    for (int b = 0; b < 256; ++b) {
      auto it = index.find(table[b]);
      byte_ids_[b] = it != index.end() ? it->second : -1;
      char_to_byte_[PackChar(table[b])] = static_cast<uint8_t>(b);
    }
    merges_.reserve(vocab_.merges.size());
    std::string joined;
    for (size_t i = 0; i < vocab_.merges.size(); ++i) {
      const auto& [left, right] = vocab_.merges[i];
      auto l = index.find(left);
      auto r = index.find(right);
      joined = left + right;
      auto m = index.find(joined);
      const char* missing = l == index.end() ? left.c_str()
                            : r == index.end() ? right.c_str()
                            : m == index.end() ? joined.c_str()
                                               : nullptr;
      if (missing != nullptr) {
        return Status::Error(StrFormat("tokenizer.ggml.merges[%zu] \"%s %s\": \"%s\" is not a token",
                                       i, left.c_str(), right.c_str(), missing));
      }
      // A repeated pair keeps its first (best) rank.
      merges_.emplace(PairKey(l->second, r->second), Merge{static_cast<int32_t>(i), m->second});
    }
    return Status();
  }

  void Encode(std::string_view text, bool first, std::vector<int32_t>* ids) const override {
    std::vector<Symbol> symbols;
    std::priority_queue<Candidate> queue;
    for (std::string_view piece : pre_.Split(text)) {
      if (piece.empty()) continue;
      symbols.clear();
      for (size_t i = 0; i < piece.size(); ++i) {
        const int32_t k = static_cast<int32_t>(i);
        symbols.push_back({k - 1, k + 1, byte_ids_[static_cast<uint8_t>(piece[i])]});
      }
      symbols.back().next = -1;
      auto try_add = [&](int32_t left, int32_t right) {
        if (left < 0 || right < 0) return;
        const int32_t a = symbols[left].id;
        const int32_t b = symbols[right].id;
        if (a < 0 || b < 0) return;
        auto it = merges_.find(PairKey(a, b));
        if (it != merges_.end()) queue.push({it->second.rank, left, a, b});
      };
      for (size_t i = 1; i < symbols.size(); ++i) try_add(static_cast<int32_t>(i) - 1, i);
      // O(n log n) per piece: each merge removes a symbol and queues at most two pairs.
      while (!queue.empty()) {
        const Candidate top = queue.top();
        queue.pop();
        Symbol& l = symbols[top.left];
        if (l.id != top.left_id || l.next < 0) continue;  // stale or merged away
        Symbol& r = symbols[l.next];
        if (r.id != top.right_id) continue;
        l.id = merges_.at(PairKey(top.left_id, top.right_id)).result;
        r.id = -2;  // dead
        l.next = r.next;
        if (r.next >= 0) symbols[r.next].prev = top.left;
        try_add(l.prev, top.left);
        try_add(top.left, l.next);
      }
      for (int32_t i = 0; i >= 0; i = symbols[i].next) {
        const int32_t id = symbols[i].id;
        // A byte whose character the vocabulary lacks (SmolLM2 has none for
        // 0xF5..0xFF, which valid UTF-8 never holds) is dropped, as llama.cpp
        // does: an unk there would be <|endoftext|>, an end-of-text marker.
        if (id >= 0) ids->push_back(id);
      }
    }
  }

  std::string Piece(int32_t id) const override {
    // Map each byte character back to its byte; anything else stays as written.
    const std::string& text = vocab_.tokens[id];
    std::string out;
    out.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
      const size_t len = Utf8CharLength(text, pos);
      auto it = char_to_byte_.find(PackChar(std::string_view(text).substr(pos, len)));
      if (it != char_to_byte_.end()) {
        out += static_cast<char>(it->second);
      } else {
        out.append(text, pos, len);
      }
      pos += len;
    }
    return out;
  }

 private:
  const Vocab& vocab_;
  PreTokenizer pre_;
  int32_t byte_ids_[256];                           // id of each byte's character, -1 if absent
  std::unordered_map<uint32_t, uint8_t> char_to_byte_;  // PackChar -> byte (inverse table)
  std::unordered_map<uint64_t, Merge> merges_;      // (left id, right id) -> rank, result
};

}  // namespace

Result<std::unique_ptr<TokenModel>> CreateBpeModel(const Vocab& vocab, const TokenIndex& index) {
  if (vocab.merges.empty()) {
    return Status::Error("tokenizer.ggml.merges: a BPE vocabulary needs merges, found none");
  }
  Result<PreTokenizer> pre = PreTokenizer::Create(vocab.pre.empty() ? "gpt2" : vocab.pre);
  if (!pre.ok()) return pre.status();
  auto model = std::make_unique<BpeModel>(vocab, std::move(*pre));
  QE_RETURN_IF_ERROR(model->Init(index));
  return std::unique_ptr<TokenModel>(std::move(model));
}

}  // namespace quest
