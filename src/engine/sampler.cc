// Token sampling.
#include "src/engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace quest {

Status SamplerOptions::Validate() const {
  if (!(temperature >= 0) || !std::isfinite(temperature)) {
    return Status::Error(StrFormat("invalid --temp %g: must be >= 0", temperature));
  }
  if (top_k < 0) return Status::Error(StrFormat("invalid --top-k %d: must be >= 0", top_k));
  if (!(top_p > 0 && top_p <= 1)) {
    return Status::Error(StrFormat("invalid --top-p %g: must be in (0, 1]", top_p));
  }
  if (!(min_p >= 0 && min_p < 1)) {
    return Status::Error(StrFormat("invalid --min-p %g: must be in [0, 1)", min_p));
  }
  if (!(repeat_penalty > 0) || !std::isfinite(repeat_penalty)) {
    return Status::Error(StrFormat("invalid --repeat-penalty %g: must be > 0", repeat_penalty));
  }
  if (repeat_last_n < 0) {
    return Status::Error(StrFormat("invalid --repeat-last-n %d: must be >= 0", repeat_last_n));
  }
  for (const auto& [name, v] : {std::pair<const char*, float>{"frequency-penalty", frequency_penalty},
                                {"presence-penalty", presence_penalty}}) {
    if (!(v >= -2 && v <= 2)) {
      return Status::Error(StrFormat("invalid --%s %g: must be in [-2, 2]", name, v));
    }
  }
  return Status();
}

Sampler::Sampler(const SamplerOptions& options) : o_(options), rng_(options.seed) {}

int32_t Sampler::Sample(float* logits, int vocab, const std::vector<int32_t>& history) {
  if (o_.repeat_penalty != 1.0f && o_.repeat_last_n > 0) {
    std::unordered_set<int32_t> seen;
    const size_t from = history.size() > static_cast<size_t>(o_.repeat_last_n)
                            ? history.size() - o_.repeat_last_n
                            : 0;
    for (size_t i = from; i < history.size(); ++i) seen.insert(history[i]);
    for (int32_t t : seen) {
      if (t < 0 || t >= vocab) continue;
      logits[t] = logits[t] > 0 ? logits[t] / o_.repeat_penalty : logits[t] * o_.repeat_penalty;
    }
  }
  if (o_.frequency_penalty != 0.0f || o_.presence_penalty != 0.0f) {
    for (const auto& [t, count] : generated_) {
      if (t < vocab) logits[t] -= o_.frequency_penalty * count + o_.presence_penalty;
    }
  }
  const int32_t token = Pick(logits, vocab);
  ++generated_[token];
  return token;
}

int32_t Sampler::Pick(const float* logits, int vocab) {
  if (o_.temperature == 0.0f) {
    return static_cast<int32_t>(std::max_element(logits, logits + vocab) - logits);
  }
  cand_.resize(vocab);
  for (int i = 0; i < vocab; ++i) cand_[i] = {logits[i] / o_.temperature, i};
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first; };
  size_t n = cand_.size();
  if (o_.top_k > 0 && static_cast<size_t>(o_.top_k) < n) {
    std::partial_sort(cand_.begin(), cand_.begin() + o_.top_k, cand_.end(), by_logit);
    n = o_.top_k;
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  // Softmax over the candidates (sorted, largest first).
  const float m = cand_[0].first;
  std::vector<double> p(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += p[i] = std::exp(cand_[i].first - m);
  for (double& x : p) x /= sum;
  size_t keep = n;
  if (o_.min_p > 0) {  // drop tokens below min_p times the top probability
    keep = 1;
    while (keep < n && p[keep] >= o_.min_p * p[0]) ++keep;
  }
  if (o_.top_p < 1) {  // smallest prefix whose mass reaches top_p
    double mass = 0;
    size_t k = 0;
    while (k < keep) {
      mass += p[k++];
      if (mass >= o_.top_p) break;
    }
    keep = k;
  }
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += p[i];
  std::uniform_real_distribution<double> u(0, total);
  double r = u(rng_);
  for (size_t i = 0; i < keep; ++i) {
    r -= p[i];
    if (r <= 0) return cand_[i].second;
  }
  return cand_[keep - 1].second;
}

}  // namespace quest
