// The prompt builder's pieces: RNG determinism and range, piece encoding with
// and without a space prefix, word splitting and occurrence counting.
#include "src/eval/prompt_builder.h"

#include <gtest/gtest.h>

#include "src/eval/test_util.h"

namespace quest::eval {
namespace {

TEST(Rng, DeterministicAndInRange) {
  Rng a(5), b(5), c(6);
  std::vector<int64_t> xa, xb, xc;
  for (int i = 0; i < 1000; ++i) {
    xa.push_back(a.Uniform(1, 6));
    xb.push_back(b.Uniform(1, 6));
    xc.push_back(c.Uniform(1, 6));
  }
  EXPECT_EQ(xa, xb);
  EXPECT_NE(xa, xc);
  std::vector<int> hist(7, 0);
  for (int64_t x : xa) {
    ASSERT_GE(x, 1);
    ASSERT_LE(x, 6);
    ++hist[x];
  }
  for (int v = 1; v <= 6; ++v) EXPECT_GT(hist[v], 100);
  EXPECT_EQ(Rng(1).Next(), Rng(1).Next());
  const double d = a.UniformDouble();
  EXPECT_GE(d, 0);
  EXPECT_LT(d, 1);
  EXPECT_NE(TaskSeed("passkey", 1), TaskSeed("vt", 1));
}

TEST(PieceEncoder, FirstPieceAndSpacePrefix) {
  for (bool prefix : {false, true}) {
    const Tokenizer tok = test_util::MakeTokenizer(true, prefix);
    PieceEncoder enc(tok);
    std::vector<int32_t> ids = enc.Bos();
    for (const std::string& s : {std::string(" The grass is green."), std::string(" The sky")}) {
      const auto& t = enc.Encode(s, ids.size() == 1);
      ids.insert(ids.end(), t.begin(), t.end());
    }
    // <s> The grass is green . | The sky; without a space prefix the first "The"
    // has no "\u2581" and falls back to characters.
    EXPECT_EQ(ids.size(), prefix ? 1u + 5u + 2u : 1u + 7u + 2u) << prefix;
    const std::string text = tok.Decode(ids);
    EXPECT_NE(text.find("The grass is green. The sky"), std::string::npos) << text;
    EXPECT_EQ(text.find("  "), std::string::npos) << text;
  }
}

TEST(Text, SplitWordsAndCount) {
  EXPECT_EQ(SplitWords("  a bb\n c "), (std::vector<std::string>{"a", "bb", "c"}));
  EXPECT_TRUE(SplitWords(" \n").empty());
  EXPECT_EQ(CountOccurrences("aaaa", "aa"), 2);
  EXPECT_EQ(CountOccurrences("abc", ""), 0);
  EXPECT_EQ(CountOccurrences("x 123 y 123", "123"), 2);
}

}  // namespace
}  // namespace quest::eval
