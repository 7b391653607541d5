// RoPE scaling as a GGUF file declares it (`<arch>.rope.scaling.*`): linear
// position interpolation, YaRN, LongRoPE (Phi-3 128K), or none. Llama 3's
// frequency factors and LongRoPE's two factor sets come as tensors
// (rope_freqs.weight, rope_factors_long/short.weight) read with the weights.
#pragma once

#include <string>
#include <vector>

#include "src/gguf/gguf.h"
#include "src/util/check.h"

namespace quest {

enum class RopeScalingType { kNone, kLinear, kYarn, kLongRope };
const char* Name(RopeScalingType t);  // "none", "linear", "yarn", "longrope"

struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  float factor = 1;              // context extension factor (rope.scaling.factor)
  int original_context = 0;      // rope.scaling.original_context_length
  float beta_fast = 32;          // YaRN: pairs turning faster than this over the
  float beta_slow = 1;           //   original context keep their frequency; slower
                                 //   than beta_slow are interpolated; a ramp between
  float attn_factor = 1;         // rope.scaling.attn_factor (LongRoPE: derived if absent)
};

// A float metadata key that may be absent (then `fallback`) but, if present,
// must be a finite positive number; the error names the file and key.
Result<float> OptionalPositiveFloat(const GgufFile& g, const std::string& key, float fallback);

// Reads the scaling keys of architecture prefix `a` ("qwen2."); an unknown
// type is an error naming the key and the supported types. original_context
// defaults to the file's context_length, as in llama.cpp. A file with
// LongRoPE factor tensors is kLongRope (type key absent or "longrope").
Result<RopeScaling> ReadRopeScaling(const GgufFile& g, const std::string& a,
                                    int context_length);

// YaRN as per-pair frequency divisors (theta_i /= factors[i], the form of
// llama 3's rope_freqs): pair i turns at base^(-2i/rope_dim) times
// (1 - mix_i) / factor + mix_i, where mix_i ramps from 1 (pairs with more than
// beta_fast turns over the original context: kept) to 0 (fewer than beta_slow:
// interpolated), with the ramp's ends at the floor/ceil of the pair index
// where each count is reached, as llama.cpp and Hugging Face compute it.
std::vector<float> YarnFrequencyFactors(const RopeScaling& s, int rope_dim, float base);

// YaRN's magnitude scale of cos/sin (so of q and k each): attn_factor *
// (1 + 0.1 ln factor), llama.cpp's product for a GGUF file.
float YarnMagnitudeScale(const RopeScaling& s);

// LongRoPE's magnitude scale of cos/sin when the file gives none: Hugging
// Face's sqrt(1 + ln(s) / ln(original_context)), s = context_length /
// original_context (1 when s <= 1); what llama.cpp's converter stores.
float LongRopeDerivedAttnFactor(int context_length, int original_context);

// Whether a sequence context of `context` tokens rotates with LongRoPE's long
// factors (else the short ones): llama.cpp's rule, long when the context per
// sequence exceeds the original context, fixed for the context's lifetime, so
// every position of a sequence uses one set and cached keys stay consistent.
bool LongRopeUsesLongFactors(const RopeScaling& s, int context);

// One line for logs: "LongRoPE long factors (context 8192 > original 4096,
// attn_factor 1.19)"; empty unless s is kLongRope.
std::string LongRopeChoiceText(const RopeScaling& s, int context);

}  // namespace quest
