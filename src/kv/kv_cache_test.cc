// Paged KV cache: metadata after any sequence of appends equals metadata
// recomputed from scratch; the Quest bound holds for every key; the pool hands
// out and takes back pages; invalid configurations are named.
#include "src/kv/kv_cache.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "src/kernels/kernels.h"
#include "src/kernels/reference.h"
#include "src/kv/kv_test_util.h"

namespace quest {
namespace {

using testing::RandomCache;
using testing::RandomFloats;

// Checks every page's metadata of every layer and head against the reference.
void ExpectMetadataFromScratch(const RandomCache& r) {
  const KvCacheConfig& c = r.cache.config();
  const int S = c.page_size;
  for (int l = 0; l < c.num_layers; ++l) {
    const PagedKv kv = r.cache.View(l);
    for (int p = 0; p < r.seq.num_pages(); ++p) {
      const int rows = std::min(S, r.seq.length - p * S);
      for (int h = 0; h < c.num_kv_heads; ++h) {
        // The page's stored keys, token-major (the K block is channel-major).
        std::vector<float> keys(static_cast<size_t>(rows) * c.head_dim);
        for (int t = 0; t < rows; ++t) {
          for (int i = 0; i < c.head_dim; ++i) {
            keys[static_cast<size_t>(t) * c.head_dim + i] =
                ref::LoadElement(kv.k, c.type, kv.KOffset(r.seq.pages[p], h, t, i));
          }
        }
        std::vector<float> want_max, want_min;
        ref::PageMinMax(keys.data(), KvType::kF32, rows, c.head_dim, &want_max, &want_min);
        const size_t meta = kv.MetaOffset(r.seq.pages[p], h);
        for (int i = 0; i < c.head_dim; ++i) {
          ASSERT_EQ(ref::LoadElement(kv.kmax, c.type, meta + i), want_max[i])
              << "layer " << l << " page " << p << " head " << h << " channel " << i;
          ASSERT_EQ(ref::LoadElement(kv.kmin, c.type, meta + i), want_min[i]);
        }
      }
    }
  }
}

TEST(KvCache, MetadataAfterRandomAppendsEqualsFromScratch) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 24; ++trial) {
    KvCacheConfig c;
    c.num_layers = 2;
    c.num_kv_heads = 1 + trial % 3;
    c.head_dim = 16 * (1 + trial % 4);
    c.page_size = 4 << (trial % 4);
    c.type = trial % 2 ? KvType::kF32 : KvType::kF16;
    const int length = 1 + rng() % 300;
    // Random chunk sizes: single tokens (decode), page-crossing prefill chunks.
    std::vector<int> chunks;
    for (int i = 0; i < 8; ++i) chunks.push_back(1 + rng() % (i % 2 ? 3 : 70));
    RandomCache r = RandomCache::Make(c, length, trial, chunks);
    ASSERT_EQ(r.seq.length, length);
    ExpectMetadataFromScratch(r);
  }
}

TEST(KvCache, EmptyAndOneTokenAppends) {
  KvCacheConfig c;
  c.head_dim = 32;
  c.num_pages = 4;
  KvCache cache = std::move(KvCache::Create(c).value());
  Sequence seq;
  ASSERT_TRUE(cache.Reserve(&seq, 0).ok());
  EXPECT_EQ(seq.num_pages(), 0);
  cache.Write(seq, 0, 0, nullptr, nullptr);  // nothing to write
  cache.Advance(&seq, 0);
  std::vector<float> k(32, 0.5f), v(32, -0.5f);
  ASSERT_TRUE(cache.Reserve(&seq, 1).ok());
  cache.Write(seq, 0, 1, k.data(), v.data());
  cache.Advance(&seq, 1);
  EXPECT_EQ(seq.num_pages(), 1);
  const PagedKv kv = cache.View(0);
  EXPECT_EQ(ref::LoadElement(kv.kmax, kv.type, kv.MetaOffset(seq.pages[0], 0)), 0.5f);
  EXPECT_EQ(ref::LoadElement(kv.kmin, kv.type, kv.MetaOffset(seq.pages[0], 0)), 0.5f);
}

// U(p) >= q.k for every key of every page, for random q of both signs, one
// query per KV head or four (GQA: the tiles that score several queries on
// each page's metadata).
TEST(KvCache, QuestBoundHoldsForEveryKey) {
  for (uint32_t seed = 0; seed < 40; ++seed) {
    KvCacheConfig c;
    c.num_kv_heads = 2;
    c.head_dim = seed % 2 ? 64 : 128;
    c.page_size = 4 << (seed % 3);
    c.type = seed % 3 == 0 ? KvType::kF32 : KvType::kF16;
    const int length = 1 + (seed * 37) % 200;
    const int G = seed % 4 < 2 ? 1 : 4;
    RandomCache r = RandomCache::Make(c, length, seed);
    const PagedKv kv = r.cache.View(0);
    std::mt19937 rng(seed);
    const float mag = seed % 4 == 0 || seed % 4 == 3 ? 100.0f : 1.0f;
    std::vector<float> q = RandomFloats(rng, G * c.head_dim, -mag, mag);
    const int n = r.seq.num_pages();
    for (int h = 0; h < c.num_kv_heads; ++h) {
      std::vector<float> u(static_cast<size_t>(G) * n);
      ScorePages(q.data(), G, c.head_dim, kv, h, r.seq.pages.data(), n, u.data());
      for (int g = 0; g < G; ++g) {
        for (int pos = 0; pos < length; ++pos) {
          const int p = pos / c.page_size;
          double dot = 0;
          for (int i = 0; i < c.head_dim; ++i) {
            dot +=
                q[g * c.head_dim + i] *
                ref::LoadElement(kv.k, c.type, kv.KOffset(r.seq.pages[p], h, pos % c.page_size, i));
          }
          // The SIMD sum rounds in fp32: allow its rounding, nothing more.
          ASSERT_GE(u[static_cast<size_t>(g) * n + p] + 1e-5 * mag * c.head_dim, dot)
              << "seed " << seed << " query " << g << " pos " << pos;
        }
      }
    }
  }
}

TEST(KvCache, PoolReserveReleaseAndFull) {
  KvCacheConfig c;
  c.head_dim = 16;
  c.page_size = 4;
  c.num_pages = 3;
  KvCache cache = std::move(KvCache::Create(c).value());
  Sequence a, b;
  ASSERT_TRUE(cache.Reserve(&a, 9).ok());  // 3 pages
  EXPECT_EQ(cache.free_pages(), 0);
  const Status full = cache.Reserve(&b, 1);
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.message().find("KV cache full"), std::string::npos) << full.message();
  cache.Release(&a);
  EXPECT_EQ(cache.free_pages(), 3);
  EXPECT_TRUE(cache.Reserve(&b, 12).ok());
}

// A pool in a mapped scratch file holds exactly what the RAM pool holds (the
// same writes, byte for byte through ExportPage), the file is gone from the
// path at once, and an existing path is refused, never overwritten.
TEST(KvCache, PoolFileHoldsWhatRamHolds) {
  KvCacheConfig c;
  c.num_layers = 2;
  c.num_kv_heads = 3;
  c.head_dim = 32;
  c.page_size = 8;
  for (KvType type : {KvType::kF16, KvType::kF32}) {
    c.type = type;
    c.pool_file = "";
    testing::RandomCache ram = testing::RandomCache::Make(c, 45, 11, {7, 13, 1});
    KvCacheConfig fc = ram.cache.config();
    fc.pool_file = ::testing::TempDir() + "/kv_pool_" + std::to_string(static_cast<int>(type));
    Result<KvCache> made = KvCache::Create(fc);
    ASSERT_TRUE(made.ok()) << made.status().message();
    KvCache& file = *made;
    EXPECT_FALSE(std::ifstream(fc.pool_file).good()) << "the pool file must be unlinked";
    // The same tokens through the same page ids, in one append.
    Sequence seq;
    std::vector<uint8_t> a(file.PageRecordBytes()), b(file.PageRecordBytes());
    seq.pages = ram.seq.pages;
    for (int l = 0; l < c.num_layers; ++l) {
      file.Write(seq, l, 45, ram.k[l].data(), ram.v[l].data(), 2);
      for (int32_t page : ram.seq.pages) {
        ram.cache.ExportPage(l, page, a.data());
        file.ExportPage(l, page, b.data());
        ASSERT_EQ(a, b) << "layer " << l << " page " << page;
      }
    }
    // A second pool at a path that exists is refused.
    const std::string taken = ::testing::TempDir() + "/kv_pool_taken";
    std::ofstream(taken) << "a user's file";
    fc.pool_file = taken;
    const Status refused = KvCache::Create(fc).status();
    EXPECT_NE(refused.message().find("exists"), std::string::npos) << refused.message();
    std::string kept;
    std::getline(std::ifstream(taken), kept);
    EXPECT_EQ(kept, "a user's file");
    std::remove(taken.c_str());
  }
}

TEST(KvCache, InvalidConfigIsNamed) {
  KvCacheConfig c;
  c.page_size = 12;
  EXPECT_NE(KvCache::Create(c).status().message().find("page_size"), std::string::npos);
  c = {};
  c.page_size = 256;
  EXPECT_NE(KvCache::Create(c).status().message().find("256"), std::string::npos);
  c = {};
  c.head_dim = 100;
  EXPECT_NE(KvCache::Create(c).status().message().find("head_dim"), std::string::npos);
  c = {};
  c.num_kv_heads = 0;
  EXPECT_FALSE(KvCache::Create(c).ok());
}

}  // namespace
}  // namespace quest
