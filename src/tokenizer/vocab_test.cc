// LoadVocab on small generated GGUF files: the fields it reads, defaults, and
// named errors for missing or malformed tokenizer keys.
#include "src/tokenizer/vocab.h"

#include <gtest/gtest.h>

#include "src/gguf/gguf.h"
#include "src/gguf/gguf_writer.h"

namespace quest {
namespace {

// Keeps the bytes alive with the parsed file.
struct Loaded {
  std::vector<uint8_t> bytes;
  Result<Vocab> vocab = Status::Error("not loaded");
};

Loaded Load(const GgufWriter& w) {
  Loaded l;
  l.bytes = w.Serialize();
  Result<GgufFile> f = GgufFile::FromMemory(l.bytes.data(), l.bytes.size(), "test.gguf");
  EXPECT_TRUE(f.ok()) << f.status().message();
  if (f.ok()) l.vocab = LoadVocab(*f);
  return l;
}

GgufWriter SpmWriter() {
  GgufWriter w;
  w.SetString("tokenizer.ggml.model", "llama");
  w.SetStringArray("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a"});
  w.SetF32Array("tokenizer.ggml.scores", {0, 0, 0, -1});
  w.SetI32Array("tokenizer.ggml.token_type", {2, 3, 3, 1});
  w.SetU32("tokenizer.ggml.bos_token_id", 1);
  w.SetU32("tokenizer.ggml.eos_token_id", 2);
  return w;
}

GgufWriter BpeWriter() {
  GgufWriter w;
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetString("tokenizer.ggml.pre", "smollm");
  w.SetStringArray("tokenizer.ggml.tokens", {"<|im_end|>", "a", "b", "ab"});
  w.SetI32Array("tokenizer.ggml.token_type", {3, 1, 1, 1});
  w.SetStringArray("tokenizer.ggml.merges", {"a b"});
  w.SetU32("tokenizer.ggml.eos_token_id", 0);
  w.SetBool("tokenizer.ggml.add_bos_token", false);
  return w;
}

void ExpectError(const GgufWriter& w, const std::string& needle) {
  Loaded l = Load(w);
  ASSERT_FALSE(l.vocab.ok());
  EXPECT_NE(l.vocab.status().message().find(needle), std::string::npos)
      << l.vocab.status().message();
}

TEST(LoadVocab, Spm) {
  Loaded l = Load(SpmWriter());
  ASSERT_TRUE(l.vocab.ok()) << l.vocab.status().message();
  const Vocab& v = *l.vocab;
  EXPECT_EQ(v.kind, VocabKind::kSpm);
  EXPECT_EQ(v.size(), 4u);
  EXPECT_EQ(v.bos, 1);
  EXPECT_EQ(v.eos, 2);
  EXPECT_EQ(v.types[0], TokenType::kUnknown);
  EXPECT_TRUE(v.add_bos);           // SentencePiece default
  EXPECT_TRUE(v.add_space_prefix);  // SentencePiece default
  EXPECT_FALSE(v.add_eos);
}

TEST(LoadVocab, Bpe) {
  Loaded l = Load(BpeWriter());
  ASSERT_TRUE(l.vocab.ok()) << l.vocab.status().message();
  const Vocab& v = *l.vocab;
  EXPECT_EQ(v.kind, VocabKind::kBpe);
  EXPECT_EQ(v.pre, "smollm");
  ASSERT_EQ(v.merges.size(), 1u);
  EXPECT_EQ(v.merges[0], (std::pair<std::string, std::string>{"a", "b"}));
  EXPECT_FALSE(v.add_bos);
  EXPECT_EQ(v.eot, 0);  // found by its text
}

TEST(LoadVocab, NamedErrors) {
  GgufWriter no_scores = SpmWriter();
  no_scores.SetF32Array("tokenizer.ggml.scores", {0, 0});
  ExpectError(no_scores, "tokenizer.ggml.scores");

  GgufWriter no_merges;
  no_merges.SetString("tokenizer.ggml.model", "gpt2");
  no_merges.SetStringArray("tokenizer.ggml.tokens", {"a"});
  ExpectError(no_merges, "tokenizer.ggml.merges");

  GgufWriter bad_merge = BpeWriter();
  bad_merge.SetStringArray("tokenizer.ggml.merges", {"a b", "ab"});
  ExpectError(bad_merge, "tokenizer.ggml.merges[1]");

  GgufWriter model = SpmWriter();
  model.SetString("tokenizer.ggml.model", "wordpiece");
  ExpectError(model, "wordpiece");

  GgufWriter no_model;
  no_model.SetStringArray("tokenizer.ggml.tokens", {"a"});
  ExpectError(no_model, "tokenizer.ggml.model");

  GgufWriter no_tokens;
  no_tokens.SetString("tokenizer.ggml.model", "llama");
  ExpectError(no_tokens, "tokenizer.ggml.tokens");

  GgufWriter bos = SpmWriter();
  bos.SetU32("tokenizer.ggml.bos_token_id", 7);
  ExpectError(bos, "tokenizer.ggml.bos_token_id: token id 7");

  GgufWriter types = SpmWriter();
  types.SetI32Array("tokenizer.ggml.token_type", {1, 1, 1, 42});
  ExpectError(types, "token_type[3]");

  GgufWriter wrong_type = SpmWriter();
  wrong_type.SetString("tokenizer.ggml.tokens", "a");
  ExpectError(wrong_type, "tokenizer.ggml.tokens");
}

}  // namespace
}  // namespace quest
