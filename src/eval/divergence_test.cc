// LogSoftmax, KlDivergence and PerplexityOf against values worked by hand.
#include "src/eval/divergence.h"

#include <gtest/gtest.h>

#include <cmath>

namespace quest::eval {
namespace {

TEST(DivergenceTest, LogSoftmaxNormalizesAndIgnoresShifts) {
  std::vector<double> a, b;
  LogSoftmax({1.0f, 2.0f, 3.0f}, &a);
  LogSoftmax({1001.0f, 1002.0f, 1003.0f}, &b);  // no overflow: the max is subtracted
  double sum = 0;
  for (double x : a) sum += std::exp(x);
  EXPECT_NEAR(sum, 1.0, 1e-12);
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(a[i], (i + 1) - lse, 1e-12);
    EXPECT_NEAR(b[i], a[i], 1e-9);
  }
}

TEST(DivergenceTest, KlOfTwoBernoullis) {
  const std::vector<double> p = {std::log(0.5), std::log(0.5)};
  const std::vector<double> q = {std::log(0.9), std::log(0.1)};
  // 0.5 log(0.5/0.9) + 0.5 log(0.5/0.1)
  EXPECT_NEAR(KlDivergence(p, q), 0.5 * std::log(0.5 / 0.9) + 0.5 * std::log(5.0), 1e-12);
  EXPECT_NEAR(KlDivergence(q, p), 0.9 * std::log(0.9 / 0.5) + 0.1 * std::log(0.1 / 0.5), 1e-12);
  EXPECT_EQ(KlDivergence(p, p), 0.0);
}

TEST(DivergenceTest, KlSkipsZeroMassAndIsInfiniteWhereQLacksIt) {
  const std::vector<double> p = {0.0, -INFINITY};  // all mass on token 0
  const std::vector<double> q = {std::log(0.25), std::log(0.75)};
  EXPECT_NEAR(KlDivergence(p, q), std::log(4.0), 1e-12);
  EXPECT_TRUE(std::isinf(KlDivergence(q, p)));
}

TEST(DivergenceTest, PerplexityIsExpOfTheMeanNllWithItsInterval) {
  const Interval iv = PerplexityOf({1.0, 2.0, 3.0});
  EXPECT_NEAR(iv.value, std::exp(2.0), 1e-12);
  const double se = 1.0 / std::sqrt(3.0);  // sample sd 1
  EXPECT_NEAR(iv.low, std::exp(2.0 - 1.96 * se), 1e-12);
  EXPECT_NEAR(iv.high, std::exp(2.0 + 1.96 * se), 1e-12);
  EXPECT_EQ(iv.n, 3);
  // A uniform model over V tokens has perplexity V.
  EXPECT_NEAR(PerplexityOf({std::log(7.0), std::log(7.0)}).value, 7.0, 1e-12);
}

}  // namespace
}  // namespace quest::eval
