// Tokenizer unit tests on tiny hand-made vocabularies: SPM merge order by
// score, byte fallback, unk, space escaping; BPE merge order by rank; special
// tokens; invalid UTF-8; vocabularies missing their scores or merges.
#include "src/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace quest {
namespace {

struct Entry {
  std::string text;
  float score;
  TokenType type;
};

Vocab MakeVocab(VocabKind kind, const std::vector<Entry>& entries) {
  Vocab v;
  v.kind = kind;
  for (const Entry& e : entries) {
    v.tokens.push_back(e.text);
    v.scores.push_back(e.score);
    v.types.push_back(e.type);
  }
  if (kind == VocabKind::kBpe) v.scores.clear();
  return v;
}

// <unk> <s> </s>, then `pieces` (normal), then the 256 byte tokens if `bytes`.
Vocab SpmVocab(const std::vector<std::pair<std::string, float>>& pieces, bool bytes = true) {
  std::vector<Entry> e = {{"<unk>", 0, TokenType::kUnknown},
                          {"<s>", 0, TokenType::kControl},
                          {"</s>", 0, TokenType::kControl}};
  for (const auto& [text, score] : pieces) e.push_back({text, score, TokenType::kNormal});
  if (bytes) {
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      e.push_back({name, 0, TokenType::kByte});
    }
  }
  Vocab v = MakeVocab(VocabKind::kSpm, e);
  v.unk = 0;
  v.bos = 1;
  v.eos = 2;
  v.add_bos = true;
  return v;
}

Tokenizer MustCreate(Vocab v) {
  Result<Tokenizer> t = Tokenizer::Create(std::move(v));
  EXPECT_TRUE(t.ok()) << t.status().message();
  return std::move(*t);
}

std::vector<std::string> Texts(const Tokenizer& t, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(t.vocab().tokens[id]);
  return out;
}

using Strings = std::vector<std::string>;

TEST(SpmTokenizer, MergesHighestScoreFirst) {
  // "ab" beats "bc": a|b|c -> ab|c.
  Tokenizer t1 = MustCreate(SpmVocab({{"a", -1}, {"b", -1}, {"c", -1}, {"ab", -2}, {"bc", -3}}));
  EXPECT_EQ(Texts(t1, t1.Encode("abc", false, false)), (Strings{"ab", "c"}));
  // "bc" beats "ab": a|bc.
  Tokenizer t2 = MustCreate(SpmVocab({{"a", -1}, {"b", -1}, {"c", -1}, {"ab", -3}, {"bc", -2}}));
  EXPECT_EQ(Texts(t2, t2.Encode("abc", false, false)), (Strings{"a", "bc"}));
  // Equal scores: the leftmost pair merges first.
  Tokenizer t3 = MustCreate(SpmVocab({{"a", -1}, {"aa", -2}}));
  EXPECT_EQ(Texts(t3, t3.Encode("aaa", false, false)), (Strings{"aa", "a"}));
  // A three-piece token forms through an intermediate one.
  Tokenizer t4 = MustCreate(SpmVocab({{"a", -1}, {"b", -1}, {"c", -1}, {"ab", -2}, {"abc", -5}}));
  EXPECT_EQ(Texts(t4, t4.Encode("abcab", false, false)), (Strings{"abc", "ab"}));
}

TEST(SpmTokenizer, SpacesBecomeU2581) {
  const std::string s = "\xE2\x96\x81";
  Tokenizer t = MustCreate(SpmVocab({{"a", -1}, {"b", -1}, {s, -1}, {s + "b", -2}}));
  EXPECT_EQ(Texts(t, t.Encode("a b", false, false)), (Strings{"a", s + "b"}));
  EXPECT_EQ(Texts(t, t.Encode("a  b", false, false)), (Strings{"a", s, s + "b"}));
  EXPECT_EQ(t.Decode(t.Encode("a  b", false, false)), "a  b");
}

TEST(SpmTokenizer, AddSpacePrefix) {
  const std::string s = "\xE2\x96\x81";
  Vocab v = SpmVocab({{"a", -1}, {s, -1}, {s + "a", -2}});
  v.add_space_prefix = true;
  Tokenizer t = MustCreate(std::move(v));
  EXPECT_EQ(Texts(t, t.Encode("a", true, false)), (Strings{"<s>", s + "a"}));
  // The prefix space is dropped again on decode.
  EXPECT_EQ(t.Decode(t.Encode("a a", true, false)), "<s>a a");
}

TEST(SpmTokenizer, ByteFallbackAndUnknown) {
  Tokenizer t = MustCreate(SpmVocab({{"a", -1}}));
  // U+00E9 is not a piece: its two UTF-8 bytes become byte tokens.
  EXPECT_EQ(Texts(t, t.Encode("a\xC3\xA9", false, false)), (Strings{"a", "<0xC3>", "<0xA9>"}));
  EXPECT_EQ(t.Decode(t.Encode("a\xC3\xA9", false, false)), "a\xC3\xA9");
  // Without byte tokens, unknown characters become <unk>.
  Tokenizer nobytes = MustCreate(SpmVocab({{"a", -1}}, /*bytes=*/false));
  EXPECT_EQ(Texts(nobytes, nobytes.Encode("a\xC3\xA9", false, false)), (Strings{"a", "<unk>", "<unk>"}));
}

TEST(SpmTokenizer, InvalidUtf8DoesNotCrashAndRoundTrips) {
  Tokenizer t = MustCreate(SpmVocab({{"a", -1}, {"\xE2\x96\x81", -1}}));
  for (std::string s : {std::string("\xFF\xFE"), std::string("a\xC3"), std::string("\xE2\x96"),
                        std::string("\x80\x80 a"), std::string("\0a", 2)}) {
    EXPECT_EQ(t.Decode(t.Encode(s, false, false)), s);
  }
}

TEST(SpmTokenizer, SpecialTokens) {
  Vocab v = SpmVocab({{"a", -1}, {"<", -1}, {">", -1}, {"s", -1}});
  v.tokens.push_back("<tab>");
  v.scores.push_back(0);
  v.types.push_back(TokenType::kUserDefined);
  Tokenizer t = MustCreate(std::move(v));
  // Control tokens only with parse_special; user-defined ones always.
  EXPECT_EQ(Texts(t, t.Encode("a<s>a", false, true)), (Strings{"a", "<s>", "a"}));
  EXPECT_EQ(Texts(t, t.Encode("a<s>a", false, false)), (Strings{"a", "<", "s", ">", "a"}));
  EXPECT_EQ(Texts(t, t.Encode("<tab>a", false, false)), (Strings{"<tab>", "a"}));
  // Leftmost-longest: "</s>" wins over "<s" prefixes.
  EXPECT_EQ(Texts(t, t.Encode("</s><s>", false, true)), (Strings{"</s>", "<s>"}));
  // add_special follows add_bos / add_eos.
  EXPECT_EQ(Texts(t, t.Encode("a", true, false)), (Strings{"<s>", "a"}));
  EXPECT_EQ(t.Decode(t.Encode("a<s>a</s>", false, true)), "a<s>a</s>");
  EXPECT_TRUE(t.Encode("", false, false).empty());
  EXPECT_EQ(t.Encode("", true, false), (std::vector<int32_t>{1}));
}

TEST(SpmTokenizer, EndOfGeneration) {
  Vocab v = SpmVocab({{"a", -1}});
  v.tokens.push_back("<end_of_turn>");
  v.scores.push_back(0);
  v.types.push_back(TokenType::kControl);
  Tokenizer t = MustCreate(std::move(v));
  EXPECT_TRUE(t.IsEndOfGeneration(2));  // eos
  EXPECT_TRUE(t.IsEndOfGeneration(t.TokenId("<end_of_turn>")));
  EXPECT_FALSE(t.IsEndOfGeneration(1));
  EXPECT_FALSE(t.IsEndOfGeneration(-5));
  EXPECT_FALSE(t.IsEndOfGeneration(1 << 20));
  EXPECT_EQ(t.TokenToPiece(-1), "");
}

TEST(SpmTokenizer, MissingScoresIsNamedError) {
  Vocab v = SpmVocab({{"a", -1}});
  v.scores.pop_back();
  Result<Tokenizer> t = Tokenizer::Create(std::move(v));
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("tokenizer.ggml.scores"), std::string::npos)
      << t.status().message();
}

// A byte-level BPE vocabulary over printable ASCII and U+0120 (the space byte).
Vocab BpeVocab(const std::vector<std::string>& merges, const std::vector<std::string>& extra) {
  std::vector<Entry> e = {{"<|endoftext|>", 0, TokenType::kControl}};
  for (char c = '!'; c <= '~'; ++c) e.push_back({std::string(1, c), 0, TokenType::kNormal});
  e.push_back({"\xC4\xA0", 0, TokenType::kNormal});  // U+0120 = byte 0x20
  for (const std::string& x : extra) e.push_back({x, 0, TokenType::kNormal});
  Vocab v = MakeVocab(VocabKind::kBpe, e);
  v.pre = "gpt2";
  v.eos = 0;
  v.bos = 0;
  for (const std::string& m : merges) {
    const size_t sp = m.find(' ');
    v.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
  }
  return v;
}

TEST(BpeTokenizer, MergesLowestRankFirst) {
  Tokenizer t1 = MustCreate(BpeVocab({"a b", "b c"}, {"ab", "bc"}));
  EXPECT_EQ(Texts(t1, t1.Encode("abc", false, false)), (Strings{"ab", "c"}));
  Tokenizer t2 = MustCreate(BpeVocab({"b c", "a b"}, {"ab", "bc"}));
  EXPECT_EQ(Texts(t2, t2.Encode("abc", false, false)), (Strings{"a", "bc"}));
  // Merges apply within pre-tokenizer pieces only: " b" is its own piece.
  Tokenizer t3 = MustCreate(BpeVocab({"\xC4\xA0 b", "a b"}, {"\xC4\xA0" "b", "ab"}));
  EXPECT_EQ(Texts(t3, t3.Encode("a b ab", false, false)),
            (Strings{"a", "\xC4\xA0" "b", "\xC4\xA0", "ab"}));
  EXPECT_EQ(t3.Decode(t3.Encode("a b ab", false, false)), "a b ab");
}

// 200k repeated letters in one piece merge whole (the merge loop is a heap,
// O(n log n); its speed is a benchmark's concern, not a unit test's).
TEST(BpeTokenizer, LongWordMergesWhole) {
  Tokenizer t = MustCreate(BpeVocab({"a a", "aa aa"}, {"aa", "aaaa"}));
  const std::string s(200000, 'a');
  const std::vector<int32_t> ids = t.Encode(s, false, false);
  EXPECT_EQ(ids.size(), 50000u);
  EXPECT_EQ(t.Decode(ids), s);
}

TEST(BpeTokenizer, UnknownBytesAndInvalidUtf8) {
  Vocab v = BpeVocab({"a b"}, {"ab"});
  v.unk = 0;
  Tokenizer t = MustCreate(std::move(v));
  // Bytes whose characters the vocabulary lacks (here all of 0x80..0xFF) are dropped.
  EXPECT_EQ(t.Encode("\xFF" "ab", false, false), (std::vector<int32_t>{t.TokenId("ab")}));
  for (std::string s : {std::string("\xC3"), std::string("a\xE2\x96 b"), std::string("\xF0\x9F")}) {
    for (int32_t id : t.Encode(s, false, false)) EXPECT_GE(id, 0);
  }
}

TEST(BpeTokenizer, SpecialTokens) {
  Tokenizer t = MustCreate(BpeVocab({"a b"}, {"ab"}));
  EXPECT_EQ(Texts(t, t.Encode("ab<|endoftext|>ab", false, true)),
            (Strings{"ab", "<|endoftext|>", "ab"}));
  EXPECT_EQ(t.Encode("<|endoftext|>", false, false).size(), 13u);  // one token per character
}

TEST(BpeTokenizer, BadMergesAreNamedErrors) {
  Vocab none = BpeVocab({}, {});
  Result<Tokenizer> t1 = Tokenizer::Create(std::move(none));
  ASSERT_FALSE(t1.ok());
  EXPECT_NE(t1.status().message().find("tokenizer.ggml.merges"), std::string::npos);

  Vocab missing = BpeVocab({"a b", "x y"}, {"ab"});  // "xy" is not a token
  Result<Tokenizer> t2 = Tokenizer::Create(std::move(missing));
  ASSERT_FALSE(t2.ok());
  EXPECT_NE(t2.status().message().find("merges[1]"), std::string::npos) << t2.status().message();
  EXPECT_NE(t2.status().message().find("\"xy\""), std::string::npos) << t2.status().message();

  Vocab pre = BpeVocab({"a b"}, {"ab"});
  pre.pre = "no-such-regex";
  Result<Tokenizer> t3 = Tokenizer::Create(std::move(pre));
  ASSERT_FALSE(t3.ok());
  EXPECT_NE(t3.status().message().find("no-such-regex"), std::string::npos);
}

TEST(Vocab, ValidateNamesFields) {
  Vocab v = SpmVocab({{"a", -1}});
  v.types.pop_back();
  EXPECT_NE(ValidateVocab(v).message().find("token_type"), std::string::npos);
  Vocab w = SpmVocab({{"a", -1}});
  w.bos = 100000;
  EXPECT_NE(ValidateVocab(w).message().find("bos token id 100000"), std::string::npos);
  Vocab empty;
  EXPECT_FALSE(ValidateVocab(empty).ok());
}

}  // namespace
}  // namespace quest
