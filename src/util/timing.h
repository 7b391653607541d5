// Wall-clock seconds and the median of repeated timings (benchmarks, logs, metrics).
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace quest {

inline double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The middle value; the mean of the two middle values for an even count; 0 for none.
inline double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace quest
