// MakeRuler: every task keeps the length rule, holds its expected strings the
// right number of times, is deterministic given the seed, and rejects bad input.
#include "src/eval/ruler.h"

#include <gtest/gtest.h>

#include <map>

#include "src/eval/prompt_builder.h"
#include "src/eval/test_util.h"

namespace quest::eval {
namespace {

class RulerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tok_ = new Tokenizer(test_util::MakeTokenizer(true, false));
    corpus_ = new Corpus(test_util::MakeCorpus());
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete corpus_;
  }
  static Tokenizer* tok_;
  static Corpus* corpus_;
};
Tokenizer* RulerTest::tok_ = nullptr;
Corpus* RulerTest::corpus_ = nullptr;

// Word counts of the list part of a cwe / fwe context (after the instruction).
std::map<std::string, int> ListCounts(const std::string& text, const std::string& after) {
  const size_t at = text.find(after);
  EXPECT_NE(at, std::string::npos);
  std::map<std::string, int> counts;
  for (const std::string& w : SplitWords(text.substr(at + after.size()))) ++counts[w];
  return counts;
}

void CheckCounts(const std::string& task, const Prompt& p, const std::string& text) {
  if (task == "vt") {
    ASSERT_EQ(p.expected.size(), 5u);
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(CountOccurrences(text, p.expected[i]), i < 4 ? 2 : 1);
    EXPECT_EQ(CountOccurrences(text, "VAR "), 5);
  } else if (task == "cwe") {
    ASSERT_EQ(p.expected.size(), 10u);
    std::map<std::string, int> counts = ListCounts(text, "most often.");
    const int c = counts[p.expected[0]];
    EXPECT_GE(c, 2);
    for (const std::string& e : p.expected) EXPECT_EQ(counts[e], c) << e;
    for (const auto& [w, n] : counts) {
      const bool common = std::find(p.expected.begin(), p.expected.end(), w) != p.expected.end();
      if (!common && w.back() != '.') {
        EXPECT_LT(n, c) << w;
      }
    }
  } else if (task == "fwe") {
    ASSERT_EQ(p.expected.size(), 3u);
    std::map<std::string, int> counts = ListCounts(text, "coded words.");
    int others = 0;
    for (const auto& [w, n] : counts) {
      if (std::find(p.expected.begin(), p.expected.end(), w) == p.expected.end()) {
        others = std::max(others, n);
      }
    }
    EXPECT_GT(others, 0);
    for (const std::string& e : p.expected) EXPECT_GT(counts[e], others) << e;
    EXPECT_GE(counts[p.expected[0]], counts[p.expected[1]]);
    EXPECT_GE(counts[p.expected[1]], counts[p.expected[2]]);
  } else {
    const size_t want = task == "niah_multivalue" || task == "niah_multiquery" ? 4 : 1;
    ASSERT_EQ(p.expected.size(), want);
    for (const std::string& e : p.expected) EXPECT_EQ(CountOccurrences(text, e), 1) << e;
    const int needles = task == "niah_multikey" || want == 4 ? 4 : 1;
    EXPECT_EQ(CountOccurrences(text, "One of the special magic"), needles);
    if (task == "niah_single_uuid") {
      ASSERT_EQ(p.expected[0].size(), 36u);
      EXPECT_EQ(p.expected[0][14], '4');
    }
  }
}

TEST_F(RulerTest, EveryTaskKeepsLengthAndCounts) {
  for (const std::string& task : RulerTasks()) {
    const bool needles = task != "cwe" && task != "fwe";
    for (int length : {1024, 4096}) {
      for (double depth : {0.0, 0.5, 1.0}) {
        if (!needles && depth != 0.5) continue;
        SCOPED_TRACE(task + " length " + std::to_string(length) + " depth " +
                     std::to_string(depth));
        Result<Prompt> p = MakeRuler(task, *tok_, *corpus_, length, depth, 17);
        ASSERT_TRUE(p.ok()) << p.status().message();
        EXPECT_EQ(p->task, task);
        const int64_t total = static_cast<int64_t>(p->context.size() + p->question.size());
        EXPECT_LE(total, length);
        EXPECT_GE(total, length - kLengthSlack);
        EXPECT_EQ(p->context[0], tok_->bos());
        EXPECT_GE(p->question.size(), 1u);
        EXPECT_GT(p->max_new_tokens, 0);
        const std::string text = tok_->Decode(p->context);
        CheckCounts(task, *p, text);
        if (needles) {
          ASSERT_GT(p->needle_token, 0);
          const std::vector<int32_t> tail(p->context.begin() + p->needle_token, p->context.end());
          const std::string rest = tok_->Decode(tail);
          EXPECT_TRUE(rest.rfind(" One of the special magic", 0) == 0 ||
                      rest.rfind(" VAR ", 0) == 0)
              << rest.substr(0, 60);
          const double at = static_cast<double>(p->needle_token) / p->context.size();
          EXPECT_NEAR(at, depth, 0.2);  // instruction and other needles shift it
        } else {
          EXPECT_EQ(p->needle_token, -1);
        }
      }
    }
  }
}

TEST_F(RulerTest, AskedNeedleIsAtDepth) {
  // The asked key's needle, not a distractor, sits at the asked depth.
  for (double depth : {0.1, 0.9}) {
    Result<Prompt> p = MakeRuler("niah_multikey", *tok_, *corpus_, 4096, depth, 5);
    ASSERT_TRUE(p.ok()) << p.status().message();
    const std::vector<int32_t> tail(p->context.begin() + p->needle_token, p->context.end());
    const std::string rest = tok_->Decode(tail);
    const size_t end = rest.find('.');
    EXPECT_NE(rest.substr(0, end + 8).find(p->expected[0]), std::string::npos)
        << rest.substr(0, 80);
    EXPECT_NEAR(static_cast<double>(p->needle_token) / p->context.size(), depth, 0.05);
  }
}

TEST_F(RulerTest, DeterministicGivenSeed) {
  for (const std::string& task : RulerTasks()) {
    SCOPED_TRACE(task);
    Result<Prompt> a = MakeRuler(task, *tok_, *corpus_, 2048, 0.4, 99);
    Result<Prompt> b = MakeRuler(task, *tok_, *corpus_, 2048, 0.4, 99);
    Result<Prompt> c = MakeRuler(task, *tok_, *corpus_, 2048, 0.4, 100);
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
    EXPECT_EQ(a->context, b->context);
    EXPECT_EQ(a->question, b->question);
    EXPECT_EQ(a->expected, b->expected);
    EXPECT_EQ(a->needle_token, b->needle_token);
    EXPECT_NE(a->context, c->context);
  }
}

TEST_F(RulerTest, SpacePrefixAndCharacterVocabs) {
  const Tokenizer spm = test_util::MakeTokenizer(true, true);
  const Tokenizer chars = test_util::MakeTokenizer(false, false);
  for (const Tokenizer* tok : {&spm, &chars}) {
    for (const std::string& task : RulerTasks()) {
      SCOPED_TRACE(task);
      Result<Prompt> p = MakeRuler(task, *tok, *corpus_, 4096, 0.5, 3);
      ASSERT_TRUE(p.ok()) << p.status().message();
      const int64_t total = static_cast<int64_t>(p->context.size() + p->question.size());
      EXPECT_LE(total, 4096);
      EXPECT_GE(total, 4096 - kLengthSlack);
      CheckCounts(task, *p, tok->Decode(p->context));
    }
  }
}

TEST_F(RulerTest, Errors) {
  Result<Prompt> unknown = MakeRuler("niah_bogus", *tok_, *corpus_, 1024, 0.5, 1);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("niah_bogus"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("niah_multikey"), std::string::npos);
  for (const std::string& task : RulerTasks()) {
    EXPECT_FALSE(MakeRuler(task, *tok_, *corpus_, 24, 0.5, 1).ok()) << task;
    EXPECT_FALSE(MakeRuler(task, *tok_, *corpus_, 1024, 2.0, 1).ok()) << task;
  }
  Corpus no_essay = *corpus_;
  no_essay.essay.clear();
  EXPECT_FALSE(MakeRuler("niah_essay_number", *tok_, no_essay, 1024, 0.5, 1).ok());
  EXPECT_TRUE(MakeRuler("niah_single_number", *tok_, no_essay, 1024, 0.5, 1).ok());
  Corpus no_words = *corpus_;
  no_words.words.resize(3);
  EXPECT_FALSE(MakeRuler("vt", *tok_, no_words, 1024, 0.5, 1).ok());
}

}  // namespace
}  // namespace quest::eval
