// Certified Quest: the certificate bounds the distance to exact dense attention
// (random and adversarial keys); the adaptive rounds reproduce fixed-budget
// Quest (eps huge or cap = first round) and dense (eps 0), report honest tail
// shares, and equal the reference attention over exactly the pages they read.
#include "src/quest/certified_attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "src/kernels/kernels.h"
#include "src/kernels/reference.h"
#include "src/kv/kv_test_util.h"

namespace quest {
namespace {

using testing::RandomFloats;

constexpr int kDim = 64;
constexpr float kScale = 0.125f;  // 1 / sqrt(kDim)

enum class Data { kRandom, kOutlierChannels, kHugeLogits, kConstantPages };

const char* Name(Data d) {
  switch (d) {
    case Data::kRandom:
      return "random";
    case Data::kOutlierChannels:
      return "outliers";
    case Data::kHugeLogits:
      return "huge";
    default:
      return "constant-pages";
  }
}

// One layer holding `length` tokens of the given kind, pages scattered.
struct Fixture {
  KvCache cache;
  Sequence seq, other;
  std::vector<float> q;  // [heads][kDim]
};

Fixture Make(Data kind, int heads, int kv_heads, int length, int page_size, KvType type,
             uint32_t seed) {
  KvCacheConfig c;
  c.num_layers = 1;
  c.num_kv_heads = kv_heads;
  c.head_dim = kDim;
  c.page_size = page_size;
  c.type = type;
  c.num_pages = 2 * ((length + page_size - 1) / page_size) + 2;
  auto made = KvCache::Create(c);
  QE_CHECK(made.ok(), "%s", made.status().message().c_str());
  Fixture f{std::move(made.value()), {}, {}, {}};
  std::mt19937 rng(seed);
  const size_t row = static_cast<size_t>(kv_heads) * kDim;
  std::vector<float> k = RandomFloats(rng, row * length, -2, 2);
  std::vector<float> v = RandomFloats(rng, row * length, -1, 1);
  f.q = RandomFloats(rng, static_cast<size_t>(heads) * kDim, -1, 1);
  if (kind == Data::kConstantPages) {
    // Every token of a page has the page's first key: the min/max bound is
    // then exact, W is the skipped mass itself, and T = TV for full pages (a
    // certificate any smaller than the derivation's would fail here).
    for (int t = 0; t < length; ++t) {
      std::copy_n(&k[(t - t % page_size) * row], row, &k[t * row]);
    }
  } else if (kind == Data::kOutlierChannels) {
    // Two channels 30x larger in keys and queries (LLM keys' massive
    // activations): the bound's per-channel max over a page is loose there.
    for (int t = 0; t < length; ++t) {
      for (int h = 0; h < kv_heads; ++h) {
        k[t * row + h * kDim + 3] *= 30;
        k[t * row + h * kDim + 41] *= 30;
      }
    }
    for (int h = 0; h < heads; ++h) {
      f.q[h * kDim + 3] *= 30;
      f.q[h * kDim + 41] *= 30;
    }
  } else if (kind == Data::kHugeLogits) {
    // A few tokens whose keys point along their first query head: logits ~40
    // above the rest, and a big V there, so skipping them is costly.
    const int G = heads / kv_heads;
    for (int j = 0; j < 5; ++j) {
      const int t = static_cast<int>(rng() % length);
      for (int h = 0; h < kv_heads; ++h) {
        const float* qh = &f.q[static_cast<size_t>(h * G) * kDim];
        double norm = 0;
        for (int i = 0; i < kDim; ++i) norm += qh[i] * qh[i];
        for (int i = 0; i < kDim; ++i) {
          k[t * row + h * kDim + i] = static_cast<float>(qh[i] * 40 / (kScale * norm));
          v[t * row + h * kDim + i] = 8;
        }
      }
    }
  }
  // Chunks of three pages with another sequence's page between them, so that
  // physical ids are scattered.
  for (int done = 0; done < length;) {
    const int n = std::min(3 * page_size, length - done);
    QE_CHECK(f.cache.Reserve(&f.seq, n).ok());
    f.cache.Write(f.seq, 0, n, k.data() + done * row, v.data() + done * row, 2);
    f.cache.Advance(&f.seq, n);
    done += n;
    QE_CHECK(f.cache.Reserve(&f.other, page_size).ok());
    f.cache.Advance(&f.other, page_size);
  }
  return f;
}

// Per list, the logical pages in `keep` as a PageList of physical ids.
PageList ListOf(const Sequence& seq, int length, int S, const std::vector<std::vector<int>>& keep) {
  PageList out;
  out.indptr.push_back(0);
  const int n = (length + S - 1) / S;
  for (const auto& pages : keep) {
    std::vector<int> sorted = pages;
    std::sort(sorted.begin(), sorted.end());
    for (int p : sorted) out.indices.push_back(seq.pages[p]);
    out.indptr.push_back(static_cast<int32_t>(out.indices.size()));
    out.last_page_len.push_back(!sorted.empty() && sorted.back() == n - 1 ? length - (n - 1) * S
                                                                          : S);
  }
  return out;
}

// The certificate itself, computed from scratch in double: over random,
// outlier-channel and huge-logit keys and many attended sets (Quest's top
// pages by bound, random subsets, the first pages only), dense attention's
// share outside the attended pages never exceeds T, and the output error
// never exceeds 2 T max|v|.
TEST(Certificate, BoundsTheDistanceToDenseAttention) {
  int informative = 0, total = 0;
  for (Data kind :
       {Data::kRandom, Data::kOutlierChannels, Data::kHugeLogits, Data::kConstantPages}) {
    for (uint32_t seed = 1; seed <= 2; ++seed) {
      const int heads = 4, kv_heads = 2, S = 16, length = 700 + 37 * seed;
      Fixture f = Make(kind, heads, kv_heads, length, S, KvType::kF16, seed);
      const PagedKv kv = f.cache.View(0);
      const int n = (length + S - 1) / S;
      std::mt19937 rng(seed);
      for (int trial = 0; trial < 6; ++trial) {
        std::vector<std::vector<int>> keep(heads);  // per query head
        for (int h = 0; h < heads; ++h) {
          std::vector<float> u(n);
          ref::ScorePages(&f.q[h * kDim], 1, kDim, kv, h / (heads / kv_heads), f.seq.pages.data(),
                          n, u.data());
          std::vector<int> idx(n);
          std::iota(idx.begin(), idx.end(), 0);
          if (trial < 3) {  // the top pages by bound: 1/8, 1/4, 1/2 of them
            std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return u[a] > u[b]; });
            idx.resize(std::max(1, n >> (3 - trial)));
          } else if (trial < 5) {
            std::shuffle(idx.begin(), idx.end(), rng);
            idx.resize(1 + rng() % n);
          } else {
            idx.resize(n / 4);
          }
          keep[h] = idx;
        }
        const PageList read = ListOf(f.seq, length, S, keep);
        const ref::CertificateCheck c =
            ref::CheckCertificate(f.q.data(), heads, kv, f.seq.pages.data(), length, read, kScale);
        for (int h = 0; h < heads; ++h) {
          ++total;
          informative += c.tail[h] < 0.5;
          EXPECT_LE(c.tv[h], c.tail[h] * (1 + 1e-9) + 1e-15)
              << Name(kind) << " seed " << seed << " trial " << trial << " head " << h;
          EXPECT_LE(c.out_err[h], 2 * c.tail[h] * c.vmax[h] + 1e-9)
              << Name(kind) << " seed " << seed << " trial " << trial << " head " << h;
        }
      }
    }
  }
  // Not vacuous: the top-page sets certify something well below 1.
  EXPECT_GT(informative, total / 10) << informative << " of " << total;
}

TEST(ExpOfBounds, MatchesReferenceOnEveryTarget) {
  std::mt19937 rng(3);
  testing::ForEachTarget([&](const char* target) {
    for (int n : {1, 3, 7, 15, 16, 17, 33, 127, 128, 1000}) {
      // Spans the clamp at +-80 (exponents from -200 to 200).
      std::vector<float> u = RandomFloats(rng, n + 1, -1600, 1600);
      const float* up = u.data() + 1;  // misaligned
      std::vector<float> got(n), want(n);
      ExpOfBounds(up, n, 0.125f, 3.5f, got.data());
      ref::ExpOfBounds(up, n, 0.125f, 3.5f, want.data());
      for (int j = 0; j < n; ++j) {
        EXPECT_NEAR(got[j], want[j], 1e-5 * want[j]) << target << " n=" << n << " j=" << j;
      }
    }
  });
}

struct Case {
  int heads, kv_heads, length, page_size;
  Semantics semantics;
  GqaMode gqa;
  int sink_pages;
  KvType type;
};

class CertifiedAttentionTest : public ::testing::TestWithParam<Case> {
 protected:
  QuestParams Params(int budget) const {
    const Case& tc = GetParam();
    QuestParams p;
    p.budget = budget;
    p.semantics = tc.semantics;
    p.gqa = tc.gqa;
    p.scale = kScale;
    p.sink_pages = tc.sink_pages;
    return p;
  }
};

// eps so large that the first round certifies, or a cap equal to the first
// round: exactly fixed-budget Quest at budget_min, bit for bit.
TEST_P(CertifiedAttentionTest, FirstRoundOnlyIsFixedBudgetQuest) {
  const Case tc = GetParam();
  for (Data kind : {Data::kRandom, Data::kHugeLogits}) {
    Fixture f = Make(kind, tc.heads, tc.kv_heads, tc.length, tc.page_size, tc.type, 7);
    const PagedKv kv = f.cache.View(0);
    const int budget = 8 * tc.page_size;
    const size_t size = static_cast<size_t>(tc.heads) * kDim;
    PageSelector selector;
    PageList list;
    selector.Select(f.q.data(), tc.heads, kv, f.seq, Params(budget), 2, &list);
    std::vector<float> want(size);
    AttendPages(f.q.data(), tc.heads, kv, list, kScale, 2, want.data());
    CertifiedAttention cert;
    for (const CertifyParams cp : {CertifyParams{1e30, budget, 0}, CertifyParams{0, budget, budget}}) {
      std::vector<float> got(size);
      CertifiedStep step;
      cert.Attend(f.q.data(), tc.heads, kv, f.seq, Params(4096), cp, kScale, 2, got.data(), &step);
      EXPECT_EQ(got, want) << Name(kind) << " eps " << cp.eps;
      EXPECT_EQ(step.read.indices, list.indices);
      EXPECT_EQ(step.read.last_page_len, list.last_page_len);
    }
  }
}

// eps 0 and no cap reads every page: dense attention (up to the merge order).
TEST_P(CertifiedAttentionTest, EpsZeroIsDense) {
  const Case tc = GetParam();
  Fixture f = Make(Data::kRandom, tc.heads, tc.kv_heads, tc.length, tc.page_size, tc.type, 9);
  const PagedKv kv = f.cache.View(0);
  const size_t size = static_cast<size_t>(tc.heads) * kDim;
  std::vector<float> want(size), got(size);
  const int n = f.seq.num_pages();
  AttendPages(f.q.data(), tc.heads, kv, DensePageList(f.seq, tc.page_size, tc.kv_heads), kScale,
              2, want.data());
  CertifiedAttention cert;
  CertifiedStep step;
  cert.Attend(f.q.data(), tc.heads, kv, f.seq, Params(4 * tc.page_size),
              CertifyParams{0, 0, 0}, kScale, 2, got.data(), &step);
  for (size_t i = 0; i < size; ++i) EXPECT_NEAR(got[i], want[i], 2e-6) << i;
  for (int pages : step.pages_read) EXPECT_EQ(pages, n);
  for (float t : step.tail) EXPECT_EQ(t, 0.0f);
  for (int rounds : step.rounds) EXPECT_GT(rounds, 1);
}

// At eps in (0, 1): each list stops certified (T <= eps for every head) or
// capped; the reported T matches the certificate recomputed in double for
// the pages read, which bounds the distance to dense; the output is the
// reference attention over exactly those pages.
TEST_P(CertifiedAttentionTest, StopsCertifiedAndReportsHonestTails) {
  const Case tc = GetParam();
  int certified_early = 0, lists = 0;
  for (Data kind :
       {Data::kRandom, Data::kOutlierChannels, Data::kHugeLogits, Data::kConstantPages}) {
    Fixture f = Make(kind, tc.heads, tc.kv_heads, tc.length, tc.page_size, tc.type, 11);
    const PagedKv kv = f.cache.View(0);
    const size_t size = static_cast<size_t>(tc.heads) * kDim;
    const int n = f.seq.num_pages();
    const int G = tc.heads / tc.kv_heads;
    CertifiedAttention cert;
    for (double eps : {0.3, 0.03}) {
      for (int cap : {0, 24 * tc.page_size}) {
        const CertifyParams cp{eps, 2 * tc.page_size, cap};
        std::vector<float> got(size), want(size);
        CertifiedStep step;
        cert.Attend(f.q.data(), tc.heads, kv, f.seq, Params(4096), cp, kScale, 2, got.data(),
                    &step);
        const std::string where = std::string(Name(kind)) + " eps " + std::to_string(eps) +
                                  " cap " + std::to_string(cap);
        ref::AttendPages(f.q.data(), tc.heads, kv, step.read, kScale, want.data());
        // Outlier channels make logits of ~200, whose f32 rounding (~1e-5
        // relative) moves the weights by ~1e-3.
        const double tol = kind == Data::kOutlierChannels ? 2e-3 : 2e-5;
        for (size_t i = 0; i < size; ++i) ASSERT_NEAR(got[i], want[i], tol) << where << " " << i;
        const ref::CertificateCheck c = ref::CheckCertificate(
            f.q.data(), tc.heads, kv, f.seq.pages.data(), f.seq.length, step.read, kScale);
        for (int l = 0; l < step.read.num_lists(); ++l) {
          ++lists;
          EXPECT_EQ(step.pages_read[l], step.read.indptr[l + 1] - step.read.indptr[l]) << where;
          if (cap > 0) EXPECT_LE(step.pages_read[l], 24) << where;
          certified_early += step.pages_read[l] < n && !step.capped[l];
          if (step.capped[l]) {
            // Capped only at the cap, and only with a head still above eps.
            EXPECT_EQ(step.pages_read[l], cap / tc.page_size) << where;
            const int num_q = step.read.num_lists() == tc.kv_heads ? G : 1;
            const int h0 = num_q == G ? l * G : l;
            EXPECT_GT(*std::max_element(&step.tail[h0], &step.tail[h0] + num_q), eps) << where;
          }
        }
        for (int h = 0; h < tc.heads; ++h) {
          const int l = step.read.num_lists() == tc.kv_heads ? h / G : h;
          EXPECT_NEAR(step.tail[h], c.tail[h], 10 * tol * c.tail[h] + 1e-7)
              << where << " head " << h;
          EXPECT_LE(c.tv[h], c.tail[h] * (1 + 1e-9) + 1e-15) << where << " head " << h;
          if (!step.capped[l]) EXPECT_LE(step.tail[h], eps) << where << " head " << h;
        }
      }
    }
  }
  EXPECT_GT(certified_early, 0) << "no list certified before reading every page";
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CertifiedAttentionTest,
    ::testing::Values(
        Case{4, 1, 1000, 16, Semantics::kKernel, GqaMode::kPerKvHead, 0, KvType::kF16},
        Case{8, 2, 777, 16, Semantics::kKernel, GqaMode::kPerKvHead, 1, KvType::kF16},
        Case{8, 2, 777, 8, Semantics::kKernel, GqaMode::kPerQueryHead, 0, KvType::kF32},
        Case{4, 4, 513, 16, Semantics::kPaper, GqaMode::kPerKvHead, 0, KvType::kF16}),
    [](const ::testing::TestParamInfo<Case>& info) {
      const Case& c = info.param;
      return "h" + std::to_string(c.heads) + "_kv" + std::to_string(c.kv_heads) + "_n" +
             std::to_string(c.length) + "_S" + std::to_string(c.page_size) + "_" +
             Name(c.semantics) + "_" + (c.gqa == GqaMode::kPerKvHead ? "kv" : "q") + "_sink" +
             std::to_string(c.sink_pages) + (c.type == KvType::kF16 ? "_f16" : "_f32");
    });

}  // namespace
}  // namespace quest
