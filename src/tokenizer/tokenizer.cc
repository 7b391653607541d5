// Tokenizer: special-token matching (a byte trie, leftmost-longest), dispatch
// of the text between special tokens to the vocabulary's algorithm, decoding.
#include "src/tokenizer/tokenizer.h"

#include <algorithm>

#include "src/tokenizer/token_model.h"

namespace quest {
namespace {

// Byte trie over the special-token texts.
class SpecialTrie {
 public:
  SpecialTrie() : nodes_(1) {}

  void Insert(std::string_view text, int32_t id, bool control) {
    int32_t node = 0;
    for (char c : text) {
      const int32_t child = Child(node, static_cast<uint8_t>(c));
      if (child >= 0) {
        node = child;
      } else {
        nodes_.emplace_back();
        const int32_t added = static_cast<int32_t>(nodes_.size()) - 1;
        nodes_[node].children.emplace_back(static_cast<uint8_t>(c), added);
        node = added;
      }
    }
    if (nodes_[node].token < 0) {  // the first of duplicate texts wins
      nodes_[node].token = id;
      nodes_[node].control = control;
    }
  }

  // The longest allowed special token that starts `text`: {id, length} or {-1, 0}.
  std::pair<int32_t, size_t> LongestPrefix(std::string_view text, bool parse_special) const {
    std::pair<int32_t, size_t> best{-1, 0};
    int32_t node = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      node = Child(node, static_cast<uint8_t>(text[i]));
      if (node < 0) break;
      const Node& n = nodes_[node];
      if (n.token >= 0 && (parse_special || !n.control)) best = {n.token, i + 1};
    }
    return best;
  }

  bool empty() const { return nodes_.size() == 1; }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // (byte, node); few per node
    int32_t token = -1;
    bool control = false;  // matched only when parse_special
  };
  int32_t Child(int32_t node, uint8_t c) const {
    for (const auto& [byte, child] : nodes_[node].children) {
      if (byte == c) return child;
    }
    return -1;
  }
  std::vector<Node> nodes_;
};

bool IsSpecialType(TokenType t) {
  return t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown ||
         t == TokenType::kUnused;
}

}  // namespace

struct Tokenizer::Impl {
  Vocab vocab;
  TokenIndex index;  // views into vocab.tokens
  std::unique_ptr<TokenModel> model;
  SpecialTrie specials;
  std::vector<bool> end_of_generation;  // [vocab size]
};

Result<Tokenizer> Tokenizer::Create(Vocab vocab) {
  QE_RETURN_IF_ERROR(ValidateVocab(vocab));
  auto impl = std::make_shared<Impl>();
  impl->vocab = std::move(vocab);
  const Vocab& v = impl->vocab;
  const size_t n = v.size();

  impl->index.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    // Later duplicates win, as in llama.cpp's and HF's token -> id maps.
    impl->index[v.tokens[i]] = static_cast<int32_t>(i);
  }

  Result<std::unique_ptr<TokenModel>> model =
      v.kind == VocabKind::kSpm ? CreateSpmModel(v, impl->index) : CreateBpeModel(v, impl->index);
  if (!model.ok()) return model.status();
  impl->model = std::move(*model);

  // Control and user-defined tokens are matched whole in the text.
  for (size_t i = 0; i < n; ++i) {
    const TokenType t = v.types[i];
    if ((t == TokenType::kControl || t == TokenType::kUserDefined) && !v.tokens[i].empty()) {
      impl->specials.Insert(v.tokens[i], static_cast<int32_t>(i), t == TokenType::kControl);
    }
  }

  impl->end_of_generation.assign(n, false);
  for (int32_t id : {v.eos, v.eot}) {
    if (id >= 0) impl->end_of_generation[id] = true;
  }
  for (const char* text :
       {"<|endoftext|>", "<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>", "<eos>"}) {
    auto it = impl->index.find(text);
    if (it != impl->index.end() && v.types[it->second] == TokenType::kControl) {
      impl->end_of_generation[it->second] = true;
    }
  }
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  const Impl& impl = *impl_;
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 2);
  if (add_special && impl.vocab.add_bos) ids.push_back(impl.vocab.bos);

  size_t fragment_begin = 0;
  bool first = true;  // the next fragment starts the text or follows a special token
  auto flush = [&](size_t end) {
    if (end > fragment_begin) {
      impl.model->Encode(text.substr(fragment_begin, end - fragment_begin), first, &ids);
      first = false;
    }
  };
  if (!impl.specials.empty()) {
    for (size_t pos = 0; pos < text.size();) {
      const auto [id, len] = impl.specials.LongestPrefix(text.substr(pos), parse_special);
      if (id < 0) {
        ++pos;
        continue;
      }
      flush(pos);
      ids.push_back(id);
      first = true;
      pos += len;
      fragment_begin = pos;
    }
  }
  flush(text.size());

  if (add_special && impl.vocab.add_eos) ids.push_back(impl.vocab.eos);
  return ids;
}

std::string Tokenizer::TokenToPiece(int32_t id) const {
  const Impl& impl = *impl_;
  if (id < 0 || static_cast<size_t>(id) >= impl.vocab.size()) return "";
  if (IsSpecialType(impl.vocab.types[id])) return impl.vocab.tokens[id];
  return impl.model->Piece(id);
}

std::string Tokenizer::Decode(const std::vector<int32_t>& ids) const {
  const Vocab& v = impl_->vocab;
  std::string out;
  // SentencePiece drops the space that add_space_prefix put before the first word.
  bool strip_space = v.kind == VocabKind::kSpm && v.add_space_prefix;
  for (int32_t id : ids) {
    std::string piece = TokenToPiece(id);
    if (strip_space && id >= 0 && static_cast<size_t>(id) < v.size() &&
        !IsSpecialType(v.types[id])) {
      if (!piece.empty() && piece[0] == ' ') piece.erase(0, 1);
      strip_space = false;
    }
    out += piece;
  }
  return out;
}

int32_t Tokenizer::bos() const { return impl_->vocab.bos; }
int32_t Tokenizer::eos() const { return impl_->vocab.eos; }
int32_t Tokenizer::eot() const { return impl_->vocab.eot; }
size_t Tokenizer::vocab_size() const { return impl_->vocab.size(); }
const Vocab& Tokenizer::vocab() const { return impl_->vocab; }

bool Tokenizer::IsEndOfGeneration(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->end_of_generation.size() &&
         impl_->end_of_generation[id];
}

int32_t Tokenizer::TokenId(std::string_view text) const {
  auto it = impl_->index.find(text);
  return it != impl_->index.end() ? it->second : -1;
}

}  // namespace quest
