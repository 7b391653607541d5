// Parses `<arch>.rope.scaling.*`, derives YaRN's per-pair factors and
// LongRoPE's factor choice.
#include "src/model/rope_scaling.h"

#include <algorithm>
#include <cmath>

namespace quest {

const char* Name(RopeScalingType t) {
  switch (t) {
    case RopeScalingType::kNone: return "none";
    case RopeScalingType::kLinear: return "linear";
    case RopeScalingType::kYarn: return "yarn";
    case RopeScalingType::kLongRope: return "longrope";
  }
  return "?";
}

Result<float> OptionalPositiveFloat(const GgufFile& g, const std::string& key, float fallback) {
  if (!g.Has(key)) return fallback;
  Result<float> v = g.GetF32(key);
  if (!v.ok()) return v.status();
  if (!std::isfinite(*v) || *v <= 0) {
    return Status::Error(StrFormat("%s: metadata %s = %g must be a positive number",
                                   g.path().c_str(), key.c_str(), *v));
  }
  return *v;
}

namespace {

// The (fractional) pair index whose wavelength fits `turns` times into the
// original context: rope_dim * ln(ctx / (turns * 2 pi)) / (2 ln base).
double CorrectionDim(int rope_dim, int original_context, double turns, double base) {
  return rope_dim * std::log(original_context / (turns * 2 * M_PI)) / (2 * std::log(base));
}

}  // namespace

Result<RopeScaling> ReadRopeScaling(const GgufFile& g, const std::string& a,
                                    int context_length) {
  RopeScaling s;
  s.original_context = context_length;
  const std::string type_key = a + "rope.scaling.type";
  const bool long_rope = g.FindTensor("rope_factors_long.weight") != nullptr ||
                         g.FindTensor("rope_factors_short.weight") != nullptr;
  if (long_rope) {
    // llama.cpp's converter writes no type for Phi-3's LongRoPE; a file that
    // declares another type with the factor tensors is ambiguous.
    if (g.Has(type_key)) {
      Result<std::string> type = g.GetString(type_key);
      if (!type.ok()) return type.status();
      if (*type != "longrope") {
        return Status::Error(StrFormat("%s: %s '%s' with LongRoPE tensors rope_factors_long/short "
                                       "is not supported (expected longrope or no type)",
                                       g.path().c_str(), type_key.c_str(), type->c_str()));
      }
    }
    s.type = RopeScalingType::kLongRope;
  } else if (!g.Has(type_key)) {
    // Older files: a bare factor means linear scaling (llama.cpp's default).
    if (!g.Has(a + "rope.scaling.factor")) return s;
    s.type = RopeScalingType::kLinear;
  } else {
    Result<std::string> type = g.GetString(type_key);
    if (!type.ok()) return type.status();
    if (*type == "none") return s;
    if (*type == "linear") {
      s.type = RopeScalingType::kLinear;
    } else if (*type == "yarn") {
      s.type = RopeScalingType::kYarn;
    } else if (*type == "longrope") {
      return Status::Error(StrFormat("%s: %s is longrope but the tensors rope_factors_long.weight "
                                     "and rope_factors_short.weight are missing",
                                     g.path().c_str(), type_key.c_str()));
    } else {
      return Status::Error(StrFormat("%s: %s '%s' is not supported (none, linear, yarn)",
                                     g.path().c_str(), type_key.c_str(), type->c_str()));
    }
  }
  QE_ASSIGN_OR_RETURN(s.factor, OptionalPositiveFloat(g, a + "rope.scaling.factor", 1.0f));
  QE_ASSIGN_OR_RETURN(s.attn_factor, OptionalPositiveFloat(g, a + "rope.scaling.attn_factor", 0.0f));
  QE_ASSIGN_OR_RETURN(s.beta_fast, OptionalPositiveFloat(g, a + "rope.scaling.yarn_beta_fast", 32.0f));
  QE_ASSIGN_OR_RETURN(s.beta_slow, OptionalPositiveFloat(g, a + "rope.scaling.yarn_beta_slow", 1.0f));
  const std::string orig_key = a + "rope.scaling.original_context_length";
  if (g.Has(orig_key)) {
    Result<int64_t> v = g.GetInt(orig_key);
    if (!v.ok()) return v.status();
    if (*v <= 0 || *v > (1 << 24)) {
      return Status::Error(StrFormat("%s: metadata %s = %lld is out of range (1..%d)",
                                     g.path().c_str(), orig_key.c_str(),
                                     static_cast<long long>(*v), 1 << 24));
    }
    s.original_context = static_cast<int>(*v);
  }
  if (s.attn_factor == 0) {  // absent
    s.attn_factor = s.type == RopeScalingType::kLongRope
                        ? LongRopeDerivedAttnFactor(context_length, s.original_context)
                        : 1.0f;
  }
  if (s.type == RopeScalingType::kLongRope && s.factor != 1) {
    // llama.cpp would divide positions by it on top of the factors.
    return Status::Error(StrFormat("%s: %srope.scaling.factor %g with LongRoPE tensors is not "
                                   "supported", g.path().c_str(), a.c_str(), s.factor));
  }
  if (s.type == RopeScalingType::kYarn && s.beta_fast <= s.beta_slow) {
    return Status::Error(StrFormat("%s: YaRN needs yarn_beta_fast (%g) > yarn_beta_slow (%g)",
                                   g.path().c_str(), s.beta_fast, s.beta_slow));
  }
  return s;
}

std::vector<float> YarnFrequencyFactors(const RopeScaling& s, int rope_dim, float base) {
  const int half = rope_dim / 2;
  const double low = std::max(
      0.0, std::floor(CorrectionDim(rope_dim, s.original_context, s.beta_fast, base)));
  const double high = std::min<double>(
      rope_dim - 1, std::ceil(CorrectionDim(rope_dim, s.original_context, s.beta_slow, base)));
  const double scale = 1.0 / s.factor;
  std::vector<float> f(half);
  for (int i = 0; i < half; ++i) {
    const double ramp = std::clamp((i - low) / std::max(0.001, high - low), 0.0, 1.0);
    const double keep = 1 - ramp;  // 1: the original frequency, 0: divided by factor
    f[i] = static_cast<float>(1.0 / (scale * (1 - keep) + keep));
  }
  return f;
}

float YarnMagnitudeScale(const RopeScaling& s) {
  const float m = s.factor <= 1 ? 1.0f : 1.0f + 0.1f * std::log(s.factor);
  return s.attn_factor * m;
}

float LongRopeDerivedAttnFactor(int context_length, int original_context) {
  const double scale = static_cast<double>(context_length) / original_context;
  if (scale <= 1) return 1.0f;
  return static_cast<float>(std::sqrt(1 + std::log(scale) / std::log(original_context)));
}

bool LongRopeUsesLongFactors(const RopeScaling& s, int context) {
  return context > s.original_context;
}

std::string LongRopeChoiceText(const RopeScaling& s, int context) {
  if (s.type != RopeScalingType::kLongRope) return "";
  const bool use_long = LongRopeUsesLongFactors(s, context);
  return StrFormat("LongRoPE %s factors (context %d %s original %d, attn_factor %.4g)",
                   use_long ? "long" : "short", context, use_long ? ">" : "<=",
                   s.original_context, s.attn_factor);
}

}  // namespace quest
