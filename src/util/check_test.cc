// Result<T>: misuse (a Result from an ok Status, the value of an error) aborts
// with a message instead of reading an empty optional.
#include "src/util/check.h"

#include <gtest/gtest.h>

namespace quest {
namespace {

TEST(ResultTest, HoldsAValueOrAnError) {
  Result<int> v = 7;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 7);
  Result<int> e = Status::Error("bad --x 3");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "bad --x 3");
}

TEST(ResultDeathTest, AResultFromAnOkStatusAborts) {
  EXPECT_DEATH({ Result<int> r{Status()}; }, "Result from an ok Status");
}

TEST(ResultDeathTest, TheValueOfAnErrorAborts) {
  Result<std::string> e = Status::Error("no such file m.gguf");
  EXPECT_DEATH({ (void)e.value(); }, "value of an error: no such file m.gguf");
  EXPECT_DEATH({ (void)e->size(); }, "value of an error");
  EXPECT_DEATH({ (void)*e; }, "value of an error");
}

}  // namespace
}  // namespace quest
