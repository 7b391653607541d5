// Keep lists of StreamingLLM, H2O and TOVA on hand-worked cases, and against a
// brute-force reference (full sorts over a position -> score map) on random
// attention rows.
#include "src/evict/token_eviction.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

namespace quest {
namespace {

std::vector<int32_t> Range(int a, int b) {
  std::vector<int32_t> r;
  for (int i = a; i < b; ++i) r.push_back(i);
  return r;
}

TEST(TokenEviction, StreamingKeepsSinksAndRecentWindow) {
  TokenEviction e(Eviction::kStreaming, 6, 2);
  e.Init(1, 10);
  e.Update({}, 1);
  EXPECT_EQ(e.kept(0), (std::vector<int32_t>{0, 1, 6, 7, 8, 9}));
  e.Append(10);
  e.Update({}, 1);
  EXPECT_EQ(e.kept(0), (std::vector<int32_t>{0, 1, 7, 8, 9, 10}));
}

// Attention over the lists is dense attention (the forward pass takes the
// dense path) only while they hold every token and none is due to go, and
// never for H2O, whose scores accumulate from the first step.
TEST(TokenEviction, AttendsEverythingOnlyWithinBudgetAndNeverForH2O) {
  for (Eviction m : {Eviction::kStreaming, Eviction::kTova}) {
    TokenEviction e(m, 6, 2);
    e.Init(2, 5);
    e.Append(5);
    EXPECT_TRUE(e.AttendsEverything(6));
    EXPECT_FALSE(e.AttendsEverything(7));  // a position the lists lack
    e.Append(6);
    EXPECT_FALSE(e.AttendsEverything(7));  // over the budget: one goes this step
    std::vector<std::vector<float>> probs(2, std::vector<float>(7, 1.0f / 7));
    e.Update(probs, 2);
    e.Append(7);
    EXPECT_FALSE(e.AttendsEverything(8));
  }
  TokenEviction h2o(Eviction::kH2O, 8, 4);
  h2o.Init(2, 5);
  h2o.Append(5);
  EXPECT_FALSE(h2o.AttendsEverything(6));
}

TEST(TokenEviction, NothingEvictedWithinBudget) {
  for (Eviction m : {Eviction::kStreaming, Eviction::kH2O, Eviction::kTova}) {
    TokenEviction e(m, 8, 4);
    e.Init(2, 5);
    e.Append(5);
    std::vector<std::vector<float>> probs(4, std::vector<float>(6, 1.0f / 6));
    e.Update(probs, 4);
    EXPECT_EQ(e.kept(0), Range(0, 6));
    EXPECT_EQ(e.kept(1), Range(0, 6));
  }
}

TEST(TokenEviction, H2OKeepsRecentHalfAndHeavyHitters) {
  // Budget 4: 2 recent + 2 heavy. One list, two query heads (G = 2).
  TokenEviction e(Eviction::kH2O, 4, 0);
  e.Init(1, 6);  // positions 0..5
  // Accumulated per position: head 0 + head 1.
  std::vector<std::vector<float>> probs = {{0.1f, 0.5f, 0.0f, 0.2f, 0.1f, 0.1f},
                                           {0.3f, 0.1f, 0.1f, 0.1f, 0.2f, 0.2f}};
  e.Update(probs, 2);
  // Recent: 4, 5. Heavy among 0..3 (scores .4 .6 .1 .3): 1 and 0.
  EXPECT_EQ(e.kept(0), (std::vector<int32_t>{0, 1, 4, 5}));
  e.Append(6);
  // Scores now: 0:.4 1:.6 4:.3 5:.3 6:0, plus this step's.
  probs = {{0.0f, 0.0f, 0.4f, 0.0f, 0.6f}, {0.0f, 0.0f, 0.0f, 0.0f, 0.0f}};
  e.Update(probs, 2);
  // Recent: 5, 6. Heavy among 0 (.4), 1 (.6), 4 (.7): 4 and 1.
  EXPECT_EQ(e.kept(0), (std::vector<int32_t>{1, 4, 5, 6}));
}

TEST(TokenEviction, TovaEvictsLowestMeanAttentionOfTheCurrentQuery) {
  TokenEviction e(Eviction::kTova, 3, 0);
  e.Init(2, 4);  // two KV heads, one query head each
  e.Append(4);
  std::vector<std::vector<float>> probs = {{0.5f, 0.1f, 0.1f, 0.2f, 0.1f},
                                           {0.1f, 0.1f, 0.4f, 0.1f, 0.3f}};
  e.Update(probs, 2);
  // Means: .3 .1 .25 .15 .2 -> keep 0, 2, 4 in both lists.
  EXPECT_EQ(e.kept(0), (std::vector<int32_t>{0, 2, 4}));
  EXPECT_EQ(e.kept(1), (std::vector<int32_t>{0, 2, 4}));
}

// Brute force: a map position -> accumulated score per list, full sorts.
struct Reference {
  Eviction method;
  int budget, sinks;
  std::vector<std::map<int, double>> lists;

  void Step(int pos, const std::vector<std::vector<float>>& probs, int num_heads) {
    const int L = static_cast<int>(lists.size());
    const int G = num_heads / L;
    for (auto& m : lists) m[pos] = 0.0;
    if (method == Eviction::kTova) {
      std::vector<std::pair<double, int>> mean;  // (mean prob, position)
      int i = 0;
      for (auto& [p, s] : lists[0]) {
        double sum = 0;
        for (int h = 0; h < num_heads; ++h) sum += probs[h][i];
        mean.push_back({sum, p});
        ++i;
      }
      std::sort(mean.rbegin(), mean.rend());  // highest first; ties: later position first
      for (size_t j = budget; j < mean.size(); ++j) {
        for (auto& m : lists) m.erase(mean[j].second);
      }
      return;
    }
    for (int l = 0; l < L; ++l) {
      auto& m = lists[l];
      if (method == Eviction::kH2O) {
        for (int g = 0; g < G; ++g) {
          int i = 0;
          for (auto& [p, s] : m) s += probs[l * G + g][i++];
        }
      }
      if (static_cast<int>(m.size()) <= budget) continue;
      std::vector<int> pos_list;
      for (auto& [p, s] : m) pos_list.push_back(p);
      std::map<int, double> next;
      if (method == Eviction::kStreaming) {
        for (int p : pos_list) {
          if (p < std::min(sinks, budget)) next[p] = 0;
        }
        for (auto it = pos_list.rbegin(); it != pos_list.rend() && (int)next.size() < budget;
             ++it) {
          next[*it] = 0;
        }
      } else {
        const int recent = budget / 2;
        const int n = static_cast<int>(pos_list.size());
        for (int i = n - recent; i < n; ++i) next[pos_list[i]] = m[pos_list[i]];
        std::vector<std::pair<double, int>> rest;
        for (int i = 0; i < n - recent; ++i) rest.push_back({m[pos_list[i]], pos_list[i]});
        std::sort(rest.rbegin(), rest.rend());
        for (int i = 0; i < budget - recent && i < (int)rest.size(); ++i) {
          next[rest[i].second] = rest[i].first;
        }
      }
      m = next;
    }
  }
};

TEST(TokenEviction, MatchesBruteForceOnRandomAttentionRows) {
  std::mt19937 rng(7);
  for (Eviction method : {Eviction::kStreaming, Eviction::kH2O, Eviction::kTova}) {
    for (int trial = 0; trial < 30; ++trial) {
      const int lists = 1 + trial % 3;
      const int G = 1 + trial % 4;
      const int heads = lists * G;
      const int budget = 1 + static_cast<int>(rng() % 20);
      const int sinks = static_cast<int>(rng() % 5);
      const int prefill = static_cast<int>(rng() % 40);
      TokenEviction e(method, budget, sinks);
      Reference ref{method, budget, sinks, {}};
      e.Init(lists, prefill);
      ref.lists.assign(lists, {});
      for (auto& m : ref.lists) {
        for (int p = 0; p < prefill; ++p) m[p] = 0.0;
      }
      for (int pos = prefill; pos < prefill + 25; ++pos) {
        e.Append(pos);
        std::vector<std::vector<float>> probs(heads);
        for (int h = 0; h < heads; ++h) {
          const size_t n = e.kept(h / G).size();
          // Coarse values so ties occur and their rule is exercised.
          for (size_t i = 0; i < n; ++i) probs[h].push_back(static_cast<float>(rng() % 4) / 8);
        }
        e.Update(probs, heads);
        ref.Step(pos, probs, heads);
        for (int l = 0; l < lists; ++l) {
          std::vector<int32_t> want;
          for (auto& [p, s] : ref.lists[l]) want.push_back(p);
          ASSERT_EQ(e.kept(l), want) << "method " << static_cast<int>(method) << " trial " << trial
                                     << " pos " << pos << " list " << l;
          ASSERT_LE(static_cast<int>(e.kept(l).size()), budget);
        }
      }
    }
  }
}

}  // namespace
}  // namespace quest
