// The eviction baselines' keep lists: which token positions of one layer each
// KV head still holds under StreamingLLM, H2O or TOVA, and the scores that
// decide what goes next. Evicted tokens are gone for good (unlike Quest, which
// keeps every token and only chooses what to read).
#pragma once

#include <cstdint>
#include <vector>

#include "src/util/check.h"

namespace quest {

enum class Eviction { kStreaming, kH2O, kTova };

class TokenEviction {
 public:
  // budget: tokens each list keeps after a step; sinks: StreamingLLM's first
  // tokens. H2O splits the budget half recent window, half heavy hitters.
  TokenEviction(Eviction method, int budget, int sinks);

  // At the first decode step of a layer: every list holds positions [0, length).
  void Init(int num_lists, int length);
  bool initialized() const { return !kept_.empty(); }
  int num_lists() const { return static_cast<int>(kept_.size()); }

  // Adds the new token's position to every list (it is attended this step).
  void Append(int32_t pos);
  // Ascending token positions held by list l.
  const std::vector<int32_t>& kept(int l) const { return kept_[l]; }

  // After attention over the kept lists. probs[h]: the softmax probability of
  // each of list (h / G)'s tokens for query head h, in list order (AttendTokens'
  // `probs`); G = num_heads / num_lists. Streaming ignores it (may be empty).
  // Accumulates H2O's scores, then evicts down to the budget.
  void Update(const std::vector<std::vector<float>>& probs, int num_heads);

  bool needs_probs() const { return method_ != Eviction::kStreaming; }
  // Whether attention over the lists is dense attention this step: every list
  // holds every position [0, length) and none will be evicted, with no scores
  // to accumulate (StreamingLLM and TOVA within the budget; never H2O).
  bool AttendsEverything(int length) const;

 private:
  void EvictStreaming(int l);
  void EvictH2O(int l);
  void EvictTova(const std::vector<std::vector<float>>& probs, int num_heads);
  // Keeps the entries of list l whose flag is set (order preserved).
  void Compact(int l, const std::vector<char>& keep);

  Eviction method_;
  int budget_;
  int sinks_;
  std::vector<std::vector<int32_t>> kept_;  // [list][kept tokens] positions, ascending
  std::vector<std::vector<double>> score_;  // H2O: [list][kept tokens] accumulated attention
};

}  // namespace quest
