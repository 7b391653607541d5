// Wilson intervals against known values and edge cases; mean ± z·SE.
#include "src/eval/stats.h"

#include <gtest/gtest.h>

#include <cmath>

namespace quest::eval {
namespace {

TEST(Wilson, KnownValues) {
  Interval a = Wilson(8, 10);
  EXPECT_DOUBLE_EQ(a.value, 0.8);
  EXPECT_NEAR(a.low, 0.4902, 5e-4);
  EXPECT_NEAR(a.high, 0.9433, 5e-4);
  EXPECT_EQ(a.n, 10);
  Interval b = Wilson(50, 100);
  EXPECT_NEAR(b.low, 0.4038, 5e-4);
  EXPECT_NEAR(b.high, 0.5962, 5e-4);
  Interval c = Wilson(1, 3, 1.0);  // z = 1
  EXPECT_NEAR(c.low, 0.1356, 5e-4);
  EXPECT_NEAR(c.high, 0.6144, 5e-4);
}

TEST(Wilson, Edges) {
  Interval none = Wilson(0, 0);
  EXPECT_EQ(none.n, 0);
  EXPECT_EQ(none.low, 0);
  EXPECT_EQ(none.high, 1);
  Interval zero = Wilson(0, 10);
  EXPECT_EQ(zero.value, 0);
  EXPECT_EQ(zero.low, 0);
  EXPECT_NEAR(zero.high, 0.2775, 5e-4);
  Interval all = Wilson(10, 10);
  EXPECT_EQ(all.value, 1);
  EXPECT_NEAR(all.low, 0.7225, 5e-4);
  EXPECT_EQ(all.high, 1);
  Interval one = Wilson(1, 1);
  EXPECT_GT(one.low, 0);
  EXPECT_LT(one.low, 0.3);
}

TEST(MeanWithStdErr, Values) {
  Interval m = MeanWithStdErr({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(m.value, 2.5);
  const double se = std::sqrt(5.0 / 3.0 / 4.0);  // s^2 = 5/3
  EXPECT_NEAR(m.low, 2.5 - 1.96 * se, 1e-12);
  EXPECT_NEAR(m.high, 2.5 + 1.96 * se, 1e-12);
  EXPECT_EQ(m.n, 4);
  Interval c = MeanWithStdErr({0.5, 0.5, 0.5});
  EXPECT_EQ(c.low, 0.5);
  EXPECT_EQ(c.high, 0.5);
  Interval one = MeanWithStdErr({3});
  EXPECT_EQ(one.value, 3);
  EXPECT_EQ(one.low, 3);
  EXPECT_EQ(one.n, 1);
  Interval none = MeanWithStdErr({});
  EXPECT_EQ(none.n, 0);
  EXPECT_EQ(none.value, 0);
}

}  // namespace
}  // namespace quest::eval
