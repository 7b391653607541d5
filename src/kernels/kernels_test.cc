// Every SIMD kernel against its scalar reference, on every compiled target, over
// odd token counts, head dims, page sizes, storage types, GQA shapes, threads.
#include "src/kernels/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <random>
#include <vector>

#include "src/kernels/reference.h"
#include "src/kv/kv_test_util.h"

namespace quest {
namespace {

using testing::ForEachTarget;
using testing::RandomCache;
using testing::RandomFloats;
using testing::Shape;

const int kTokenCounts[] = {1, 3, 7, 15, 16, 17, 33, 127, 128, 1000};
const int kHeadDims[] = {64, 128, 256, 80};  // 80: no specialised kernel

// |a - b| <= atol + rtol * |ref|, per element.
void ExpectClose(const float* got, const float* want, size_t n, float atol, float rtol,
                 const std::string& what) {
  for (size_t i = 0; i < n; ++i) {
    ASSERT_LE(std::fabs(got[i] - want[i]), atol + rtol * std::fabs(want[i]))
        << what << " element " << i << ": got " << got[i] << " want " << want[i];
  }
}

TEST(KvAppend, MinMaxEqualsReferenceExactly) {
  std::mt19937 rng(1);
  for (KvType type : {KvType::kF16, KvType::kF32}) {
    for (int D : kHeadDims) {
      const int rows = 17;
      std::vector<float> x = RandomFloats(rng, rows * D, -3, 3);
      std::vector<uint8_t> stored(rows * D * 4);
      ref::ConvertToKv(x.data(), x.size(), type, stored.data());
      std::vector<float> want_max, want_min;
      ref::PageMinMax(stored.data(), type, rows, D, &want_max, &want_min);
      ForEachTarget([&](const char* target) {
        std::vector<uint8_t> kmax(D * 4), kmin(D * 4);
        const size_t es = KvElementBytes(type);
        for (int t = 0; t < rows; ++t) {
          UpdatePageMinMax(stored.data() + t * D * es, type, D, t == 0, kmax.data(), kmin.data());
        }
        for (int i = 0; i < D; ++i) {
          ASSERT_EQ(ref::LoadElement(kmax.data(), type, i), want_max[i]) << target << " i=" << i;
          ASSERT_EQ(ref::LoadElement(kmin.data(), type, i), want_min[i]) << target << " i=" << i;
        }
      });
    }
  }
}

// QuantizeQ8 and DequantizeQ8 against the reference on random rows and edge
// cases: zeros, all equal, one outlier channel, huge and tiny magnitudes (the
// tiniest below what 127 / max can scale).
TEST(KvAppend, QuantizeQ8MatchesReference) {
  std::mt19937 rng(5);
  for (int n : {16, 64, 80, 128, 256, 512}) {
    std::vector<std::vector<float>> rows = {RandomFloats(rng, n, -3, 3), std::vector<float>(n, 0.0f),
                                            std::vector<float>(n, -0.75f)};
    rows.push_back(rows[0]);
    rows.back()[n / 2] = 500.0f;  // outlier: the other channels round to few codes
    for (float mag : {1e30f, 1e-30f, 1e-38f}) {
      rows.push_back(rows[0]);
      for (float& x : rows.back()) x *= mag;
    }
    // The last row again, clipped: kQ8KeyLimit below its 500 outlier.
    rows.push_back(rows[3]);
    const size_t clipped = rows.size() - 1;
    for (size_t r = 0; r < rows.size(); ++r) {
      const std::vector<float>& x = rows[r];
      const float limit = r == clipped ? 300.0f : std::numeric_limits<float>::infinity();
      std::vector<int8_t> want(n);
      const float want_scale = ref::QuantizeQ8(x.data(), n, want.data(), limit);
      float amax = 0;
      for (float v : x) amax = std::max(amax, std::min(limit, std::fabs(v)));
      ForEachTarget([&](const char* target) {
        const std::string what = std::string(target) + " n=" + std::to_string(n) +
                                 " row=" + std::to_string(r);
        std::vector<int8_t> got(n);
        const float scale = QuantizeQ8(x.data(), n, got.data(), limit);
        ASSERT_EQ(scale, want_scale) << what;
        std::vector<float> deq(n);
        DequantizeQ8(got.data(), n, scale, deq.data());
        for (int i = 0; i < n; ++i) {
          // Codes agree except where x * 127 / max lies within rounding of a
          // half-integer (Highway's scalar NearestInt adds 0.5 in f32).
          const double y = scale > 0 ? static_cast<double>(x[i]) * 127.0 / amax : 0.0;
          const bool tie = std::fabs(std::fabs(y - std::trunc(y)) - 0.5) < 1e-5;
          ASSERT_LE(std::abs(got[i] - want[i]), tie ? 1 : 0) << what << " i=" << i;
          ASSERT_LE(std::abs(got[i]), 127) << what;
          ASSERT_EQ(deq[i], static_cast<float>(got[i]) * scale) << what << " i=" << i;
          // Each value within half a step of what it stands for (rows too
          // small to scale store zeros).
          if (scale > 0) {
            const float xc = std::min(limit, std::max(-limit, x[i]));  // clipped
            ASSERT_LE(std::fabs(deq[i] - xc), 0.5001f * scale) << what << " i=" << i;
          } else {
            ASSERT_LT(std::fabs(x[i]), 1e-36f) << what;
            ASSERT_EQ(got[i], 0) << what;
          }
        }
      });
    }
  }
}

// q8 metadata: each channel rounded outward to f16, against the nearest f16
// values found by search, on random rows of every scale and edge values
// (exact f16 values, signed zeros, subnormals, the clipping limit).
TEST(KvAppend, OutwardMinMaxMatchesReference) {
  std::mt19937 rng(6);
  const int D = 64;
  for (int trial = 0; trial < 20; ++trial) {
    const int rows = 1 + trial % 5;
    std::vector<float> x = RandomFloats(rng, rows * D, -1, 1);
    const float mag = std::pow(10.0f, static_cast<float>(trial % 10) - 6);  // 1e-6 .. 1e3
    for (float& v : x) v *= mag;
    const float edges[] = {0.0f,   -0.0f,  1.0f,     -1.0f,   0.1f,         -0.1f,       1e-7f,
                           -1e-7f, 3e-5f,  -3e-5f,   65000.0f, -kQ8KeyLimit, 65504.0f,   1e-30f,
                           2049.0f, -2049.0f, 0.33333334f};
    for (size_t e = 0; e < std::size(edges); ++e) x[(e * 5 + trial) % x.size()] = edges[e];
    std::vector<float> want_max(D, -INFINITY), want_min(D, INFINITY);
    for (int t = 0; t < rows; ++t) {
      for (int i = 0; i < D; ++i) {
        want_max[i] = std::max(want_max[i], ref::F16AtLeast(x[t * D + i]));
        want_min[i] = std::min(want_min[i], ref::F16AtMost(x[t * D + i]));
      }
    }
    ForEachTarget([&](const char* target) {
      std::vector<uint16_t> kmax(D), kmin(D);
      for (int t = 0; t < rows; ++t) {
        UpdatePageMinMaxOutward(x.data() + t * D, D, t == 0, kmax.data(), kmin.data());
      }
      for (int i = 0; i < D; ++i) {
        ASSERT_EQ(ref::LoadElement(kmax.data(), KvType::kF16, i), want_max[i])
            << target << " trial " << trial << " i=" << i;
        ASSERT_EQ(ref::LoadElement(kmin.data(), KvType::kF16, i), want_min[i])
            << target << " trial " << trial << " i=" << i;
      }
    });
  }
}

TEST(ScorePages, MatchesReference) {
  for (KvType type : {KvType::kF16, KvType::kF32, KvType::kQ8}) {
    for (int D : kHeadDims) {
      for (int tokens : {1, 17, 127, 1000}) {
        KvCacheConfig c;
        c.num_kv_heads = 2;
        c.head_dim = D;
        c.page_size = 8;
        c.type = type;
        RandomCache r = RandomCache::Make(c, tokens, 100 + D + tokens);
        const PagedKv kv = r.cache.View(0);
        std::mt19937 rng(tokens);
        // 1 query: tiles of one vector's lane count of pages, the bound
        // chosen per channel by the sign of q (zeros of both signs below);
        // 3 queries: per-page loop; 2, 4, 8: tiles of 2 (AVX2) or 4
        // (AVX-512) queries x 4 pages; all with page tails.
        for (int G : {1, 2, 3, 4, 8}) {
          std::vector<float> q = RandomFloats(rng, G * D, -1, 1);
          for (int i = 0; i < G * D; i += 7) q[i] = i % 2 == 0 ? 0.0f : -0.0f;
          const int n = r.seq.num_pages();
          std::vector<float> want(G * n);
          ref::ScorePages(q.data(), G, D, kv, 1, r.seq.pages.data(), n, want.data());
          ForEachTarget([&](const char* target) {
            std::vector<float> got(G * n);
            ScorePages(q.data(), G, D, kv, 1, r.seq.pages.data(), n, got.data());
            ExpectClose(
                got.data(), want.data(), got.size(), 1e-3f, 1e-5f,
                std::string(target) + " G=" + std::to_string(G) + " " + Shape(tokens, D, 8, type));
          });
        }
      }
    }
  }
}

// AttendPages over all pages (dense) and over a random subset, shared and
// per-head lists, with probabilities, against the double reference.
TEST(AttendPages, MatchesReferenceOnOddShapes) {
  struct Gqa {
    int heads, kv_heads;
  };
  for (KvType type : {KvType::kF16, KvType::kF32, KvType::kQ8}) {
    for (int D : kHeadDims) {
      for (int tokens : kTokenCounts) {
        for (Gqa g : {Gqa{2, 2}, Gqa{4, 1}, Gqa{6, 2}, Gqa{5, 1}}) {
          // Tiles of 3 heads, and of 4 + 1: a few token counts are enough.
          const bool odd_group = g.heads / g.kv_heads % 2 == 1;
          if (odd_group && tokens != 1 && tokens != 17 && tokens != 127) continue;
          // q8 shares the f16 paths but for its loads and scales: fewer counts.
          if (type == KvType::kQ8 && (tokens == 3 || tokens == 15 || tokens == 127)) continue;
          // Pages of 16 (odd counts), 4 (16 tokens) and 32: batches of 4, 16
          // and 2 pages, groups of lanes across a page, partial last pages.
          const int S = tokens % 2 ? 16 : (tokens == 16 ? 4 : 32);
          KvCacheConfig c;
          c.num_kv_heads = g.kv_heads;
          c.head_dim = D;
          c.page_size = S;
          c.type = type;
          RandomCache r = RandomCache::Make(c, tokens, tokens * 31 + D);
          const PagedKv kv = r.cache.View(0);
          std::mt19937 rng(tokens + D);
          std::vector<float> q = RandomFloats(rng, g.heads * D, -1, 1);
          const float scale = 1.0f / std::sqrt(static_cast<float>(D));
          for (int num_lists : {g.kv_heads, g.heads}) {
            PageList dense = DensePageList(r.seq, S, num_lists);
            // A sparse list per list: every other page, keeping the last.
            PageList sparse;
            sparse.indptr.push_back(0);
            for (int l = 0; l < num_lists; ++l) {
              for (int p = (l % 2); p < r.seq.num_pages(); p += 2) {
                sparse.indices.push_back(r.seq.pages[p]);
              }
              if (sparse.indices.size() == static_cast<size_t>(sparse.indptr.back()) ||
                  sparse.indices.back() != r.seq.pages.back()) {
                sparse.indices.push_back(r.seq.pages.back());
              }
              sparse.indptr.push_back(sparse.indices.size());
              sparse.last_page_len.push_back(dense.last_page_len[l]);
            }
            for (const PageList* list : {&dense, &sparse}) {
              std::vector<float> want(g.heads * D);
              std::vector<std::vector<float>> want_p;
              ref::AttendPages(q.data(), g.heads, kv, *list, scale, want.data(), &want_p);
              ForEachTarget([&](const char* target) {
                for (int threads : {1, 2}) {
                  std::vector<float> got(g.heads * D, -7.0f);
                  std::vector<std::vector<float>> got_p;
                  AttendPages(q.data(), g.heads, kv, *list, scale, threads, got.data(), &got_p);
                  const std::string what = std::string(target) + " " + Shape(tokens, D, S, type) +
                                           " lists=" + std::to_string(num_lists) +
                                           " threads=" + std::to_string(threads);
                  ExpectClose(got.data(), want.data(), got.size(), 2e-5f, 1e-4f, what);
                  ASSERT_EQ(got_p.size(), want_p.size()) << what;
                  for (size_t h = 0; h < want_p.size(); ++h) {
                    ASSERT_EQ(got_p[h].size(), want_p[h].size()) << what;
                    ExpectClose(got_p[h].data(), want_p[h].data(), want_p[h].size(), 1e-6f, 1e-4f,
                                what + " probs");
                  }
                }
              });
            }
          }
        }
      }
    }
  }
}

TEST(AttendPages, EmptyListGivesZeros) {
  for (KvType type : {KvType::kF16, KvType::kQ8}) {
    KvCacheConfig c;
    c.num_kv_heads = 1;
    c.head_dim = 64;
    c.type = type;
    RandomCache r = RandomCache::Make(c, 20, 5);
    PageList empty;
    empty.indptr = {0, 0};
    empty.last_page_len = {0};
    std::vector<float> q(2 * 64, 1.0f), out(2 * 64, 3.0f);
    std::vector<std::vector<float>> probs;
    AttendPages(q.data(), 2, r.cache.View(0), empty, 0.125f, 2, out.data(), &probs);
    for (float x : out) ASSERT_EQ(x, 0.0f);
    ASSERT_EQ(probs.size(), 2u);
    EXPECT_TRUE(probs[0].empty());
  }
}

TEST(AttendTokens, MatchesReferenceOnArbitraryTokens) {
  for (KvType type : {KvType::kF16, KvType::kF32, KvType::kQ8}) {
    for (int D : kHeadDims) {
      // Page sizes below, at and above a vector's lanes: the kernel reads runs
      // of consecutive slots as lanes of the channel-major K block.
      for (int S : {4, 16, 32}) {
        for (int tokens : {1, 7, 33, 1000}) {
          KvCacheConfig c;
          c.num_kv_heads = 2;
          c.head_dim = D;
          c.page_size = S;
          c.type = type;
          RandomCache r = RandomCache::Make(c, tokens, tokens + 3 * D);
          std::mt19937 rng(tokens);
          const int heads = 4;
          std::vector<float> q = RandomFloats(rng, heads * D, -1, 1);
          // Keep a random subset of positions per list (the first always); in
          // position order, except 33-token lists, shuffled.
          TokenList keep;
          keep.indptr.push_back(0);
          for (int l = 0; l < heads; ++l) {
            const size_t begin = keep.slots.size();
            for (int pos = 0; pos < tokens; ++pos) {
              if (pos == 0 || rng() % 3 != 0) {
                keep.slots.push_back(r.seq.pages[pos / S] * S + pos % S);
              }
            }
            if (tokens == 33) std::shuffle(keep.slots.begin() + begin, keep.slots.end(), rng);
            keep.indptr.push_back(keep.slots.size());
          }
          std::vector<float> want(heads * D);
          std::vector<std::vector<float>> want_p;
          ref::AttendTokens(q.data(), heads, r.cache.View(0), keep, 0.1f, want.data(), &want_p);
          ForEachTarget([&](const char* target) {
            std::vector<float> got(heads * D);
            std::vector<std::vector<float>> got_p;
            AttendTokens(q.data(), heads, r.cache.View(0), keep, 0.1f, 2, got.data(), &got_p);
            const std::string what = std::string(target) + " " + Shape(tokens, D, S, type);
            ExpectClose(got.data(), want.data(), got.size(), 2e-5f, 1e-4f, what);
            for (int h = 0; h < heads; ++h) {
              ASSERT_EQ(got_p[h].size(), want_p[h].size());
              ExpectClose(got_p[h].data(), want_p[h].data(), got_p[h].size(), 1e-6f, 1e-4f, what);
            }
          });
        }
      }
    }
  }
}

TEST(AttendTokens, PageTokensEqualPageAttention) {
  KvCacheConfig c;
  c.num_kv_heads = 1;
  c.head_dim = 128;
  RandomCache r = RandomCache::Make(c, 77, 9);
  std::mt19937 rng(2);
  std::vector<float> q = RandomFloats(rng, 128, -1, 1);
  const PageList pages = DensePageList(r.seq, 16, 1);
  std::vector<float> a(128), b(128);
  AttendPages(q.data(), 1, r.cache.View(0), pages, 0.09f, 1, a.data());
  AttendTokens(q.data(), 1, r.cache.View(0), ref::PagesToTokens(pages, 16), 0.09f, 1, b.data());
  ExpectClose(a.data(), b.data(), 128, 1e-6f, 1e-5f, "pages vs tokens");
}

// The integer peak probe does the dots it counts, on every target that has
// one: the chains' sums equal the closed form (120 per step, kernels.h), and
// the multiply-adds are whole vectors of bytes for each of the 8 chains.
TEST(PeakProbes, IntDotChainsComputeWhatTheyCount) {
  ForEachTarget([&](const char* target) {
    for (int64_t iters : {1, 7, 1000}) {
      int32_t sink = -1;
      const int64_t macs = IntDotChains(iters, &sink);
      if (macs == 0) {  // no 8-bit dot probe on this target
        EXPECT_EQ(sink, 0) << target;
        continue;
      }
      EXPECT_EQ(sink, iters * 120) << target;
      EXPECT_EQ(macs % (iters * 8), 0) << target;
      EXPECT_GE(macs / (iters * 8), 32) << target << ": at least 256-bit vectors";
    }
  });
}

// Prefill attention of a chunk against the double reference: chunks of 1, 3,
// 17, 64 queries after 0, 5 or 40 earlier tokens (chunks and contexts crossing
// pages, partial last pages), windows smaller and larger than the context,
// G = 1, 4 and 3, page sizes 16 and 4.
TEST(AttendCausal, MatchesReferenceOnOddShapes) {
  struct Gqa {
    int heads, kv_heads;
  };
  for (KvType type : {KvType::kF16, KvType::kF32, KvType::kQ8}) {
    for (int D : {64, 256}) {
      // q8 differs from f16 only in how K/V rows are converted: one head dim
      // and two windows (none, and within the context) suffice.
      if (type == KvType::kQ8 && D != 64) continue;
      for (int n : {1, 3, 17, 64}) {
        for (int pos0 : {0, 5, 40}) {
          for (Gqa g : {Gqa{2, 2}, Gqa{4, 1}, Gqa{6, 2}}) {
            const int S = (n + pos0) % 2 ? 16 : 4;
            KvCacheConfig c;
            c.num_kv_heads = g.kv_heads;
            c.head_dim = D;
            c.page_size = S;
            c.type = type;
            RandomCache r = RandomCache::Make(c, pos0 + n, n * 7 + pos0 + D);
            const PagedKv kv = r.cache.View(0);
            std::mt19937 rng(n + pos0 + D);
            std::vector<float> q = RandomFloats(rng, static_cast<size_t>(n) * g.heads * D, -1, 1);
            const float scale = 1.0f / std::sqrt(static_cast<float>(D));
            for (int window : {0, 1, 7, 1000}) {
              if (type == KvType::kQ8 && (window == 1 || window == 1000)) continue;
              std::vector<float> want(q.size());
              ref::AttendCausal(q.data(), n, g.heads, pos0, kv, r.seq.pages.data(), window, scale,
                                want.data());
              ForEachTarget([&](const char* target) {
                for (int threads : {1, 2}) {
                  std::vector<float> got(q.size(), -7.0f);
                  AttendCausal(q.data(), n, g.heads, pos0, kv, r.seq.pages.data(), window, scale,
                               threads, got.data());
                  const std::string what =
                      std::string(target) + " " + Shape(n, D, S, type) +
                      " pos0=" + std::to_string(pos0) + " heads=" + std::to_string(g.heads) + "/" +
                      std::to_string(g.kv_heads) + " window=" + std::to_string(window) +
                      " threads=" + std::to_string(threads);
                  ExpectClose(got.data(), want.data(), got.size(), 2e-5f, 1e-4f, what);
                }
              });
            }
          }
        }
      }
    }
  }
}

TEST(SumFloats, MatchesReference) {
  std::mt19937 rng(3);
  for (size_t n : {0, 1, 3, 17, 1000, 100003}) {
    std::vector<float> x = RandomFloats(rng, n, 0, 1);
    const double want = ref::SumFloats(x.data(), n);
    ForEachTarget([&](const char* target) {
      for (int threads : {1, 2}) {
        EXPECT_NEAR(SumFloats(x.data(), n, threads), want, 1e-3 + 1e-5 * want) << target;
      }
    });
  }
}

// Runs as the scattered probe reads them (ascending, random gaps) and edge
// cases: no run, one run, runs shorter than a vector, adjacent and repeated
// runs, a run count that does not split evenly over the threads.
TEST(SumRuns, MatchesReference) {
  std::mt19937 rng(4);
  const size_t buf_floats = 1 << 16;
  std::vector<float> x = RandomFloats(rng, buf_floats, 0, 1);
  for (size_t run_floats : {1, 7, 16, 17, 2048}) {
    for (size_t num_runs : {0, 1, 3, 31}) {
      std::vector<int64_t> starts(num_runs);
      std::uniform_int_distribution<int64_t> pick(0, buf_floats - run_floats);
      for (int64_t& s : starts) s = pick(rng);
      std::sort(starts.begin(), starts.end());
      if (num_runs >= 3) {
        starts[1] = starts[0];                                              // the same run twice
        starts[2] = std::min<int64_t>(starts[1] + run_floats, pick.max());  // adjacent
      }
      const double want = ref::SumRuns(x.data(), starts.data(), num_runs, run_floats);
      ForEachTarget([&](const char* target) {
        for (int threads : {1, 2}) {
          EXPECT_NEAR(SumRuns(x.data(), starts.data(), num_runs, run_floats, threads), want,
                      1e-3 + 1e-5 * want)
              << target << " run_floats " << run_floats << " runs " << num_runs;
        }
      });
    }
  }
}

}  // namespace
}  // namespace quest
