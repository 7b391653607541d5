// Confidence intervals for evaluation metrics: Wilson score intervals for
// accuracies, normal intervals (mean ± z·SE) for means.
#pragma once

#include <cstdint>
#include <vector>

namespace quest::eval {

// value with its interval [low, high] over n samples; 95 % for z = 1.96.
struct Interval {
  double value, low, high;
  int64_t n;
};

// Accuracy successes / n with the Wilson score interval (correct near 0 and 1,
// unlike the normal approximation). n = 0 gives {0, 0, 1, 0}: nothing known.
Interval Wilson(int64_t successes, int64_t n, double z = 1.96);

// Mean ± z · s / sqrt(n) with s the sample standard deviation (n - 1). For n < 2
// the interval is the point itself (no spread to estimate); n = 0 gives zeros.
Interval MeanWithStdErr(const std::vector<double>& x, double z = 1.96);

}  // namespace quest::eval
