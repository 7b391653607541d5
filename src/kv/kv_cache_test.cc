// Paged KV cache: metadata after any sequence of appends equals metadata
// recomputed from scratch; the Quest bound holds for every key; the pool hands
// out and takes back pages; invalid configurations are named.
#include "src/kv/kv_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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
                ref::LoadKey(kv, r.seq.pages[p], h, t, i);
          }
        }
        std::vector<float> want_max, want_min;
        ref::PageMinMax(keys.data(), KvType::kF32, rows, c.head_dim, &want_max, &want_min);
        if (c.type == KvType::kQ8) {  // f16 metadata, rounded outward
          for (float& x : want_max) x = ref::F16AtLeast(x);
          for (float& x : want_min) x = ref::F16AtMost(x);
        }
        const size_t meta = kv.MetaOffset(r.seq.pages[p], h);
        for (int i = 0; i < c.head_dim; ++i) {
          ASSERT_EQ(ref::LoadElement(kv.kmax, KvMetaType(c.type), meta + i), want_max[i])
              << "layer " << l << " page " << p << " head " << h << " channel " << i;
          ASSERT_EQ(ref::LoadElement(kv.kmin, KvMetaType(c.type), meta + i), want_min[i]);
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
    c.type = trial % 3 == 0 ? KvType::kF32 : trial % 3 == 1 ? KvType::kF16 : KvType::kQ8;
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
  for (KvType type : {KvType::kF16, KvType::kF32, KvType::kQ8}) {
    KvCacheConfig c;
    c.head_dim = 32;
    c.num_pages = 4;
    c.type = type;
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
    const KvType mt = KvMetaType(type);
    // 0.5 and -0.5 are stored exactly in every type (q8: code 127, scale 0.5 / 127).
    EXPECT_FLOAT_EQ(ref::LoadElement(kv.kmax, mt, kv.MetaOffset(seq.pages[0], 0)), 0.5f);
    EXPECT_FLOAT_EQ(ref::LoadElement(kv.kmin, mt, kv.MetaOffset(seq.pages[0], 0)), 0.5f);
    EXPECT_FLOAT_EQ(ref::LoadValue(kv, seq.pages[0], 0, 0, 31), -0.5f);
  }
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
    c.type = seed % 3 == 0 ? KvType::kF32 : seed % 3 == 1 ? KvType::kF16 : KvType::kQ8;
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
            dot += q[g * c.head_dim + i] *
                   ref::LoadKey(kv, r.seq.pages[p], h, pos % c.page_size, i);
          }
          // The SIMD sum rounds in fp32: allow its rounding, nothing more.
          ASSERT_GE(u[static_cast<size_t>(g) * n + p] + 1e-5 * mag * c.head_dim, dot)
              << "seed " << seed << " query " << g << " pos " << pos;
        }
      }
    }
  }
}

// q8 keys as stored are the int8 codes times their row's scale, up to half a
// step away from the keys given: the metadata must bound the stored keys
// (computed from them), else q . k_stored can exceed U(p). Adversarial keys:
// one outlier channel per row (the others round to few codes), rows of one
// repeated value, magnitudes from 1e-30 to 1e30 within a page (clipped to
// kQ8KeyLimit), and random rows. U(p) is summed in double here in the same channel order as q . k,
// which makes the check exact (every product of two floats is exact in
// double, and rounded sums are monotone); the SIMD ScorePages gets fp32
// rounding room.
TEST(KvCache, Q8BoundHoldsForStoredKeysOnAdversarialKeys) {
  for (uint32_t seed = 0; seed < 12; ++seed) {
    KvCacheConfig c;
    c.num_kv_heads = 2;
    c.head_dim = seed % 2 ? 64 : 32;
    c.page_size = seed % 3 == 0 ? 4 : 16;
    c.type = KvType::kQ8;
    const int length = 3 * c.page_size + 5;  // a partial last page
    c.num_pages = (length + c.page_size - 1) / c.page_size;
    KvCache cache = std::move(KvCache::Create(c).value());
    std::mt19937 rng(seed);
    const int D = c.head_dim;
    const size_t row = static_cast<size_t>(c.num_kv_heads) * D;
    std::vector<float> k = RandomFloats(rng, row * length, -1, 1);
    const std::vector<float> v = RandomFloats(rng, row * length, -1, 1);
    for (int t = 0; t < length; ++t) {
      float* kt = &k[t * row];
      switch ((seed + t) % 4) {
        case 0:  // an outlier channel
          kt[rng() % row] = (rng() % 2 ? 1 : -1) * 1000.0f;
          break;
        case 1:  // all equal
          std::fill(kt, kt + row, kt[0]);
          break;
        case 2: {  // huge or tiny row, both signs
          const float mag = std::pow(10.0f, static_cast<float>(static_cast<int>(rng() % 61) - 30));
          for (size_t i = 0; i < row; ++i) kt[i] *= mag;
          break;
        }
        default:
          break;
      }
    }
    Sequence seq;
    ASSERT_TRUE(cache.Reserve(&seq, length).ok());
    cache.Write(seq, 0, length, k.data(), v.data());
    cache.Advance(&seq, length);
    const PagedKv kv = cache.View(0);
    const int n = seq.num_pages();
    for (int trial = 0; trial < 8; ++trial) {
      std::vector<float> q = RandomFloats(rng, D, -1, 1);
      if (trial % 2) {
        for (float& x : q) x *= 1e5f;  // products up to 1e35: finite in fp32
      }
      for (int h = 0; h < c.num_kv_heads; ++h) {
        std::vector<float> u(n);
        ScorePages(q.data(), 1, D, kv, h, seq.pages.data(), n, u.data());
        for (int pos = 0; pos < length; ++pos) {
          const int p = pos / c.page_size;
          const size_t meta = kv.MetaOffset(seq.pages[p], h);
          double dot = 0, bound = 0, mag = 0;
          for (int i = 0; i < D; ++i) {
            const double qi = q[i];
            dot += qi * ref::LoadKey(kv, seq.pages[p], h, pos % c.page_size, i);
            const double hi = ref::LoadElement(kv.kmax, KvType::kF16, meta + i);
            const double lo = ref::LoadElement(kv.kmin, KvType::kF16, meta + i);
            bound += std::max(qi * hi, qi * lo);
            mag += std::max(std::fabs(qi * hi), std::fabs(qi * lo));
          }
          ASSERT_GE(bound, dot) << "seed " << seed << " head " << h << " pos " << pos;
          ASSERT_GE(u[p] + 1e-5 * mag, dot) << "seed " << seed << " head " << h << " pos " << pos;
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
  for (KvType type : {KvType::kF16, KvType::kF32, KvType::kQ8}) {
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
