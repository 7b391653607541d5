// Log-softmax, KL divergence and perplexity (divergence.h).
#include "src/eval/divergence.h"

#include <algorithm>
#include <cmath>

namespace quest::eval {

void LogSoftmax(const std::vector<float>& logits, std::vector<double>* out) {
  double mx = -INFINITY;
  for (float x : logits) mx = std::max(mx, static_cast<double>(x));
  double sum = 0;
  for (float x : logits) sum += std::exp(x - mx);
  const double lse = mx + std::log(sum);
  out->resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) (*out)[i] = logits[i] - lse;
}

double KlDivergence(const std::vector<double>& log_p, const std::vector<double>& log_q) {
  double d = 0;
  for (size_t v = 0; v < log_p.size(); ++v) {
    const double p = std::exp(log_p[v]);
    if (p > 0) d += p * (log_p[v] - log_q[v]);  // 0 log 0 = 0
  }
  return std::max(0.0, d);
}

Interval PerplexityOf(const std::vector<double>& nll, double z) {
  const Interval iv = MeanWithStdErr(nll, z);
  return {std::exp(iv.value), std::exp(iv.low), std::exp(iv.high), iv.n};
}

}  // namespace quest::eval
