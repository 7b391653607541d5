// Quest selection: top-K equals a brute-force sort; the paper and kernel
// semantics keep the right pages; budget >= context is exactly dense; Quest's
// output equals the reference attention over exactly the selected pages.
#include "src/quest/page_select.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <set>

#include "src/kernels/kernels.h"
#include "src/kernels/reference.h"
#include "src/kv/kv_test_util.h"

namespace quest {
namespace {

using testing::RandomCache;
using testing::RandomFloats;

std::vector<int32_t> BruteTopK(const std::vector<float>& s, int k, int sink, int forced) {
  std::vector<int32_t> idx(s.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return s[a] > s[b]; });
  const int limit = std::min<int>(k, s.size());
  std::vector<int32_t> out;
  const auto kept = [&](int i) { return std::find(out.begin(), out.end(), i) != out.end(); };
  if (forced >= 0 && limit > 0) out.push_back(forced);
  for (int i = 0; i < std::min<int>(sink, s.size()); ++i) {
    if (static_cast<int>(out.size()) < limit && !kept(i)) out.push_back(i);
  }
  for (int32_t i : idx) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (!kept(i)) out.push_back(i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SelectTopK, EqualsBruteForceSort) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 1200; ++trial) {
    const int n = trial % 50 == 0 ? 0 : 1 + rng() % (trial % 7 == 0 ? 5000 : 300);
    std::vector<float> s(n);
    // Few distinct values in some trials, to exercise ties; signed zeros,
    // large and tiny magnitudes in others (the radix select's key order).
    const float special[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 3e38f, -3e38f, 1.0f, -1.0f};
    for (float& x : s) {
      x = trial % 3 == 0   ? static_cast<float>(rng() % 5)
          : trial % 5 == 1 ? special[rng() % 8]
                           : RandomFloats(rng, 1)[0];
    }
    const int k = rng() % (n + 3);
    // The current page forced (kernel semantics) in half the trials; sink
    // pages in some, up to more than k or n, and a forced index inside them.
    int forced = (trial % 2 && n > 0) ? n - 1 : -1;
    if (trial % 11 == 3 && n > 0) forced = static_cast<int>(rng() % std::min(n, 4));
    const int sink = trial % 4 == 1 ? static_cast<int>(rng() % 6) : 0;
    std::vector<int32_t> got;
    SelectTopK(s.data(), n, k, sink, forced, &got);
    EXPECT_EQ(got, BruteTopK(s, k, sink, forced))
        << "n=" << n << " k=" << k << " sink=" << sink << " forced=" << forced;
  }
}

TEST(PagesToKeep, BothSemantics) {
  QuestParams p;
  p.semantics = Semantics::kPaper;
  p.budget = 2048;
  EXPECT_EQ(PagesToKeep(p, 16, 2048), 128);
  EXPECT_EQ(PagesToKeep(p, 16, 100), 100);
  p.budget = 16;  // the paper keeps at least 3 pages
  EXPECT_EQ(PagesToKeep(p, 16, 100), 3);
  p.semantics = Semantics::kKernel;
  EXPECT_EQ(PagesToKeep(p, 16, 100), 1);
  p.budget = 100;  // floor division
  EXPECT_EQ(PagesToKeep(p, 16, 100), 6);
}

struct Case {
  int heads, kv_heads, length, budget, page_size;
  Semantics semantics;
  GqaMode gqa;
  GqaAggregate aggregate;
  int sink_pages = 0;
};

class QuestSelectTest : public ::testing::TestWithParam<Case> {};

TEST_P(QuestSelectTest, SelectionAndAttentionMatchReference) {
  const Case tc = GetParam();
  KvCacheConfig c;
  c.num_kv_heads = tc.kv_heads;
  c.head_dim = 64;
  c.page_size = tc.page_size;
  RandomCache r = RandomCache::Make(c, tc.length, tc.length + tc.budget);
  const PagedKv kv = r.cache.View(0);
  std::mt19937 rng(tc.heads);
  std::vector<float> q = RandomFloats(rng, tc.heads * 64, -1, 1);
  QuestParams params;
  params.budget = tc.budget;
  params.semantics = tc.semantics;
  params.gqa = tc.gqa;
  params.aggregate = tc.aggregate;
  params.scale = 0.125f;
  params.sink_pages = tc.sink_pages;
  PageSelector selector;
  PageList list;
  selector.Select(q.data(), tc.heads, kv, r.seq, params, 2, &list);

  const int S = tc.page_size;
  const int n = r.seq.num_pages();
  const int G = tc.heads / tc.kv_heads;
  const bool shared = tc.gqa == GqaMode::kPerKvHead;
  ASSERT_EQ(list.num_lists(), shared ? tc.kv_heads : tc.heads);
  const bool dense = tc.length <= tc.budget;
  const int keep = dense ? n : PagesToKeep(params, S, n);
  for (int l = 0; l < list.num_lists(); ++l) {
    // Expected: brute-force top-k over the reference bounds of this list.
    const int num_q = shared ? G : 1;
    std::vector<float> u(num_q * n);
    ref::ScorePages(q.data() + (shared ? l * G : l) * 64, num_q, 64, kv, shared ? l : l / G,
                    r.seq.pages.data(), n, u.data());
    std::vector<float> agg(n, 0.0f);
    for (int j = 0; j < n; ++j) {
      for (int g = 0; g < num_q; ++g) {
        if (tc.aggregate == GqaAggregate::kMax || num_q == 1) {
          agg[j] = g == 0 ? u[j] : std::max(agg[j], u[g * n + j]);
        } else {
          double m = -INFINITY, sum = 0;
          for (int i = 0; i < n; ++i) m = std::max<double>(m, u[g * n + i]);
          for (int i = 0; i < n; ++i) sum += std::exp(0.125 * (u[g * n + i] - m));
          agg[j] += std::exp(0.125 * (u[g * n + j] - m)) / sum;
        }
      }
    }
    const int forced = tc.semantics == Semantics::kKernel ? n - 1 : -1;
    std::vector<int32_t> want =
        dense ? BruteTopK(agg, n, 0, -1) : BruteTopK(agg, keep, tc.sink_pages, forced);
    std::vector<int32_t> got;
    for (int j = list.indptr[l]; j < list.indptr[l + 1]; ++j) {
      got.push_back(std::find(r.seq.pages.begin(), r.seq.pages.end(), list.indices[j]) -
                    r.seq.pages.begin());
    }
    // Scores of near-equal pages may order differently in fp32 vs double: compare
    // the kept score mass rather than demanding identical ids on exact ties.
    ASSERT_EQ(got.size(), want.size()) << "list " << l;
    double got_mass = 0, want_mass = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      got_mass += agg[got[i]];
      want_mass += agg[want[i]];
    }
    EXPECT_NEAR(got_mass, want_mass, 1e-3 * (1 + std::fabs(want_mass))) << "list " << l;
    if (forced >= 0) {
      EXPECT_EQ(got.back(), n - 1) << "kernel semantics keeps the current page";
    }
    for (int p = 0; p < std::min(tc.sink_pages, keep - 1); ++p) {
      EXPECT_EQ(got[p], p) << "sink page " << p << " of list " << l;
    }
    EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
    const int want_last = got.back() == n - 1 ? tc.length - (n - 1) * S : S;
    EXPECT_EQ(list.last_page_len[l], want_last);
  }

  // Quest's output equals the reference over exactly the selected pages.
  std::vector<float> out(tc.heads * 64), want(tc.heads * 64);
  AttendPages(q.data(), tc.heads, kv, list, 0.125f, 2, out.data());
  ref::AttendPages(q.data(), tc.heads, kv, list, 0.125f, want.data());
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want[i], 2e-5 + 1e-4 * std::fabs(want[i]));

  if (dense) {  // budget >= context: identical to dense attention, bit for bit
    std::vector<float> dense_out(tc.heads * 64);
    AttendPages(q.data(), tc.heads, kv, DensePageList(r.seq, S, list.num_lists()), 0.125f, 2,
                dense_out.data());
    EXPECT_EQ(out, dense_out);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, QuestSelectTest,
    ::testing::Values(
        Case{4, 4, 1000, 256, 16, Semantics::kPaper, GqaMode::kPerKvHead, GqaAggregate::kMax},
        Case{4, 4, 1001, 256, 16, Semantics::kKernel, GqaMode::kPerKvHead, GqaAggregate::kMax},
        Case{4, 1, 777, 64, 8, Semantics::kPaper, GqaMode::kPerKvHead, GqaAggregate::kMax},
        Case{4, 1, 777, 64, 8, Semantics::kPaper, GqaMode::kPerKvHead,
             GqaAggregate::kSoftmaxSum},
        Case{8, 2, 513, 128, 4, Semantics::kKernel, GqaMode::kPerQueryHead, GqaAggregate::kMax},
        Case{8, 2, 300, 20, 32, Semantics::kPaper, GqaMode::kPerQueryHead, GqaAggregate::kMax},
        Case{2, 2, 17, 4, 4, Semantics::kKernel, GqaMode::kPerKvHead, GqaAggregate::kMax},
        Case{2, 1, 1, 2048, 16, Semantics::kPaper, GqaMode::kPerKvHead, GqaAggregate::kMax},
        Case{4, 2, 2048, 2048, 16, Semantics::kPaper, GqaMode::kPerKvHead, GqaAggregate::kMax},
        Case{4, 2, 130, 4096, 16, Semantics::kKernel, GqaMode::kPerQueryHead,
             GqaAggregate::kMax},
        Case{4, 4, 1001, 256, 16, Semantics::kKernel, GqaMode::kPerKvHead, GqaAggregate::kMax, 1},
        Case{8, 2, 513, 128, 4, Semantics::kPaper, GqaMode::kPerQueryHead, GqaAggregate::kMax, 3},
        Case{4, 1, 777, 64, 8, Semantics::kKernel, GqaMode::kPerKvHead,
             GqaAggregate::kSoftmaxSum, 20}),
    [](const ::testing::TestParamInfo<Case>& info) {
      const Case& c = info.param;
      char name[128];
      std::snprintf(name, sizeof(name), "h%dkv%d_len%d_b%d_S%d_%s_%s_%s%s%.0d", c.heads,
                    c.kv_heads, c.length, c.budget, c.page_size, Name(c.semantics),
                    c.gqa == GqaMode::kPerKvHead ? "kv" : "q",
                    c.aggregate == GqaAggregate::kMax ? "max" : "softmax",
                    c.sink_pages > 0 ? "_sink" : "", c.sink_pages);
      return std::string(name);
    });

}  // namespace
}  // namespace quest
