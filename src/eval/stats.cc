// Wilson and MeanWithStdErr.
#include "src/eval/stats.h"

#include <algorithm>
#include <cmath>

#include "src/util/check.h"

namespace quest::eval {

Interval Wilson(int64_t successes, int64_t n, double z) {
  QE_CHECK(n >= 0 && successes >= 0 && successes <= n, "Wilson(%lld, %lld)",
           static_cast<long long>(successes), static_cast<long long>(n));
  if (n == 0) return {0, 0, 1, 0};
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(successes) / nn;
  const double z2 = z * z;
  const double denom = 1 + z2 / nn;
  const double center = (p + z2 / (2 * nn)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denom;
  return {p, std::max(0.0, center - half), std::min(1.0, center + half), n};
}

Interval MeanWithStdErr(const std::vector<double>& x, double z) {
  const int64_t n = static_cast<int64_t>(x.size());
  if (n == 0) return {0, 0, 0, 0};
  double sum = 0;
  for (double v : x) sum += v;
  const double mean = sum / static_cast<double>(n);
  if (n < 2) return {mean, mean, mean, n};
  double ss = 0;
  for (double v : x) ss += (v - mean) * (v - mean);
  const double se = std::sqrt(ss / static_cast<double>(n - 1) / static_cast<double>(n));
  return {mean, mean - z * se, mean + z * se, n};
}

}  // namespace quest::eval
