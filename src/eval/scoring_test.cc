// ScorePasskey and ScoreRecall on handcrafted answers.
#include "src/eval/scoring.h"

#include <gtest/gtest.h>

namespace quest::eval {
namespace {

TEST(ScorePasskey, FirstIntegerMustEqual) {
  EXPECT_EQ(ScorePasskey("12345.", "12345"), 1);
  EXPECT_EQ(ScorePasskey(" 12345", "12345"), 1);
  EXPECT_EQ(ScorePasskey(" 12345. Remember it. 999", "12345"), 1);
  EXPECT_EQ(ScorePasskey("The pass key is 012345", "12345"), 1);
  EXPECT_EQ(ScorePasskey("the key is 123456", "12345"), 0);
  EXPECT_EQ(ScorePasskey("1234", "12345"), 0);
  EXPECT_EQ(ScorePasskey("7 and then 12345", "12345"), 0);  // the first integer counts
  EXPECT_EQ(ScorePasskey("no number here", "12345"), 0);
  EXPECT_EQ(ScorePasskey("", "12345"), 0);
  EXPECT_EQ(ScorePasskey("12345", ""), 0);
  EXPECT_EQ(ScorePasskey("12,345", "12345"), 0);
}

TEST(ScoreRecall, FractionOfExpected) {
  EXPECT_EQ(ScoreRecall("1234567", {"1234567"}), 1);
  EXPECT_EQ(ScoreRecall("1234567 and 7654321", {"1234567", "7654321", "1111111", "2222222"}), 0.5);
  EXPECT_EQ(ScoreRecall("nothing", {"1234567"}), 0);
  EXPECT_EQ(ScoreRecall("anything", {}), 0);
  // Words ignore case; uuids and numbers do not.
  EXPECT_EQ(ScoreRecall("Apple, BANANA", {"apple", "banana"}), 1);
  EXPECT_EQ(ScoreRecall("QWERT, ASDFG", {"QWERT", "asdfg"}), 1);
  EXPECT_EQ(
      ScoreRecall("1B9D6BCD-BBFD-4B2D-9B5D-AB8DFBBD4BED", {"1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"}),
      0);
  EXPECT_EQ(ScoreRecall("x 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed.",
                        {"1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"}),
            1);
}

}  // namespace
}  // namespace quest::eval
