// Vocabulary validation and loading from GGUF tokenizer.ggml.* metadata.
#include "src/tokenizer/vocab.h"

#include <cstring>

#include "src/gguf/gguf.h"

namespace quest {
namespace {

constexpr size_t kMaxVocab = size_t{1} << 24;  // far above any real vocabulary (262144)

// Reads an optional token id; absent keys leave `*id` unchanged.
Status ReadId(const GgufFile& gguf, const char* key, size_t n, int32_t* id) {
  if (!gguf.Has(key)) return Status();
  Result<int64_t> v = gguf.GetInt(key);
  if (!v.ok()) return v.status();
  // Some converters write -1 (as u32 0xFFFFFFFF) for "none".
  if (*v == -1 || *v == 0xFFFFFFFFll) {
    *id = -1;
    return Status();
  }
  if (*v < 0 || static_cast<uint64_t>(*v) >= n) {
    return Status::Error(StrFormat("%s: token id %lld is out of range [0, %zu)", key,
                                   static_cast<long long>(*v), n));
  }
  *id = static_cast<int32_t>(*v);
  return Status();
}

Status ReadFlag(const GgufFile& gguf, const char* key, bool* flag) {
  if (!gguf.Has(key)) return Status();
  Result<bool> v = gguf.GetBool(key);
  if (!v.ok()) return v.status();
  *flag = *v;
  return Status();
}

// The first token whose text is one of `names`, or -1.
int32_t FindFirst(const std::vector<std::string>& tokens, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i] == name) return static_cast<int32_t>(i);
    }
  }
  return -1;
}

}  // namespace

Status ValidateVocab(const Vocab& vocab) {
  const size_t n = vocab.tokens.size();
  if (n == 0) return Status::Error("tokenizer.ggml.tokens: the vocabulary is empty");
  if (n > kMaxVocab) {
    return Status::Error(StrFormat("tokenizer.ggml.tokens: %zu tokens exceed the limit %zu", n,
                                   kMaxVocab));
  }
  if (vocab.types.size() != n) {
    return Status::Error(StrFormat("tokenizer.ggml.token_type: %zu entries for %zu tokens",
                                   vocab.types.size(), n));
  }
  for (size_t i = 0; i < n; ++i) {
    const int32_t t = static_cast<int32_t>(vocab.types[i]);
    if (t < 0 || t > static_cast<int32_t>(TokenType::kByte)) {
      return Status::Error(
          StrFormat("tokenizer.ggml.token_type[%zu]: unknown token type %d", i, t));
    }
  }
  if (vocab.kind == VocabKind::kSpm) {
    if (vocab.scores.size() != n) {
      return Status::Error(StrFormat(
          "tokenizer.ggml.scores: %zu scores for %zu tokens (a SentencePiece vocabulary needs one "
          "per token)",
          vocab.scores.size(), n));
    }
  } else if (vocab.merges.empty()) {
    return Status::Error("tokenizer.ggml.merges: a BPE vocabulary needs merges, found none");
  }
  const std::pair<const char*, int32_t> ids[] = {
      {"bos", vocab.bos}, {"eos", vocab.eos}, {"eot", vocab.eot},
      {"pad", vocab.pad}, {"unk", vocab.unk}};
  for (const auto& [name, id] : ids) {
    if (id < -1 || id >= static_cast<int64_t>(n)) {
      return Status::Error(
          StrFormat("%s token id %d is out of range [0, %zu)", name, static_cast<int>(id), n));
    }
  }
  if (vocab.add_bos && vocab.bos < 0) {
    return Status::Error("tokenizer.ggml.add_bos_token is true but there is no bos token id");
  }
  if (vocab.add_eos && vocab.eos < 0) {
    return Status::Error("tokenizer.ggml.add_eos_token is true but there is no eos token id");
  }
  return Status();
}

Result<Vocab> LoadVocab(const GgufFile& gguf) {
  Vocab vocab;
  Result<std::string> model = gguf.GetString("tokenizer.ggml.model");
  if (!model.ok()) return model.status();
  if (*model == "llama") {
    vocab.kind = VocabKind::kSpm;
  } else if (*model == "gpt2") {
    vocab.kind = VocabKind::kBpe;
  } else {
    return Status::Error(StrFormat(
        "tokenizer.ggml.model: unsupported tokenizer model \"%s\" (supported: llama, gpt2)",
        model->c_str()));
  }
  if (gguf.Has("tokenizer.ggml.pre")) {
    Result<std::string> pre = gguf.GetString("tokenizer.ggml.pre");
    if (!pre.ok()) return pre.status();
    vocab.pre = std::move(*pre);
  }

  Result<const std::vector<std::string>*> tokens = gguf.GetStringArray("tokenizer.ggml.tokens");
  if (!tokens.ok()) return tokens.status();
  vocab.tokens = **tokens;
  const size_t n = vocab.tokens.size();

  if (gguf.Has("tokenizer.ggml.token_type")) {
    Result<std::vector<int32_t>> types = gguf.GetI32Array("tokenizer.ggml.token_type");
    if (!types.ok()) return types.status();
    vocab.types.resize(types->size());
    std::memcpy(vocab.types.data(), types->data(), types->size() * sizeof(int32_t));
  } else {
    vocab.types.assign(n, TokenType::kNormal);  // as llama.cpp does for old files
  }

  if (gguf.Has("tokenizer.ggml.scores")) {
    Result<std::vector<float>> scores = gguf.GetF32Array("tokenizer.ggml.scores");
    if (!scores.ok()) return scores.status();
    vocab.scores = std::move(*scores);
  }

  if (vocab.kind == VocabKind::kBpe) {
    if (!gguf.Has("tokenizer.ggml.merges")) {
      return Status::Error("tokenizer.ggml.merges: missing (a gpt2 tokenizer needs its merges)");
    }
    Result<const std::vector<std::string>*> merges = gguf.GetStringArray("tokenizer.ggml.merges");
    if (!merges.ok()) return merges.status();
    vocab.merges.reserve((*merges)->size());
    for (size_t i = 0; i < (*merges)->size(); ++i) {
      const std::string& m = (**merges)[i];
      // Split at the first space after the first byte, as llama.cpp does.
      const size_t space = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
      if (space == std::string::npos || space + 1 >= m.size()) {
        return Status::Error(StrFormat("tokenizer.ggml.merges[%zu]: \"%s\" is not \"left right\"",
                                       i, m.substr(0, 64).c_str()));
      }
      vocab.merges.emplace_back(m.substr(0, space), m.substr(space + 1));
    }
  }

  QE_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.bos_token_id", n, &vocab.bos));
  QE_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.eos_token_id", n, &vocab.eos));
  QE_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.eot_token_id", n, &vocab.eot));
  QE_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.padding_token_id", n, &vocab.pad));
  QE_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.unknown_token_id", n, &vocab.unk));
  // SentencePiece vocabularies add BOS unless told otherwise (llama.cpp's default).
  vocab.add_bos = vocab.kind == VocabKind::kSpm;
  vocab.add_space_prefix = vocab.kind == VocabKind::kSpm;
  QE_RETURN_IF_ERROR(ReadFlag(gguf, "tokenizer.ggml.add_bos_token", &vocab.add_bos));
  QE_RETURN_IF_ERROR(ReadFlag(gguf, "tokenizer.ggml.add_eos_token", &vocab.add_eos));
  QE_RETURN_IF_ERROR(ReadFlag(gguf, "tokenizer.ggml.add_space_prefix", &vocab.add_space_prefix));
  if (vocab.eot < 0) {
    // No key: find the end-of-turn marker by its text, as llama.cpp does.
    vocab.eot = FindFirst(vocab.tokens, {"<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|end|>"});
  }

  QE_RETURN_IF_ERROR(ValidateVocab(vocab));
  return vocab;
}

}  // namespace quest
