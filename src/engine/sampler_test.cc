// The sampler: greedy, the truncations (top-k, top-p, min-p), the sampled
// distribution, determinism per seed, the penalties and option validation.
#include "src/engine/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace quest {
namespace {

// Logits whose softmax is `p` (temperature 1).
std::vector<float> LogitsOf(const std::vector<double>& p) {
  std::vector<float> l;
  for (double x : p) l.push_back(static_cast<float>(std::log(x)));
  return l;
}

// Empirical distribution of `n` draws.
std::vector<double> Frequencies(const SamplerOptions& o, const std::vector<double>& p, int n) {
  Sampler s(o);
  std::vector<double> f(p.size());
  for (int i = 0; i < n; ++i) {
    std::vector<float> l = LogitsOf(p);
    ++f[s.Sample(l.data(), static_cast<int>(l.size()), {})];
  }
  for (double& x : f) x /= n;
  return f;
}

const std::vector<double> kP = {0.05, 0.4, 0.1, 0.3, 0.15};

TEST(SamplerTest, GreedyPicksTheArgmax) {
  Sampler s(SamplerOptions{});
  std::vector<float> l = {0.1f, -3.0f, 2.5f, 2.4f};
  EXPECT_EQ(s.Sample(l.data(), 4, {}), 2);
}

TEST(SamplerTest, TemperatureOneSamplesTheSoftmax) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.seed = 7;
  const std::vector<double> f = Frequencies(o, kP, 40000);
  for (size_t i = 0; i < kP.size(); ++i) EXPECT_NEAR(f[i], kP[i], 0.01) << i;  // ~4 sigma
}

TEST(SamplerTest, LowTemperatureSharpens) {
  SamplerOptions o;
  o.temperature = 0.5f;  // p^2 renormalized
  const std::vector<double> f = Frequencies(o, kP, 40000);
  double z = 0;
  for (double x : kP) z += x * x;
  for (size_t i = 0; i < kP.size(); ++i) EXPECT_NEAR(f[i], kP[i] * kP[i] / z, 0.01) << i;
}

TEST(SamplerTest, TopKKeepsTheKMostLikely) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.top_k = 2;  // tokens 1 (0.4) and 3 (0.3)
  const std::vector<double> f = Frequencies(o, kP, 20000);
  EXPECT_EQ(f[0] + f[2] + f[4], 0.0);
  EXPECT_NEAR(f[1], 0.4 / 0.7, 0.015);
}

// top-p 0.75: 0.4 + 0.3 = 0.7 < 0.75, so 0.15 joins; min-p 0.3 keeps p >= 0.12:
// both keep tokens 1, 3 and 4.
TEST(SamplerTest, TopPAndMinPKeepTokens1_3_4) {
  SamplerOptions top_p;
  top_p.temperature = 1.0f;
  top_p.top_p = 0.75f;
  SamplerOptions min_p;
  min_p.temperature = 1.0f;
  min_p.min_p = 0.3f;
  for (const SamplerOptions& o : {top_p, min_p}) {
    const std::vector<double> f = Frequencies(o, kP, 20000);
    EXPECT_EQ(f[0] + f[2], 0.0);
    EXPECT_GT(f[4], 0.1);
  }
}

TEST(SamplerTest, TheSameSeedGivesTheSameTokensAndAnotherDiffers) {
  SamplerOptions o;
  o.temperature = 1.0f;
  auto draw = [&](uint64_t seed) {
    o.seed = seed;
    Sampler s(o);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) {
      std::vector<float> l = LogitsOf(kP);
      out.push_back(s.Sample(l.data(), 5, {}));
    }
    return out;
  };
  EXPECT_EQ(draw(3), draw(3));
  EXPECT_NE(draw(3), draw(4));
}

TEST(SamplerTest, RepeatPenaltyDemotesSeenTokens) {
  SamplerOptions o;
  o.repeat_penalty = 2.0f;
  Sampler s(o);
  std::vector<float> l = {1.0f, 1.5f, -1.0f};
  EXPECT_EQ(s.Sample(l.data(), 3, {1}), 0);  // 1.5 / 2 < 1
  EXPECT_FLOAT_EQ(l[1], 0.75f);
  std::vector<float> neg = {-1.0f, -0.6f};  // negative logits are multiplied
  EXPECT_EQ(s.Sample(neg.data(), 2, {1}), 0);
  EXPECT_FLOAT_EQ(neg[1], -1.2f);
}

TEST(SamplerTest, RepeatPenaltyLooksOnlyAtTheLastN) {
  SamplerOptions o;
  o.repeat_penalty = 2.0f;
  o.repeat_last_n = 2;
  Sampler s(o);
  std::vector<float> l = {1.0f, 1.5f, 0.0f};
  EXPECT_EQ(s.Sample(l.data(), 3, {1, 2, 2}), 1);  // token 1 is older than the last 2
}

TEST(SamplerTest, FrequencyPenaltyGrowsWithTheCountOfGeneratedTokens) {
  SamplerOptions o;
  o.frequency_penalty = 0.5f;
  Sampler s(o);
  std::vector<float> first = {2.0f, 1.2f};
  ASSERT_EQ(s.Sample(first.data(), 2, {}), 0);  // nothing generated yet: no penalty
  EXPECT_FLOAT_EQ(first[0], 2.0f);
  std::vector<float> second = {2.0f, 1.2f};
  ASSERT_EQ(s.Sample(second.data(), 2, {}), 0);  // 2 - 0.5 = 1.5 > 1.2
  EXPECT_FLOAT_EQ(second[0], 1.5f);
  std::vector<float> third = {2.0f, 1.2f};
  EXPECT_EQ(s.Sample(third.data(), 2, {}), 1);  // 2 - 2 * 0.5 = 1.0 < 1.2
  EXPECT_FLOAT_EQ(third[0], 1.0f);
}

TEST(SamplerTest, PresencePenaltyIsAppliedOncePerSeenToken) {
  SamplerOptions o;
  o.presence_penalty = 0.5f;
  Sampler s(o);
  for (int i = 0; i < 3; ++i) {
    std::vector<float> l = {2.0f, 1.2f};
    ASSERT_EQ(s.Sample(l.data(), 2, {}), 0) << i;  // 2 - 0.5 > 1.2, however often seen
    EXPECT_FLOAT_EQ(l[0], i == 0 ? 2.0f : 1.5f);
  }
}

TEST(SamplerTest, NegativePenaltiesPromote) {
  SamplerOptions o;
  o.frequency_penalty = -1.0f;
  o.presence_penalty = -0.5f;
  Sampler s(o);
  std::vector<float> a = {1.0f, 0.0f};
  ASSERT_EQ(s.Sample(a.data(), 2, {}), 0);
  std::vector<float> b = {1.0f, 2.0f};
  EXPECT_EQ(s.Sample(b.data(), 2, {}), 0);  // 1 + 1 + 0.5 > 2
  EXPECT_FLOAT_EQ(b[0], 2.5f);
}

TEST(SamplerTest, PromptTokensInTheHistoryDoNotCountForOpenAiPenalties) {
  SamplerOptions o;
  o.frequency_penalty = 2.0f;
  o.presence_penalty = 2.0f;
  Sampler s(o);
  std::vector<float> l = {2.0f, 1.0f};
  EXPECT_EQ(s.Sample(l.data(), 2, {0, 0, 0}), 0);
  EXPECT_FLOAT_EQ(l[0], 2.0f);
}

TEST(SamplerTest, ValidateNamesTheOptionAndValue) {
  const auto error = [](void (*set)(SamplerOptions*)) {
    SamplerOptions o;
    set(&o);
    return o.Validate().message();
  };
  EXPECT_TRUE(SamplerOptions{}.Validate().ok());
  EXPECT_EQ(error([](SamplerOptions* o) { o->temperature = -1; }),
            "invalid --temp -1: must be >= 0");
  EXPECT_EQ(error([](SamplerOptions* o) { o->temperature = INFINITY; }),
            "invalid --temp inf: must be >= 0");
  EXPECT_EQ(error([](SamplerOptions* o) { o->top_k = -2; }), "invalid --top-k -2: must be >= 0");
  EXPECT_EQ(error([](SamplerOptions* o) { o->top_p = 0; }),
            "invalid --top-p 0: must be in (0, 1]");
  EXPECT_EQ(error([](SamplerOptions* o) { o->min_p = 1; }),
            "invalid --min-p 1: must be in [0, 1)");
  EXPECT_EQ(error([](SamplerOptions* o) { o->repeat_penalty = 0; }),
            "invalid --repeat-penalty 0: must be > 0");
  EXPECT_EQ(error([](SamplerOptions* o) { o->frequency_penalty = 2.5f; }),
            "invalid --frequency-penalty 2.5: must be in [-2, 2]");
  EXPECT_EQ(error([](SamplerOptions* o) { o->presence_penalty = -3; }),
            "invalid --presence-penalty -3: must be in [-2, 2]");
  EXPECT_EQ(error([](SamplerOptions* o) { o->presence_penalty = NAN; }),
            "invalid --presence-penalty nan: must be in [-2, 2]");
  SamplerOptions edge;
  edge.frequency_penalty = -2;
  edge.presence_penalty = 2;
  EXPECT_TRUE(edge.Validate().ok());
}

}  // namespace
}  // namespace quest
