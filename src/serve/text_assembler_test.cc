#include "src/serve/text_assembler.h"

#include <gtest/gtest.h>

namespace quest {
namespace {

std::string Feed(TextAssembler& a, const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& p : pieces) out += a.Add(p);
  return out + a.Flush();
}

TEST(TextAssembler, WithoutStopStringsEverythingPassesThrough) {
  TextAssembler a({});
  EXPECT_EQ(a.Add("Hello"), "Hello");
  EXPECT_EQ(a.Add(" world"), " world");
  EXPECT_EQ(a.Flush(), "");
  EXPECT_FALSE(a.stopped());
}

TEST(TextAssembler, AStopStringSplitOverPiecesEndsTheTextBeforeIt) {
  TextAssembler a({"END"});
  EXPECT_EQ(a.Add("one E"), "one ");  // "E" might begin END
  EXPECT_EQ(a.Add("N"), "");
  EXPECT_EQ(a.Add("D two"), "");
  EXPECT_TRUE(a.stopped());
  EXPECT_EQ(a.Flush(), "");
}

TEST(TextAssembler, HeldTextIsReleasedWhenItDoesNotBecomeAStop) {
  TextAssembler a({"END"});
  EXPECT_EQ(Feed(a, {"E", "N", "X"}), "ENX");
  EXPECT_FALSE(a.stopped());
}

TEST(TextAssembler, TheEarliestOfSeveralStopStringsWins) {
  TextAssembler a({"world", "lo w"});
  EXPECT_EQ(Feed(a, {"hello world"}), "hel");
  EXPECT_TRUE(a.stopped());
}

TEST(TextAssembler, IncompleteUtf8IsHeldUntilItsLastByte) {
  TextAssembler a({});
  const std::string euro = "\xE2\x82\xAC";  // U+20AC in three bytes
  EXPECT_EQ(a.Add("a" + euro.substr(0, 1)), "a");
  EXPECT_EQ(a.Add(euro.substr(1, 1)), "");
  EXPECT_EQ(a.Add(euro.substr(2)), euro);
}

}  // namespace
}  // namespace quest
