// Pre-tokenizer regex sequences: GPT-2 splits, SmolLM's isolated digits,
// Unicode classes, invalid UTF-8 and unknown names.
#include "src/tokenizer/pre_tokenizer.h"

#include <gtest/gtest.h>

namespace quest {
namespace {

using Pieces = std::vector<std::string>;

Pieces Split(const PreTokenizer& p, std::string_view text) {
  Pieces out;
  for (std::string_view s : p.Split(text)) out.emplace_back(s);
  return out;
}

PreTokenizer MustCreate(std::string_view name) {
  Result<PreTokenizer> p = PreTokenizer::Create(name);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return std::move(*p);
}

TEST(PreTokenizer, Gpt2) {
  PreTokenizer p = MustCreate("gpt2");
  EXPECT_EQ(Split(p, "Hello world, it's 2024!"),
            (Pieces{"Hello", " world", ",", " it", "'s", " 2024", "!"}));
  // A whitespace run gives its last space to the following word.
  EXPECT_EQ(Split(p, "a   b"), (Pieces{"a", "  ", " b"}));
  // A newline run before a word: \s+(?!\S) takes all but the last, \s+ the last.
  EXPECT_EQ(Split(p, "a\n\nb  "), (Pieces{"a", "\n", "\n", "b", "  "}));
  // \p{L} covers non-Latin letters, including CJK; marks are not letters.
  EXPECT_EQ(Split(p, " héllo 日本語"), (Pieces{" héllo", " 日本語"}));
  EXPECT_TRUE(Split(p, "").empty());
}

TEST(PreTokenizer, SmolLmIsolatesDigits) {
  PreTokenizer p = MustCreate("smollm");
  EXPECT_EQ(Split(p, " 123"), (Pieces{" ", "1", "2", "3"}));
  // Unlike plain GPT-2, the whole space run before a digit stays together.
  EXPECT_EQ(Split(p, "a  1"), (Pieces{"a", "  ", "1"}));
  EXPECT_EQ(Split(p, "x²"), (Pieces{"x", "²"}));
}

// Expected pieces from Python's `regex` module on the same pattern.
TEST(PreTokenizer, Llama3) {
  PreTokenizer p = MustCreate("llama-bpe");
  EXPECT_EQ(Split(p, "Hello world, it's 2024!"),
            (Pieces{"Hello", " world", ",", " it", "'s", " ", "202", "4", "!"}));
  EXPECT_EQ(Split(p, "12345678 apples\n\n  x"),
            (Pieces{"123", "456", "78", " apples", "\n\n", " ", " x"}));
  EXPECT_EQ(Split(p, "I'VE done  it...\r\nOK"),
            (Pieces{"I", "'VE", " done", " ", " it", "...\r\n", "OK"}));
  EXPECT_EQ(Split(p, "ümlaut café 你好"), (Pieces{"ümlaut", " café", " 你好"}));
}

// Expected pieces from Python's `regex` module on Qwen 2's tokenizer.json
// pattern (whose (?i:...) contractions the PCRE2 pattern spells out).
TEST(PreTokenizer, Qwen2SplitsEveryDigit) {
  PreTokenizer p = MustCreate("qwen2");
  EXPECT_EQ(Split(p, "Hello world, it's 2024!"),
            (Pieces{"Hello", " world", ",", " it", "'s", " ", "2", "0", "2", "4", "!"}));
  EXPECT_EQ(Split(p, "12345 apples\n\n  x"),
            (Pieces{"1", "2", "3", "4", "5", " apples", "\n\n", " ", " x"}));
  EXPECT_EQ(Split(p, "I'VE done  it...\r\nOK"),
            (Pieces{"I", "'VE", " done", " ", " it", "...\r\n", "OK"}));
  EXPECT_EQ(Split(p, "ümlaut café 你好 ３４"),
            (Pieces{"ümlaut", " café", " 你好", " ", "３", "４"}));
}

TEST(PreTokenizer, InvalidUtf8IsKeptWhole) {
  PreTokenizer p = MustCreate("smollm");
  for (std::string s : {std::string("ab\xFF" "cd"), std::string("\xC3"), std::string("1\xE2\x96 2"),
                        std::string("\xF0\x9F\x98"), std::string("\x80\x80\x80")}) {
    std::string joined;
    for (std::string_view piece : p.Split(s)) {
      EXPECT_FALSE(piece.empty());
      joined += piece;
    }
    EXPECT_EQ(joined, s);
  }
}

TEST(PreTokenizer, UnknownNameIsNamedError) {
  Result<PreTokenizer> p = PreTokenizer::Create("qwen9");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("tokenizer.ggml.pre"), std::string::npos);
  EXPECT_NE(p.status().message().find("qwen9"), std::string::npos);
}

}  // namespace
}  // namespace quest
