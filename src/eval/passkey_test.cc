// MakePasskey: length within one page, the needle once at the asked depth,
// determinism, errors; on word-level and character-level vocabularies.
#include "src/eval/passkey.h"

#include <gtest/gtest.h>

#include "src/eval/prompt_builder.h"
#include "src/eval/test_util.h"

namespace quest::eval {
namespace {

constexpr const char* kDescription =
    "There is an important info hidden inside a lot of irrelevant text. Find it and memorize "
    "them. I will quiz you about the important information there.";

// Decoding drops the leading space under an SPM space prefix; compare without it.
std::string NoLeadingSpace(std::string s) { return s.empty() || s[0] != ' ' ? s : s.substr(1); }

void CheckPasskey(const Tokenizer& tok, int length, double depth, uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << "length " << length << " depth " << depth);
  Result<Prompt> p = MakePasskey(tok, length, depth, seed);
  ASSERT_TRUE(p.ok()) << p.status().message();
  const int64_t total = static_cast<int64_t>(p->context.size() + p->question.size());
  EXPECT_LE(total, length);
  EXPECT_GE(total, length - kLengthSlack);
  ASSERT_EQ(p->expected.size(), 1u);
  const std::string key = p->expected[0];
  const int n = std::stoi(key);
  EXPECT_GE(n, 1);
  EXPECT_LE(n, 50000);
  EXPECT_EQ(p->context[0], tok.bos());
  EXPECT_GE(p->question.size(), 1u);
  EXPECT_EQ(NoLeadingSpace(tok.Decode(p->question)), "What is the pass key? The pass key is");

  const std::string text = tok.Decode(p->context);
  const std::string needle =
      "The pass key is " + key + ". Remember it. " + key + " is the pass key.";
  EXPECT_EQ(CountOccurrences(text, needle), 1) << text;
  EXPECT_EQ(CountOccurrences(text, "pass key"), 2);
  EXPECT_EQ(CountOccurrences(text, key), 2);  // no digits anywhere else

  // The needle starts at needle_token.
  ASSERT_GT(p->needle_token, 0);
  const std::vector<int32_t> tail(p->context.begin() + p->needle_token, p->context.end());
  EXPECT_EQ(NoLeadingSpace(tok.Decode(tail)).find("The pass key is " + key), 0u);

  // Depth in the filler's tokens, within one filler unit (5 sentences).
  PieceEncoder enc(tok);
  const int64_t start = 1 + static_cast<int64_t>(enc.Count(kDescription, true));
  const int64_t needle_len = static_cast<int64_t>(enc.Count(" " + needle));
  const int64_t filler = static_cast<int64_t>(p->context.size()) - start - needle_len;
  int64_t unit = 0;
  for (const std::string& s : NoiseSentences()) unit += static_cast<int64_t>(enc.Count(s));
  ASSERT_GE(filler, 0);
  if (filler > 0) {
    const double at = static_cast<double>(p->needle_token - start) / static_cast<double>(filler);
    EXPECT_NEAR(at, depth, static_cast<double>(unit) / static_cast<double>(filler));
  } else {
    EXPECT_EQ(p->needle_token, start);
  }
}

TEST(Passkey, LengthNeedleAndDepthOnWordVocab) {
  const Tokenizer tok = test_util::MakeTokenizer(/*word_pieces=*/true, /*add_space_prefix=*/false);
  // 69 tokens hold description, needle and question with this vocabulary.
  for (int length : {72, 100, 128, 512, 1000, 2048, 4096, 8192}) {
    for (double depth : {0.0, 0.25, 0.5, 1.0}) CheckPasskey(tok, length, depth, 7);
  }
}

TEST(Passkey, SpacePrefixVocab) {
  const Tokenizer tok = test_util::MakeTokenizer(true, /*add_space_prefix=*/true);
  for (int length : {80, 512, 4096}) {
    for (double depth : {0.0, 0.5, 1.0}) CheckPasskey(tok, length, depth, 11);
  }
}

TEST(Passkey, CharacterVocab) {
  // One token per character: sentences are longer than a page, so the tail is
  // filled word by word.
  const Tokenizer tok = test_util::MakeTokenizer(/*word_pieces=*/false, false);
  for (int length : {512, 777, 4096, 8192}) {
    for (double depth : {0.0, 0.5, 1.0}) CheckPasskey(tok, length, depth, 3);
  }
}

TEST(Passkey, DeterministicGivenSeed) {
  const Tokenizer tok = test_util::MakeTokenizer(true, false);
  Result<Prompt> a = MakePasskey(tok, 1024, 0.3, 42);
  Result<Prompt> b = MakePasskey(tok, 1024, 0.3, 42);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->context, b->context);
  EXPECT_EQ(a->question, b->question);
  EXPECT_EQ(a->expected, b->expected);
  EXPECT_EQ(a->needle_token, b->needle_token);
  std::set<std::string> keys;
  for (uint64_t seed = 0; seed < 20; ++seed)
    keys.insert(MakePasskey(tok, 256, 0.5, seed)->expected[0]);
  EXPECT_GE(keys.size(), 18u);
}

TEST(Passkey, Errors) {
  const Tokenizer tok = test_util::MakeTokenizer(true, false);
  Result<Prompt> small = MakePasskey(tok, 64, 0.5, 1);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find("too small"), std::string::npos)
      << small.status().message();
  EXPECT_FALSE(MakePasskey(tok, 512, 1.5, 1).ok());
  EXPECT_FALSE(MakePasskey(tok, 512, -0.1, 1).ok());
}

}  // namespace
}  // namespace quest::eval
