// Reads ModelConfig from GGUF metadata with the standard keys
// ("<arch>.block_count", "<arch>.attention.head_count", ...).
#include "src/model/config.h"

#include <cmath>

namespace quest {
namespace {

// An integer hyperparameter that must be present and positive.
Result<int> RequiredInt(const GgufFile& g, const std::string& key, int64_t max) {
  if (!g.Has(key)) {
    return Status::Error(StrFormat("%s: missing metadata key %s", g.path().c_str(), key.c_str()));
  }
  Result<int64_t> v = g.GetInt(key);
  if (!v.ok()) return v.status();
  if (*v <= 0 || *v > max) {
    return Status::Error(StrFormat("%s: metadata %s = %lld is out of range (1..%lld)",
                                   g.path().c_str(), key.c_str(), static_cast<long long>(*v),
                                   static_cast<long long>(max)));
  }
  return static_cast<int>(*v);
}

// Linear scaling divides positions; YaRN becomes frequency divisors and a
// magnitude scale of q and k, which only multiplies q.k (rope_dim == head_dim);
// so does LongRoPE's attn_factor, whatever factor set the context picks.
Status ApplyRopeScaling(const GgufFile& g, ModelConfig* c) {
  const RopeScaling& s = c->rope_scaling;
  if (s.type == RopeScalingType::kLinear) {
    c->rope_scale = 1.0f / s.factor;
  } else if (s.type == RopeScalingType::kYarn) {
    if (g.FindTensor("rope_freqs.weight") != nullptr) {
      return Status::Error(StrFormat("%s: YaRN scaling and a rope_freqs.weight tensor together "
                                     "are not supported", g.path().c_str()));
    }
    const float m = YarnMagnitudeScale(s);
    if (m != 1.0f && c->rope_dim != c->head_dim) {
      return Status::Error(StrFormat("%s: YaRN with rope.dimension_count %d < head dim %d is not "
                                     "supported", g.path().c_str(), c->rope_dim, c->head_dim));
    }
    c->rope_freq_factors = YarnFrequencyFactors(s, c->rope_dim, c->rope_base);
    c->attn_scale *= m * m;
  } else if (s.type == RopeScalingType::kLongRope) {
    // The factor sets are tensors (weights.cc); the context in use picks one.
    if (g.FindTensor("rope_freqs.weight") != nullptr) {
      return Status::Error(StrFormat("%s: LongRoPE tensors and a rope_freqs.weight tensor together "
                                     "are not supported", g.path().c_str()));
    }
    if (s.attn_factor != 1.0f && c->rope_dim != c->head_dim) {
      return Status::Error(StrFormat("%s: LongRoPE with rope.dimension_count %d < head dim %d is "
                                     "not supported", g.path().c_str(), c->rope_dim, c->head_dim));
    }
    c->attn_scale *= s.attn_factor * s.attn_factor;
  }
  return Status();
}

}  // namespace

Result<ModelConfig> ModelConfig::FromGguf(const GgufFile& g) {
  ModelConfig c;
  Result<std::string> arch = g.GetString("general.architecture");
  if (!arch.ok()) return arch.status();
  c.arch_name = *arch;
  if (c.arch_name == "llama") {
    c.arch = Arch::kLlama;
  } else if (c.arch_name == "qwen2") {
    c.arch = Arch::kQwen2;
  } else if (c.arch_name == "qwen3") {
    c.arch = Arch::kQwen3;
  } else if (c.arch_name == "phi3") {
    c.arch = Arch::kPhi3;
  } else if (c.arch_name == "gemma3") {
    c.arch = Arch::kGemma3;
  } else {
    return Status::Error(StrFormat("%s: unsupported architecture '%s' (supported: %s)",
                                   g.path().c_str(), c.arch_name.c_str(),
                                   SupportedArchitectures()));
  }
  const std::string a = c.arch_name + ".";
  constexpr int64_t kMaxDim = 1 << 20;
  QE_ASSIGN_OR_RETURN(c.num_layers, RequiredInt(g, a + "block_count", 1024));
  QE_ASSIGN_OR_RETURN(c.d_model, RequiredInt(g, a + "embedding_length", kMaxDim));
  QE_ASSIGN_OR_RETURN(c.num_heads, RequiredInt(g, a + "attention.head_count", 1024));
  c.num_kv_heads = c.num_heads;
  if (g.Has(a + "attention.head_count_kv")) {
    QE_ASSIGN_OR_RETURN(c.num_kv_heads, RequiredInt(g, a + "attention.head_count_kv", 1024));
  }
  if (c.num_heads % c.num_kv_heads != 0) {
    return Status::Error(StrFormat("%s: head_count %d is not a multiple of head_count_kv %d",
                                   g.path().c_str(), c.num_heads, c.num_kv_heads));
  }
  QE_ASSIGN_OR_RETURN(c.d_ff, RequiredInt(g, a + "feed_forward_length", kMaxDim));
  QE_ASSIGN_OR_RETURN(c.context_length, RequiredInt(g, a + "context_length", 1 << 24));
  c.head_dim = c.d_model / c.num_heads;
  if (g.Has(a + "attention.key_length")) {
    QE_ASSIGN_OR_RETURN(c.head_dim, RequiredInt(g, a + "attention.key_length", 1024));
  }
  if (g.Has(a + "attention.value_length")) {
    int v = 0;
    QE_ASSIGN_OR_RETURN(v, RequiredInt(g, a + "attention.value_length", 1024));
    if (v != c.head_dim) {
      return Status::Error(StrFormat("%s: key_length %d != value_length %d is not supported",
                                     g.path().c_str(), c.head_dim, v));
    }
  }
  c.rope_dim = c.head_dim;
  if (g.Has(a + "rope.dimension_count")) {
    QE_ASSIGN_OR_RETURN(c.rope_dim, RequiredInt(g, a + "rope.dimension_count", c.head_dim));
    if (c.rope_dim % 2 != 0) {
      return Status::Error(StrFormat("%s: rope.dimension_count %d is odd", g.path().c_str(),
                                     c.rope_dim));
    }
  }
  QE_ASSIGN_OR_RETURN(c.rms_eps,
                          OptionalPositiveFloat(g, a + "attention.layer_norm_rms_epsilon", 1e-5f));
  QE_ASSIGN_OR_RETURN(c.rope_base, OptionalPositiveFloat(g, a + "rope.freq_base", 10000.0f));
  QE_ASSIGN_OR_RETURN(c.rope_scaling, ReadRopeScaling(g, a, c.context_length));
  // The vocabulary size: the metadata key if present, else the token list.
  if (g.Has(a + "vocab_size")) {
    QE_ASSIGN_OR_RETURN(c.vocab_size, RequiredInt(g, a + "vocab_size", 1 << 24));
  } else {
    Result<const std::vector<std::string>*> tokens = g.GetStringArray("tokenizer.ggml.tokens");
    if (!tokens.ok()) return tokens.status();
    c.vocab_size = static_cast<int>((*tokens)->size());
  }
  c.layer_is_local.assign(c.num_layers, false);
  c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));

  if (c.arch == Arch::kGemma3) {
    c.rope_style = RopeStyle::kHalves;
    c.embed_scale = std::sqrt(static_cast<float>(c.d_model));
    c.tied_output = g.FindTensor("output.weight") == nullptr;
    // Gemma 3: five sliding-window layers, then one global layer; local layers
    // use RoPE base 10000 (neither is in the GGUF metadata of the 270M model).
    if (g.Has(a + "attention.sliding_window")) {
      QE_ASSIGN_OR_RETURN(c.sliding_window,
                              RequiredInt(g, a + "attention.sliding_window", 1 << 24));
    }
    const int pattern = 6;
    for (int l = 0; l < c.num_layers; ++l) {
      c.layer_is_local[l] = c.sliding_window > 0 && (l % pattern) < pattern - 1;
    }
    c.rope_base_local = 10000.0f;
    // The query scale is 1 / sqrt(query_pre_attn_scalar), which is head_dim
    // for every Gemma 3 size but the 27B (d_model / num_heads).
    float qpas = static_cast<float>(c.head_dim);
    QE_ASSIGN_OR_RETURN(qpas, OptionalPositiveFloat(g, a + "attention.query_pre_attn_scalar", qpas));
    c.attn_scale = 1.0f / std::sqrt(qpas);
  } else {
    c.tied_output = g.FindTensor("output.weight") == nullptr;
    // A window declared by a llama file applies to every layer (Mistral 7B
    // v0.1). Phi-3 files declare one that llama.cpp disables; so does quest.
    if (c.arch == Arch::kLlama && g.Has(a + "attention.sliding_window")) {
      QE_ASSIGN_OR_RETURN(c.sliding_window,
                              RequiredInt(g, a + "attention.sliding_window", 1 << 24));
      if (c.sliding_window < c.context_length) c.layer_is_local.assign(c.num_layers, true);
    }
  }
  c.qkv_bias = c.arch == Arch::kQwen2;
  c.qk_norm = c.arch == Arch::kGemma3 || c.arch == Arch::kQwen3;
  c.fused_qkv = c.arch == Arch::kPhi3;
  if (c.arch == Arch::kQwen2 || c.arch == Arch::kQwen3 || c.arch == Arch::kPhi3) {
    c.rope_style = RopeStyle::kHalves;
  }
  QE_RETURN_IF_ERROR(ApplyRopeScaling(g, &c));
  return c;
}

}  // namespace quest
