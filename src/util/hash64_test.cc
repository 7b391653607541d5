#include "src/util/hash64.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace quest {
namespace {

uint64_t HashOf(const std::vector<uint8_t>& b) {
  Hash64 h;
  h.Update(b.data(), b.size());
  return h.Digest();
}

// Any split of the bytes over Update calls gives the one-call digest; any
// changed byte, and any change of length (appended zeros), changes it.
TEST(Hash64, SplitIndependentAndSensitive) {
  std::mt19937 rng(3);
  for (size_t n : {0, 1, 7, 8, 9, 63, 64, 1000}) {
    std::vector<uint8_t> b(n);
    for (uint8_t& x : b) x = static_cast<uint8_t>(rng());
    const uint64_t whole = HashOf(b);
    for (int trial = 0; trial < 20; ++trial) {
      Hash64 h;
      size_t at = 0;
      while (at < n) {
        const size_t step = std::min<size_t>(n - at, rng() % 11);
        h.Update(b.data() + at, step);
        at += step;
      }
      ASSERT_EQ(h.Digest(), whole) << "n " << n;
    }
    for (size_t i = 0; i < n; i += 1 + n / 16) {
      std::vector<uint8_t> c = b;
      c[i] ^= 1;
      EXPECT_NE(HashOf(c), whole) << "byte " << i << " of " << n;
    }
    std::vector<uint8_t> longer = b;
    longer.push_back(0);
    EXPECT_NE(HashOf(longer), whole) << "n " << n;
  }
}

}  // namespace
}  // namespace quest
