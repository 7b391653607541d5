// Deterministic prompt tokens for the end-to-end benchmarks: the time of a
// forward pass does not depend on the text, only on the count.
#pragma once

#include <cstdint>
#include <vector>

namespace quest {

// n pseudo-random token ids (a fixed LCG) that avoid the first 256 ids
// (specials, bytes); vocab > 256.
inline std::vector<int32_t> FillerTokens(int n, int vocab) {
  std::vector<int32_t> t(n);
  uint32_t s = 12345;
  for (int i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    t[i] = 256 + static_cast<int32_t>((s >> 8) % static_cast<uint32_t>(vocab - 256));
  }
  return t;
}

}  // namespace quest
