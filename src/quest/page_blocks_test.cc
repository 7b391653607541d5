// Two-level selection: ranged page scores equal the whole-list ones bit for
// bit; block metadata equals a recomputation from the pages; block bounds
// cover their pages; and the two-level path selects exactly the flat scan's
// pages on random and adversarial keys, for every budget edge, sink, both
// semantics and both GQA modes.
#include "src/quest/page_blocks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>

#include "src/kernels/kernels.h"
#include "src/kv/kv_test_util.h"
#include "src/quest/page_select.h"
#include "src/quest/synthetic_keys.h"
#include "src/quest/two_level_select.h"
#include "src/util/f16.h"

namespace quest {
namespace {

using testing::ForEachTarget;
using testing::RandomFloats;

enum class Keys { kRandom, kStructured, kAllEqual, kOutlier };

// A cache holding one sequence of the given keys, written in chunks of 7
// tokens, its pages interleaved with another sequence's (scattered ids).
struct Filled {
  KvCache cache;
  Sequence seq, other;
};

Filled Fill(const KvCacheConfig& base, const std::vector<float>& keys, int length) {
  KvCacheConfig c = base;
  c.num_pages = 2 * ((length + c.page_size - 1) / c.page_size) + 2;
  auto made = KvCache::Create(c);
  QE_CHECK(made.ok(), "%s", made.status().message().c_str());
  Filled f{std::move(made.value()), {}, {}};
  const size_t row = static_cast<size_t>(c.num_kv_heads) * c.head_dim;
  const std::vector<float> v(row * 7, 0.5f);
  for (int done = 0; done < length;) {
    const int n = std::min(7, length - done);
    QE_CHECK(f.cache.Reserve(&f.seq, n).ok());
    f.cache.Write(f.seq, 0, n, keys.data() + done * row, v.data());
    f.cache.Advance(&f.seq, n);
    done += n;
    if (f.other.num_pages() < f.seq.num_pages()) {
      QE_CHECK(f.cache.Reserve(&f.other, c.page_size).ok());
      f.cache.Advance(&f.other, c.page_size);
    }
  }
  return f;
}

std::vector<float> MakeKeys(Keys kind, const KvCacheConfig& c, int length, uint32_t seed) {
  const size_t row = static_cast<size_t>(c.num_kv_heads) * c.head_dim;
  std::mt19937 rng(seed);
  if (kind == Keys::kStructured) {
    SyntheticKeys s;
    s.num_kv_heads = c.num_kv_heads;
    s.head_dim = c.head_dim;
    s.passage = 64;
    s.seed = seed;
    return s.Keys(length);
  }
  if (kind == Keys::kAllEqual) {  // every page bound ties
    const std::vector<float> one = RandomFloats(rng, row, -2, 2);
    std::vector<float> k(row * length);
    for (int t = 0; t < length; ++t) std::copy(one.begin(), one.end(), k.begin() + t * row);
    return k;
  }
  std::vector<float> k = RandomFloats(rng, row * length, -2, 2);
  if (kind == Keys::kOutlier) {  // one page's keys 100x the rest
    const int page = static_cast<int>(rng() % (length / c.page_size));
    for (int t = page * c.page_size; t < (page + 1) * c.page_size; ++t) {
      for (size_t i = 0; i < row; ++i) k[t * row + i] *= 100;
    }
  }
  return k;
}

TEST(ScorePagesRange, EqualsWholeListBitForBit) {
  std::mt19937 rng(3);
  for (KvType type : {KvType::kF16, KvType::kF32, KvType::kQ8}) {
    KvCacheConfig c;
    c.num_kv_heads = 2;
    c.head_dim = 64;
    c.page_size = 4;
    c.type = type;
    const int length = 4 * 77 - 1;
    testing::RandomCache r = testing::RandomCache::Make(c, length, 11);
    const int n = r.seq.num_pages();
    ForEachTarget([&](const char* target) {
      for (int num_q : {1, 2, 3, 4, 8}) {
        const std::vector<float> q = RandomFloats(rng, static_cast<size_t>(num_q) * c.head_dim);
        std::vector<float> whole(static_cast<size_t>(num_q) * n);
        ScorePages(q.data(), num_q, c.head_dim, r.cache.View(0), 1, r.seq.pages.data(), n,
                   whole.data());
        for (int trial = 0; trial < 60; ++trial) {
          const int first = trial < 3 ? trial * 16 : static_cast<int>(rng() % n);
          const int count = static_cast<int>(rng() % (n - first + 1));
          std::vector<float> part(static_cast<size_t>(num_q) * count);
          ScorePagesRange(q.data(), num_q, c.head_dim, r.cache.View(0), 1, r.seq.pages.data(), n,
                          first, count, part.data());
          for (int g = 0; g < num_q; ++g) {
            for (int j = 0; j < count; ++j) {
              ASSERT_EQ(part[g * count + j], whole[g * n + first + j])
                  << target << " num_q=" << num_q << " first=" << first << " j=" << j;
            }
          }
        }
      }
    });
  }
}

float Meta(const void* base, KvType type, size_t i) {
  if (KvMetaType(type) == KvType::kF16) return F16ToF32(static_cast<const uint16_t*>(base)[i]);
  return static_cast<const float*>(base)[i];
}

// The block metadata recomputed from the pages: max of kmax, min of kmin.
void ExpectBlocksMatchPages(const PageBlocks& blocks, const PagedKv& kv, const Sequence& seq) {
  const int B = blocks.block_pages();
  ASSERT_EQ(blocks.folded_pages(), seq.length / kv.page_size);
  for (int h = 0; h < kv.num_kv_heads; ++h) {
    const PagedKv bv = blocks.BlockView(h);
    for (int b = 0; b < blocks.num_blocks(); ++b) {
      float amax = 0;
      for (int i = 0; i < kv.head_dim; ++i) {
        float hi = -INFINITY, lo = INFINITY;
        for (int p = b * B; p < std::min((b + 1) * B, blocks.folded_pages()); ++p) {
          hi = std::max(hi, Meta(kv.kmax, kv.type, kv.MetaOffset(seq.pages[p], h) + i));
          lo = std::min(lo, Meta(kv.kmin, kv.type, kv.MetaOffset(seq.pages[p], h) + i));
        }
        ASSERT_EQ(Meta(bv.kmax, kv.type, bv.MetaOffset(b, 0) + i), hi) << "block " << b;
        ASSERT_EQ(Meta(bv.kmin, kv.type, bv.MetaOffset(b, 0) + i), lo) << "block " << b;
        amax = std::max({amax, std::fabs(hi), std::fabs(lo)});
      }
      ASSERT_EQ(blocks.abs_max(h)[b], amax);
    }
  }
}

TEST(PageBlocks, IncrementalEqualsRecomputedAndSurvivesRefill) {
  for (KvType type : {KvType::kF16, KvType::kF32, KvType::kQ8}) {
    KvCacheConfig c;
    c.num_kv_heads = 2;
    c.head_dim = 16;
    c.page_size = 4;
    c.type = type;
    c.num_pages = 64;
    KvCache cache = std::move(KvCache::Create(c).value());
    std::mt19937 rng(7);
    PageBlocks blocks(3);
    Sequence seq;
    const size_t row = static_cast<size_t>(c.num_kv_heads) * c.head_dim;
    // Grow token by token (folded as pages fill), then release and refill the
    // same page ids with other keys after Truncate.
    for (int round = 0; round < 2; ++round) {
      const float scale = round == 0 ? 1.0f : 50.0f;
      for (int t = 0; t < 4 * 19 + 2; ++t) {
        ASSERT_TRUE(cache.Reserve(&seq, 1).ok());
        const std::vector<float> k = RandomFloats(rng, row, -scale, scale);
        cache.Write(seq, 0, 1, k.data(), k.data());
        cache.Advance(&seq, 1);
        if (t % 5 == 0) {
          blocks.Update(cache.View(0), seq);
          ExpectBlocksMatchPages(blocks, cache.View(0), seq);
        }
      }
      blocks.Update(cache.View(0), seq);
      ExpectBlocksMatchPages(blocks, cache.View(0), seq);
      cache.Release(&seq);
      blocks.Truncate(seq.length);
    }
  }
}

// Two-level against flat through PageSelector::Select, on one cache.
struct Case {
  Keys keys;
  int length, page_size, budget, block_pages, sink;
  Semantics semantics;
  GqaMode gqa;
};

int64_t CompareOnCase(const Case& tc, KvType type, uint32_t seed) {
  KvCacheConfig c;
  c.num_kv_heads = 2;
  c.head_dim = 32;
  c.page_size = tc.page_size;
  c.type = type;
  const int num_heads = 8;  // G = 4
  const std::vector<float> keys = MakeKeys(tc.keys, c, tc.length, seed);
  Filled f = Fill(c, keys, tc.length);
  QuestParams p;
  p.budget = tc.budget;
  p.semantics = tc.semantics;
  p.gqa = tc.gqa;
  p.aggregate = GqaAggregate::kMax;
  p.sink_pages = tc.sink;
  std::mt19937 rng(seed + 1);
  int64_t read = 0;
  for (int step = 0; step < 3; ++step) {
    std::vector<float> q = RandomFloats(rng, static_cast<size_t>(num_heads) * c.head_dim, -1, 1);
    if (step == 2) std::fill(q.begin(), q.end(), 0.25f);  // every head alike
    PageSelector flat_sel, two_sel;
    PageList flat, two;
    p.select_path = SelectPath::kFlat;
    flat_sel.Select(q.data(), num_heads, f.cache.View(0), f.seq, p, 1, &flat);
    p.select_path = SelectPath::kTwoLevel;
    PageBlocks blocks(tc.block_pages);
    two_sel.Select(q.data(), num_heads, f.cache.View(0), f.seq, p, 1 + step % 2, &two, &blocks);
    EXPECT_EQ(flat.indptr, two.indptr);
    EXPECT_EQ(flat.indices, two.indices);
    EXPECT_EQ(flat.last_page_len, two.last_page_len);
    if (two_sel.last_stats().scored) {
      EXPECT_TRUE(two_sel.last_stats().two_level);
      read += two_sel.last_stats().metadata_bytes - flat_sel.last_stats().metadata_bytes;
    }
  }
  return read;
}

TEST(TwoLevelSelect, SameSelectionAsFlatScan) {
  const Keys kinds[] = {Keys::kRandom, Keys::kStructured, Keys::kAllEqual, Keys::kOutlier};
  uint32_t seed = 1;
  for (Keys keys : kinds) {
    for (GqaMode gqa : {GqaMode::kPerKvHead, GqaMode::kPerQueryHead}) {
      for (Semantics sem : {Semantics::kKernel, Semantics::kPaper}) {
        // Budgets: one page, a few, all but one; partial and full last
        // pages; sink pages; blocks of 1, 3 and 16 pages.
        const Case cases[] = {
            {keys, 16 * 61 + 5, 16, 16, 16, 0, sem, gqa},
            {keys, 16 * 61 + 5, 16, 160, 3, 1, sem, gqa},
            {keys, 16 * 64, 16, 16 * 63, 16, 2, sem, gqa},
            {keys, 4 * 203, 4, 64, 1, 0, sem, gqa},
            {keys, 4 * 203 + 3, 4, 40, 16, 20, sem, gqa},
        };
        for (const Case& tc : cases) {
          {  // f16, f32 and q8 storage in turn
            const KvType type = seed % 3 == 0 ? KvType::kF16 : seed % 3 == 1 ? KvType::kF32 : KvType::kQ8;
            SCOPED_TRACE(::testing::Message()
                         << "keys=" << static_cast<int>(keys) << " gqa=" << Name(gqa)
                         << " sem=" << Name(sem) << " len=" << tc.length << " S=" << tc.page_size
                         << " budget=" << tc.budget << " B=" << tc.block_pages
                         << " sink=" << tc.sink << " kv=" << KvTypeName(type));
            CompareOnCase(tc, type, seed++);
          }
        }
      }
    }
  }
}

// Budgets 0, 1 and every page, and forced anywhere, at the level of the
// top-k itself: SelectTopKTwoLevel against SelectTopK over the same scores.
TEST(TwoLevelSelect, TopKEdgesMatchSelectTopK) {
  KvCacheConfig c;
  c.num_kv_heads = 1;
  c.head_dim = 16;
  c.page_size = 4;
  const int length = 4 * 50;
  std::mt19937 rng(9);
  for (Keys keys : {Keys::kRandom, Keys::kAllEqual, Keys::kOutlier}) {
    Filled f = Fill(c, MakeKeys(keys, c, length, 5), length);
    const int n = f.seq.num_pages();
    PageBlocks blocks(4);
    blocks.Update(f.cache.View(0), f.seq);
    for (int num_q : {1, 4}) {
      const std::vector<float> q = RandomFloats(rng, static_cast<size_t>(num_q) * c.head_dim);
      std::vector<float> scores(static_cast<size_t>(num_q) * n), agg(n);
      ScorePages(q.data(), num_q, c.head_dim, f.cache.View(0), 0, f.seq.pages.data(), n,
                 scores.data());
      AggregateScores(scores.data(), num_q, n, GqaAggregate::kMax, 1.0f, agg.data());
      for (int k : {0, 1, 2, 7, n - 1, n, n + 3}) {
        for (int sink : {0, 1, 5, n + 1}) {
          for (int forced : {-1, 0, 3, 17, n - 1}) {
            std::vector<int32_t> want, got;
            SelectTopK(agg.data(), n, k, sink, forced, &want);
            TwoLevelScratch scratch;
            TwoLevelCounts counts;
            SelectTopKTwoLevel(q.data(), num_q, f.cache.View(0), 0, f.seq.pages.data(), n, blocks,
                               k, sink, forced, &scratch, &got, &counts);
            ASSERT_EQ(want, got) << "k=" << k << " sink=" << sink << " forced=" << forced
                                 << " num_q=" << num_q << " keys=" << static_cast<int>(keys);
          }
        }
      }
    }
  }
}

// Block bounds with their margin cover every page score in the block.
TEST(TwoLevelSelect, BlockBoundCoversItsPages) {
  KvCacheConfig c;
  c.num_kv_heads = 1;
  c.head_dim = 64;
  c.page_size = 8;
  const int length = 8 * 128;
  std::mt19937 rng(4);
  for (Keys keys : {Keys::kRandom, Keys::kStructured, Keys::kAllEqual}) {
    Filled f = Fill(c, MakeKeys(keys, c, length, 2), length);
    const int n = f.seq.num_pages();
    PageBlocks blocks(8);
    blocks.Update(f.cache.View(0), f.seq);
    const PagedKv bv = blocks.BlockView(0);
    std::vector<int32_t> ids(blocks.num_blocks());
    std::iota(ids.begin(), ids.end(), 0);
    for (int trial = 0; trial < 20; ++trial) {
      const std::vector<float> q = RandomFloats(rng, c.head_dim, -3, 3);
      std::vector<float> ps(n), bs(ids.size());
      ScorePages(q.data(), 1, c.head_dim, f.cache.View(0), 0, f.seq.pages.data(), n, ps.data());
      ScorePages(q.data(), 1, c.head_dim, bv, 0, ids.data(), blocks.num_blocks(), bs.data());
      double q1 = 0;
      for (float x : q) q1 += std::fabs(x);
      for (int p = 0; p < n; ++p) {
        const int b = p / 8;
        const double margin = 2 * ScoreRoundingGamma(c.head_dim) * q1 * blocks.abs_max(0)[b];
        ASSERT_LE(ps[p], bs[b] + margin) << "page " << p;
      }
    }
  }
}

// On keys with structure the descent skips most pages (so the equality above
// is not the flat scan in disguise); on uniform random keys it cannot.
TEST(TwoLevelSelect, PrunesStructuredKeys) {
  KvCacheConfig c;
  c.num_kv_heads = 2;
  c.head_dim = 64;
  c.page_size = 16;
  const int length = 16 * 1024;
  SyntheticKeys sk;
  sk.num_kv_heads = c.num_kv_heads;
  sk.head_dim = c.head_dim;
  sk.noise = 0.1f;
  sk.content = 4.0f;
  Filled f = Fill(c, sk.Keys(length), length);
  QuestParams p;
  p.budget = 512;
  p.gqa = GqaMode::kPerQueryHead;
  p.select_path = SelectPath::kTwoLevel;
  const int num_heads = 2;
  const std::vector<float> q = sk.Queries(num_heads, length - 1, 3);
  PageSelector sel;
  PageList list;
  PageBlocks blocks(4);
  sel.Select(q.data(), num_heads, f.cache.View(0), f.seq, p, 1, &list, &blocks);
  const SelectStats& s = sel.last_stats();
  ASSERT_TRUE(s.two_level);
  EXPECT_LT(s.pages_scored, num_heads * 1024 / 2) << "blocks " << s.blocks_scored;
}

TEST(TwoLevelSelect, AutoPathFollowsThresholdAndExactness) {
  QuestParams p;
  EXPECT_FALSE(UsesTwoLevel(p, 4, kTwoLevelMinTokens));  // softmax-sum: flat
  EXPECT_TRUE(UsesTwoLevel(p, 1, kTwoLevelMinTokens));
  EXPECT_FALSE(UsesTwoLevel(p, 1, kTwoLevelMinTokens - 1));
  p.aggregate = GqaAggregate::kMax;
  EXPECT_TRUE(UsesTwoLevel(p, 4, kTwoLevelMinTokens));
  p.select_path = SelectPath::kFlat;
  EXPECT_FALSE(UsesTwoLevel(p, 4, 1 << 30));
  p.select_path = SelectPath::kTwoLevel;
  EXPECT_TRUE(UsesTwoLevel(p, 4, 100));
  p.gqa = GqaMode::kPerQueryHead;
  p.aggregate = GqaAggregate::kSoftmaxSum;
  EXPECT_TRUE(UsesTwoLevel(p, 4, 100));
  EXPECT_EQ(ParseSelectPath("two-level").value(), SelectPath::kTwoLevel);
  EXPECT_FALSE(ParseSelectPath("blocks").ok());
}

}  // namespace
}  // namespace quest
