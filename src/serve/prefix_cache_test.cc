// The prefix cache over a real page pool: pages are shared only along equal
// token chains, counted by references, kept when unreferenced, evicted least
// recently used first, and never lost or handed out twice.
#include "src/serve/prefix_cache.h"

#include <gtest/gtest.h>

#include <numeric>
#include <set>

namespace quest {
namespace {

constexpr int S = 4;

KvCache Pool(int pages) {
  KvCacheConfig c;
  c.num_layers = 1;
  c.num_kv_heads = 1;
  c.head_dim = 16;
  c.page_size = S;
  c.num_pages = pages;
  return std::move(*KvCache::Create(c));
}

std::vector<int32_t> Tokens(int n, int start) {
  std::vector<int32_t> t(n);
  std::iota(t.begin(), t.end(), start);
  return t;
}

// A sequence that owns fresh pages for `tokens` (as a prefill leaves it).
Sequence Filled(KvCache& pool, int n) {
  Sequence s;
  EXPECT_TRUE(pool.Reserve(&s, n).ok());
  s.length = n;
  return s;
}

TEST(PrefixCache, SharesTheLongestChainOfFullPages) {
  KvCache pool = Pool(16);
  PrefixCache cache(&pool);
  const std::vector<int32_t> doc = Tokens(10, 100);  // 2 full pages + 2 tokens
  Sequence a = Filled(pool, 10);
  cache.Publish(doc, a);
  EXPECT_EQ(cache.registered_pages(), 2);

  std::vector<int32_t> question = doc;
  question.push_back(7);  // same document, another question
  Sequence b;
  EXPECT_EQ(cache.Acquire(question, 100, &b), 2 * S);
  ASSERT_EQ(b.num_pages(), 2);
  EXPECT_EQ(b.pages[0], a.pages[0]);
  EXPECT_EQ(b.pages[1], a.pages[1]);

  // A different second page: only the first is shared.
  std::vector<int32_t> other = doc;
  other[5] = 9999;
  Sequence c;
  EXPECT_EQ(cache.Acquire(other, 100, &c), S);
  // max_pages bounds what is taken.
  Sequence d;
  EXPECT_EQ(cache.Acquire(question, 1, &d), S);
  cache.Release(&b);
  cache.Release(&c);
  cache.Release(&d);
  cache.Release(&a);
  // Registered pages stay cached; the partial page went back to the pool.
  EXPECT_EQ(cache.cached_pages(), 2);
  EXPECT_EQ(pool.free_pages(), 16 - 2);
}

TEST(PrefixCache, APageIsKeyedByItsWholePrefixNotItsOwnTokens) {
  KvCache pool = Pool(16);
  PrefixCache cache(&pool);
  // Same second page, different first pages.
  std::vector<int32_t> x = Tokens(8, 0), y = Tokens(8, 0);
  y[0] = 500;
  Sequence a = Filled(pool, 8);
  cache.Publish(x, a);
  Sequence b;
  EXPECT_EQ(cache.Acquire(y, 100, &b), 0);
  EXPECT_TRUE(b.pages.empty());
  cache.Release(&a);
}

TEST(PrefixCache, UnreferencedPagesAreEvictedLeastRecentlyUsedFirst) {
  KvCache pool = Pool(6);
  PrefixCache cache(&pool);
  const std::vector<int32_t> first = Tokens(8, 0), second = Tokens(8, 1000);
  Sequence a = Filled(pool, 8);
  cache.Publish(first, a);
  cache.Release(&a);
  Sequence b = Filled(pool, 8);
  cache.Publish(second, b);
  cache.Release(&b);
  EXPECT_EQ(cache.cached_pages(), 4);
  EXPECT_EQ(pool.free_pages(), 2);
  // Use the first document again: the second is now the least recent.
  Sequence c;
  EXPECT_EQ(cache.Acquire(first, 100, &c), 8);
  cache.Release(&c);
  ASSERT_TRUE(cache.MakeFree(4));
  EXPECT_EQ(pool.free_pages(), 4);
  Sequence d;
  EXPECT_EQ(cache.Acquire(second, 100, &d), 0);  // evicted
  Sequence e;
  EXPECT_EQ(cache.Acquire(first, 100, &e), 8);  // kept
  // Referenced pages are never evicted.
  EXPECT_FALSE(cache.MakeFree(6));
  EXPECT_EQ(e.num_pages(), 2);
  cache.Release(&e);
  EXPECT_TRUE(cache.MakeFree(6));
  EXPECT_EQ(cache.cached_pages(), 0);
}

TEST(PrefixCache, NoPageIsLostOrHandedOutTwiceUnderChurn) {
  KvCache pool = Pool(40);
  PrefixCache cache(&pool);
  std::vector<std::pair<Sequence, std::vector<int32_t>>> live;
  uint64_t rng = 12345;
  auto next = [&rng](int n) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int>((rng >> 33) % n);
  };
  for (int step = 0; step < 2000; ++step) {
    if (live.size() < 4 && next(2) == 0) {
      // A prompt from a few shared documents, plus a private tail.
      std::vector<int32_t> t = Tokens(4 * (1 + next(3)), 100 * next(3));
      const int tail = next(7);
      for (int i = 0; i < tail; ++i) t.push_back(10000 + step * 10 + i);
      Sequence s;
      const int cached = cache.Acquire(t, (static_cast<int>(t.size()) - 1) / S, &s);
      const int need = (static_cast<int>(t.size()) + S - 1) / S - s.num_pages();
      if (!cache.MakeFree(need)) {
        cache.Release(&s);
        continue;
      }
      ASSERT_TRUE(pool.Reserve(&s, static_cast<int>(t.size()) - cached).ok());
      s.length = static_cast<int>(t.size());
      cache.Publish(t, s);
      live.emplace_back(std::move(s), std::move(t));
    } else if (!live.empty()) {
      const int i = next(static_cast<int>(live.size()));
      cache.Release(&live[i].first);
      live.erase(live.begin() + i);
    }
    // Every page is in exactly one place: a live sequence's table (shared
    // pages counted once), the cache's unreferenced set, or the free list.
    std::set<int32_t> held;
    for (auto& [s, t] : live) held.insert(s.pages.begin(), s.pages.end());
    ASSERT_EQ(static_cast<int>(held.size()) + cache.cached_pages() + pool.free_pages(), 40)
        << "step " << step;
  }
  for (auto& [s, t] : live) cache.Release(&s);
  EXPECT_TRUE(cache.MakeFree(40));
}

}  // namespace
}  // namespace quest
