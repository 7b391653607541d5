// StreamingLLM, H2O and TOVA eviction over per-KV-head keep lists.
#include "src/evict/token_eviction.h"

#include <algorithm>
#include <numeric>

namespace quest {

TokenEviction::TokenEviction(Eviction method, int budget, int sinks)
    : method_(method), budget_(budget), sinks_(sinks) {
  QE_CHECK(budget > 0 && sinks >= 0, "budget %d sinks %d", budget, sinks);
}

void TokenEviction::Init(int num_lists, int length) {
  kept_.assign(num_lists, std::vector<int32_t>(length));
  for (auto& k : kept_) std::iota(k.begin(), k.end(), 0);
  score_.assign(num_lists, std::vector<double>(length, 0.0));
}

void TokenEviction::Append(int32_t pos) {
  for (int l = 0; l < num_lists(); ++l) {
    QE_CHECK(kept_[l].empty() || kept_[l].back() < pos, "positions must ascend");
    kept_[l].push_back(pos);
    score_[l].push_back(0.0);
  }
}

bool TokenEviction::AttendsEverything(int length) const {
  if (method_ == Eviction::kH2O || length > budget_) return false;
  // A list holds ascending distinct positions below length: all of them iff
  // it has length entries.
  for (const auto& k : kept_) {
    if (static_cast<int>(k.size()) != length) return false;
  }
  return true;
}

void TokenEviction::Compact(int l, const std::vector<char>& keep) {
  size_t j = 0;
  for (size_t i = 0; i < kept_[l].size(); ++i) {
    if (!keep[i]) continue;
    kept_[l][j] = kept_[l][i];
    score_[l][j] = score_[l][i];
    ++j;
  }
  kept_[l].resize(j);
  score_[l].resize(j);
}

void TokenEviction::Update(const std::vector<std::vector<float>>& probs, int num_heads) {
  const int L = num_lists();
  if (method_ == Eviction::kTova) {
    EvictTova(probs, num_heads);
    return;
  }
  if (method_ == Eviction::kH2O) {
    QE_CHECK(static_cast<int>(probs.size()) == num_heads && num_heads % L == 0,
             "probs for %d heads, %d lists", static_cast<int>(probs.size()), L);
    const int G = num_heads / L;
    for (int h = 0; h < num_heads; ++h) {
      std::vector<double>& s = score_[h / G];
      QE_CHECK(probs[h].size() == s.size(), "head %d: %zu probs for %zu tokens", h, probs[h].size(),
               s.size());
      for (size_t i = 0; i < s.size(); ++i) s[i] += probs[h][i];
    }
  }
  for (int l = 0; l < L; ++l) {
    if (static_cast<int>(kept_[l].size()) <= budget_) continue;
    if (method_ == Eviction::kStreaming) {
      EvictStreaming(l);
    } else {
      EvictH2O(l);
    }
  }
}

// The first `sinks` tokens and the most recent budget - sinks.
void TokenEviction::EvictStreaming(int l) {
  const int n = static_cast<int>(kept_[l].size());
  const int sinks = std::min(sinks_, budget_);
  std::vector<char> keep(n, 0);
  for (int i = 0; i < n; ++i) {
    keep[i] = (kept_[l][i] < sinks) || (i >= n - (budget_ - sinks));
  }
  // Sinks are the first positions of the sequence; if fewer are still held
  // (they never are evicted, so only when length < sinks), the window widens.
  int held = 0;
  for (int i = 0; i < n; ++i) held += keep[i];
  for (int i = n - 1; i >= 0 && held < budget_; --i) {
    if (!keep[i]) {
      keep[i] = 1;
      ++held;
    }
  }
  Compact(l, keep);
}

// The budget/2 most recent tokens, then the highest accumulated attention among
// the rest (ties: the more recent token stays).
void TokenEviction::EvictH2O(int l) {
  const int n = static_cast<int>(kept_[l].size());
  const int recent = budget_ / 2;
  const int heavy = budget_ - recent;
  std::vector<char> keep(n, 0);
  for (int i = n - recent; i < n; ++i) keep[i] = 1;
  std::vector<int> rest(n - recent);
  std::iota(rest.begin(), rest.end(), 0);
  const std::vector<double>& s = score_[l];
  auto better = [&s](int a, int b) { return s[a] != s[b] ? s[a] > s[b] : a > b; };
  if (heavy < static_cast<int>(rest.size())) {
    std::nth_element(rest.begin(), rest.begin() + heavy, rest.end(), better);
    rest.resize(heavy);
  }
  for (int i : rest) keep[i] = 1;
  Compact(l, keep);
}

// Lowest attention of the current query, averaged over all heads of the layer,
// goes first; every list holds the same tokens (ties: the older token goes).
void TokenEviction::EvictTova(const std::vector<std::vector<float>>& probs, int num_heads) {
  const int L = num_lists();
  const int n = static_cast<int>(kept_[0].size());
  if (n <= budget_) return;
  QE_CHECK(static_cast<int>(probs.size()) == num_heads && num_heads % L == 0,
           "probs for %d heads, %d lists", static_cast<int>(probs.size()), L);
  std::vector<double> mean(n, 0.0);
  for (int h = 0; h < num_heads; ++h) {
    QE_CHECK(static_cast<int>(probs[h].size()) == n, "head %d: %zu probs for %d tokens", h,
             probs[h].size(), n);
    for (int i = 0; i < n; ++i) mean[i] += probs[h][i];
  }
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  auto better = [&mean](int a, int b) { return mean[a] != mean[b] ? mean[a] > mean[b] : a > b; };
  std::nth_element(order.begin(), order.begin() + budget_, order.end(), better);
  std::vector<char> keep(n, 0);
  for (int i = 0; i < budget_; ++i) keep[order[i]] = 1;
  for (int l = 0; l < L; ++l) Compact(l, keep);
}

}  // namespace quest
