// The selection passes against their scalar references on every target:
// sizes around the vector width (empty, one, tails), thresholds that every,
// some or no score passes, many exact ties with a limited tie budget, signed
// zeros and infinities.
#include "src/kernels/select_passes.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "src/kernels/reference.h"
#include "src/kv/kv_test_util.h"

namespace quest {
namespace {

using testing::ForEachTarget;
using testing::RandomFloats;

std::vector<float> Scores(std::mt19937& rng, int n, int kind) {
  const float inf = std::numeric_limits<float>::infinity();
  const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, inf, -inf, 3e38f, 1e-30f};
  std::vector<float> x = RandomFloats(rng, n, -10, 10);
  for (float& v : x) {
    if (kind == 1) v = static_cast<float>(rng() % 4);  // many ties
    if (kind == 2) v = special[rng() % 8];
  }
  return x;
}

TEST(SelectPasses, MatchReference) {
  std::mt19937 rng(11);
  for (int n : {0, 1, 3, 7, 15, 16, 17, 31, 33, 64, 127, 1000, 2048, 2049}) {
    for (int kind = 0; kind < 3; ++kind) {
      const std::vector<float> x = Scores(rng, n, kind);
      std::vector<float> thresholds = {
          -std::numeric_limits<float>::infinity(), 0.0f, 1.0f, 2.0f, 9.5f,
          std::numeric_limits<float>::infinity()};
      if (n > 0) thresholds.push_back(x[rng() % n]);
      for (float t : thresholds) {
        const int want_count = ref::CountAbove(x.data(), n, t);
        std::vector<float> want_c(n + kSelectPad);
        const int want_m = ref::CompactAtLeast(x.data(), n, t, want_c.data());
        for (int ties : {0, 1, 5, n}) {
          int want_ties = ties;
          std::vector<int32_t> want_i(n + kSelectPad);
          const int want_k = ref::IndicesAbove(x.data(), n, t, &want_ties, 7, want_i.data());
          ForEachTarget([&](const char* target) {
            const std::string at = std::string(target) + " n=" + std::to_string(n) +
                                   " kind=" + std::to_string(kind) + " t=" + std::to_string(t);
            EXPECT_EQ(CountAbove(x.data(), n, t), want_count) << at;
            std::vector<float> got_c(n + kSelectPad);
            const int m = CompactAtLeast(x.data(), n, t, got_c.data());
            ASSERT_EQ(m, want_m) << at;
            for (int i = 0; i < m; ++i) {
              // Bitwise: -0.0 and 0.0 must come out as they went in.
              ASSERT_EQ(std::signbit(got_c[i]), std::signbit(want_c[i])) << at << " i=" << i;
              ASSERT_EQ(got_c[i], want_c[i]) << at << " i=" << i;
            }
            int got_ties = ties;
            std::vector<int32_t> got_i(n + kSelectPad);
            const int k = IndicesAbove(x.data(), n, t, &got_ties, 7, got_i.data());
            ASSERT_EQ(k, want_k) << at << " ties=" << ties;
            EXPECT_EQ(got_ties, want_ties) << at << " ties=" << ties;
            for (int i = 0; i < k; ++i) ASSERT_EQ(got_i[i], want_i[i]) << at << " i=" << i;
          });
        }
      }
    }
  }
}

}  // namespace
}  // namespace quest
