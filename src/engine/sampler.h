// Picks the next token from logits: greedy, or temperature sampling with
// top-k, top-p, min-p and repetition, frequency and presence penalties;
// deterministic given the seed.
#pragma once

#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "src/util/check.h"

namespace quest {

struct SamplerOptions {
  float temperature = 0.0f;  // 0: greedy
  int top_k = 0;             // 0: off
  float top_p = 1.0f;        // 1: off
  float min_p = 0.0f;        // 0: off
  float repeat_penalty = 1.0f;  // 1: off; divides positive logits of seen tokens
  int repeat_last_n = 64;
  // OpenAI's penalties over the tokens this sampler has returned so far:
  // logit -= frequency_penalty * count + presence_penalty * (count > 0).
  float frequency_penalty = 0.0f;  // in [-2, 2]; 0: off
  float presence_penalty = 0.0f;   // in [-2, 2]; 0: off
  uint64_t seed = 0;
  Status Validate() const;  // names the option and value
};

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options);
  // logits may be modified (penalties). history: tokens so far (the prompt's
  // too), for the repetition penalty.
  int32_t Sample(float* logits, int vocab_size, const std::vector<int32_t>& history);

 private:
  int32_t Pick(const float* logits, int vocab_size);

  SamplerOptions o_;
  std::unordered_map<int32_t, int> generated_;  // token -> times returned
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> cand_;
};

}  // namespace quest
