// Test helpers: random K/V caches whose sequences have scattered physical pages,
// and a loop over every SIMD target Highway compiled that this CPU supports.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "hwy/targets.h"
#include "src/kv/kv_cache.h"

namespace quest::testing {

// Runs fn once per compiled and supported target, with dispatch forced to it.
inline void ForEachTarget(const std::function<void(const char*)>& fn) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    fn(hwy::TargetName(target));
  }
  hwy::SetSupportedTargetsForTest(0);
}

inline std::vector<float> RandomFloats(std::mt19937& rng, size_t n, float lo = -1, float hi = 1) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// A cache holding one sequence of `length` random tokens for every layer, with
// its pages interleaved with a second sequence's so physical ids are scattered.
struct RandomCache {
  KvCache cache;
  Sequence seq;
  Sequence other;
  std::vector<std::vector<float>> k, v;  // [layer] [length][kv_heads][head_dim] as given

  static RandomCache Make(const KvCacheConfig& base, int length, uint32_t seed,
                          std::vector<int> chunks = {}) {
    KvCacheConfig c = base;
    c.num_pages = 2 * ((length + c.page_size - 1) / c.page_size) + 2;
    auto made = KvCache::Create(c);
    QE_CHECK(made.ok(), "%s", made.status().message().c_str());
    RandomCache r{std::move(made.value()), {}, {}, {}, {}};
    std::mt19937 rng(seed);
    const size_t row = static_cast<size_t>(c.num_kv_heads) * c.head_dim;
    for (int l = 0; l < c.num_layers; ++l) {
      r.k.push_back(RandomFloats(rng, row * length, -2, 2));
      r.v.push_back(RandomFloats(rng, row * length, -1, 1));
    }
    if (chunks.empty()) chunks = {length};
    int done = 0;
    size_t ci = 0;
    while (done < length) {
      const int n = std::min(chunks[ci++ % chunks.size()], length - done);
      QE_CHECK(r.cache.Reserve(&r.seq, n).ok());
      for (int l = 0; l < c.num_layers; ++l) {
        r.cache.Write(r.seq, l, n, r.k[l].data() + done * row, r.v[l].data() + done * row, 2);
      }
      r.cache.Advance(&r.seq, n);
      done += n;
      // Give the other sequence a page after each chunk, so ids are scattered.
      if (r.other.num_pages() < r.seq.num_pages()) {
        QE_CHECK(r.cache.Reserve(&r.other, c.page_size).ok());
        r.cache.Advance(&r.other, c.page_size);
      }
    }
    return r;
  }
};

inline std::string Shape(int tokens, int head_dim, int page_size, KvType type) {
  return "tokens=" + std::to_string(tokens) + " head_dim=" + std::to_string(head_dim) +
         " page_size=" + std::to_string(page_size) + " " + KvTypeName(type);
}

}  // namespace quest::testing
