// The fidelity and perplexity arithmetic of `quest eval`: log-softmax in
// double, KL(p || q) of two next-token distributions, perplexity with its
// interval from per-token negative log-likelihoods.
#pragma once

#include <vector>

#include "src/eval/stats.h"

namespace quest::eval {

// log softmax(logits) in double, stable for any finite logits (the maximum is
// subtracted first).
void LogSoftmax(const std::vector<float>& logits, std::vector<double>* out);

// KL(p || q) = sum p (log p - log q) from log-probabilities, clamped at 0
// (rounding can make it a hair negative). Infinite where q is 0 but p is not.
double KlDivergence(const std::vector<double>& log_p, const std::vector<double>& log_q);

// Perplexity exp(mean nll) with the interval exp(mean ± z·SE) of the nll.
Interval PerplexityOf(const std::vector<double>& nll, double z = 1.96);

}  // namespace quest::eval
