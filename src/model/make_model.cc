// Random-weight GGUF files with real model shapes and a valid tokenizer.
#include "src/model/make_model.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "src/gguf/gguf_writer.h"
#include "src/model/quantize.h"
#include "src/model/rope_scaling.h"
#include "src/model/weight_types.h"

namespace quest {
namespace {

using V = SyntheticVocab;
using R = PresetRope;
constexpr ModelPreset kPresets[] = {
    // name, arch, layers, d_model, heads, kv_heads, head_dim, d_ff, vocab, context, rope base,
    // rope scaling, factor, original context, tied output, vocabulary
    {"llama3.2-1b", "llama", 16, 2048, 32, 8, 0, 8192, 128256, 131072, 500000.0f, R::kLlama3, 32,
     8192, true, V::kLlama3Bpe},
    {"llama3.1-8b", "llama", 32, 4096, 32, 8, 0, 14336, 128256, 131072, 500000.0f, R::kLlama3, 8,
     8192, false, V::kLlama3Bpe},
    {"llama2-7b", "llama", 32, 4096, 32, 32, 0, 11008, 32000, 4096, 10000.0f, R::kNone, 0, 0,
     false, V::kSentencePiece},
    // Mistral 7B v0.3: llama with grouped queries, a 32768-token SentencePiece vocabulary.
    {"mistral-7b", "llama", 32, 4096, 32, 8, 0, 14336, 32768, 32768, 1000000.0f, R::kNone, 0, 0,
     false, V::kSentencePiece},
    // Mistral 7B v0.1: a 4096-token sliding window on every layer.
    {"mistral-7b-v0.1", "llama", 32, 4096, 32, 8, 0, 14336, 32000, 32768, 10000.0f, R::kNone, 0,
     0, false, V::kSentencePiece, 4096},
    // Qwen 2.5 7B with the YaRN setting its model card gives for 128K contexts.
    {"qwen2.5-7b", "qwen2", 28, 3584, 28, 4, 0, 18944, 152064, 131072, 1000000.0f, R::kYarn, 4,
     32768, false, V::kQwen2Bpe},
    {"qwen3-8b", "qwen3", 36, 4096, 32, 8, 128, 12288, 151936, 131072, 1000000.0f, R::kYarn, 4,
     32768, false, V::kQwen2Bpe},
    {"phi3-mini", "phi3", 32, 3072, 32, 32, 0, 8192, 32064, 4096, 10000.0f, R::kNone, 0, 0, false,
     V::kPhi3SentencePiece},
    // Phi-3 mini 128K: LongRoPE from an original context of 4096.
    {"phi3-mini-128k", "phi3", 32, 3072, 32, 32, 0, 8192, 32064, 131072, 10000.0f, R::kLongRope,
     32, 4096, false, V::kPhi3SentencePiece},
    // Two small llama layers, for tests that need a file but no weights download.
    {"tiny", "llama", 2, 128, 4, 2, 0, 256, 1024, 4096, 10000.0f, R::kNone, 0, 0, true,
     V::kLlama3Bpe},
};

// Llama 3 RoPE frequency factors (the "rope_freqs.weight" tensor).
std::vector<float> Llama3RopeFactors(int head_dim, float base, float factor, int original) {
  const double low_freq_factor = 1, high_freq_factor = 4, old_context = original;
  const double low_wavelen = old_context / low_freq_factor;
  const double high_wavelen = old_context / high_freq_factor;
  std::vector<float> f(head_dim / 2);
  for (int i = 0; i < head_dim / 2; ++i) {
    const double freq = std::pow(static_cast<double>(base), -2.0 * i / head_dim);
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) {
      f[i] = 1;
    } else if (wavelen > low_wavelen) {
      f[i] = factor;
    } else {
      const double smooth =
          (old_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
      f[i] = static_cast<float>(1.0 / ((1 - smooth) / factor + smooth));
    }
  }
  return f;
}

// LongRoPE factor sets of a plausible form (the released ones come from a
// search): the short set stretches the low frequencies a little (1 to 2), the
// long set up to 1.25 x scale, both rising with the pair index i as in the
// released Phi-3 files, so that either set differs from the other on most pairs.
std::vector<float> LongRopeFactors(int half, double scale, bool long_set) {
  std::vector<float> f(half);
  for (int i = 0; i < half; ++i) {
    const double t = half > 1 ? static_cast<double>(i) / (half - 1) : 0;
    f[i] = static_cast<float>(long_set ? std::pow(scale, t) * (1 + 0.25 * t) : 1 + t * t);
  }
  return f;
}

// Deterministic uniform values in [-a, a) (xorshift64*), per tensor.
struct Random {
  uint64_t s;
  float Next(float a) {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    const uint32_t r = static_cast<uint32_t>((s * 0x2545F4914F6CDD1DULL) >> 40);
    return (static_cast<float>(r) * (2.0f / 16777216.0f) - 1.0f) * a;
  }
};

uint64_t HashName(const std::string& name, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  return h | 1;
}

}  // namespace

const ModelPreset* FindPreset(const std::string& name) {
  for (const ModelPreset& p : kPresets) {
    if (name == p.name) return &p;
  }
  return nullptr;
}

std::string PresetNames() {
  std::string names;
  for (const ModelPreset& p : kPresets) names += std::string(names.empty() ? "" : ", ") + p.name;
  return names;
}

ModelPreset TinyPreset(const ModelPreset& p, int block) {
  ModelPreset t = p;
  t.layers = 2;
  t.d_model = block > 128 ? block : 128;
  t.heads = 8;
  t.kv_heads = p.kv_heads == p.heads ? 8 : 2;
  // Qwen 3 records its head size (128 for every size, d_model / heads for few).
  t.head_dim = std::string(p.arch) == "qwen3" ? 32 : 0;
  t.d_ff = 256;
  t.vocab = 1024;
  t.context = 1024;
  if (p.rope != PresetRope::kNone) t.original_context = 256;
  if (p.sliding_window > 0) t.sliding_window = 64;
  return t;
}

namespace {

void WriteTokenizer(const TokenizerData& tok, SyntheticVocab kind, GgufWriter* w);

}  // namespace

Status MakeModel(const MakeModelOptions& o, std::ostream& progress) {
  const ModelPreset* found = FindPreset(o.preset);
  if (found == nullptr) {
    return Status::Error("invalid --preset '" + o.preset + "' (expected one of " +
                         PresetNames() + ")");
  }
  const Result<WeightTypes> types = ParseWeightTypes(o.type);
  if (!types.ok()) return types.status();
  const uint32_t block = GetGgmlTypeTraits(static_cast<uint32_t>(types->base))->block_size;
  const ModelPreset p = o.tiny ? TinyPreset(*found, static_cast<int>(block)) : *found;
  if (o.output.empty()) return Status::Error("missing -o FILE");
  if (o.context < 0) return Status::Error(StrFormat("invalid --context %d: must be >= 0", o.context));
  const int head_dim = p.head_dim > 0 ? p.head_dim : p.d_model / p.heads;
  const int q_dim = head_dim * p.heads;
  const int kv_dim = head_dim * p.kv_heads;
  const std::string arch = p.arch;
  const std::string a = arch + ".";

  GgufWriter w;
  w.SetString("general.architecture", arch);
  w.SetString("general.name", std::string("quest random ") + p.name + (o.tiny ? " tiny" : ""));
  w.SetU32(a + "block_count", p.layers);
  w.SetU32(a + "context_length", o.context > 0 ? o.context : p.context);
  w.SetU32(a + "embedding_length", p.d_model);
  w.SetU32(a + "feed_forward_length", p.d_ff);
  w.SetU32(a + "attention.head_count", p.heads);
  w.SetU32(a + "attention.head_count_kv", p.kv_heads);
  if (p.head_dim > 0) {
    w.SetU32(a + "attention.key_length", head_dim);
    w.SetU32(a + "attention.value_length", head_dim);
  }
  w.SetU32(a + "rope.dimension_count", head_dim);
  w.SetF32(a + "rope.freq_base", p.rope_base);
  w.SetF32(a + "attention.layer_norm_rms_epsilon", arch == "llama" ? 1e-5f : 1e-6f);
  w.SetU32(a + "vocab_size", p.vocab);
  if (p.sliding_window > 0) w.SetU32(a + "attention.sliding_window", p.sliding_window);
  const int context = o.context > 0 ? o.context : p.context;
  if (p.rope == PresetRope::kYarn) {
    w.SetString(a + "rope.scaling.type", "yarn");
    w.SetF32(a + "rope.scaling.factor", p.rope_factor);
    w.SetU32(a + "rope.scaling.original_context_length", p.original_context);
  }
  if (p.rope == PresetRope::kLongRope) {  // as llama.cpp's converter writes Phi-3 128K
    w.SetU32(a + "rope.scaling.original_context_length", p.original_context);
    w.SetF32(a + "rope.scaling.attn_factor",
             LongRopeDerivedAttnFactor(context, p.original_context));
  }
  w.SetU32("general.file_type", types->file_type);
  WriteTokenizer(MakeVocab(p.vocab_kind, p.vocab), p.vocab_kind, &w);

  // Tensors: name, type, shape (ne: row length first), init range.
  struct Spec {
    std::string name;
    GgmlType type;
    std::vector<int64_t> shape;
    float range;  // 0: norm (all ones)
  };
  std::vector<Spec> specs;
  // Real shapes: uniform with std 0.02, as models are initialised. Tiny files:
  // std 1 / sqrt(inputs), 1.5 / sqrt(inputs) for q and k, so that every
  // activation stays near 1 and attention is sharp: a RoPE, norm or bias
  // error then moves the logits by far more than rounding does.
  const auto range = [&](int64_t inputs, bool qk) {
    const float std_dev = o.tiny ? (qk ? 1.5f : 1.0f) / std::sqrt(static_cast<float>(inputs))
                                 : 0.02f;
    return std_dev * std::sqrt(3.0f);
  };
  const auto matrix = [&](const std::string& name, int64_t inputs, int64_t outputs, bool qk,
                          MatrixRole role = MatrixRole::kOther, int layer = 0) {
    const GgmlType t = MatrixType(*types, role, layer, p.layers, inputs);
    specs.push_back({name, t, {inputs, outputs}, range(inputs, qk)});
  };
  // Biases and per-head norm weights random around their usual values, so a
  // missing one changes the logits.
  const float br = 0.5f;
  matrix("token_embd.weight", p.d_model, p.vocab, false,
         p.tied_output ? MatrixRole::kOutput : MatrixRole::kOther);
  specs.push_back({"output_norm.weight", GgmlType::kF32, {p.d_model}, 0});
  if (!p.tied_output) matrix("output.weight", p.d_model, p.vocab, false, MatrixRole::kOutput);
  for (int l = 0; l < p.layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    specs.push_back({b + "attn_norm.weight", GgmlType::kF32, {p.d_model}, 0});
    if (arch == "phi3") {
      matrix(b + "attn_qkv.weight", p.d_model, q_dim + 2 * kv_dim, true);
    } else {
      matrix(b + "attn_q.weight", p.d_model, q_dim, true);
      matrix(b + "attn_k.weight", p.d_model, kv_dim, true);
      matrix(b + "attn_v.weight", p.d_model, kv_dim, false, MatrixRole::kAttnV, l);
    }
    if (arch == "qwen2") {
      specs.push_back({b + "attn_q.bias", GgmlType::kF32, {q_dim}, br});
      specs.push_back({b + "attn_k.bias", GgmlType::kF32, {kv_dim}, br});
      specs.push_back({b + "attn_v.bias", GgmlType::kF32, {kv_dim}, br});
    }
    if (arch == "qwen3") {
      specs.push_back({b + "attn_q_norm.weight", GgmlType::kF32, {head_dim}, -br});
      specs.push_back({b + "attn_k_norm.weight", GgmlType::kF32, {head_dim}, -br});
    }
    matrix(b + "attn_output.weight", q_dim, p.d_model, false);
    specs.push_back({b + "ffn_norm.weight", GgmlType::kF32, {p.d_model}, 0});
    if (arch == "phi3") {
      matrix(b + "ffn_up.weight", p.d_model, 2 * p.d_ff, false);
    } else {
      matrix(b + "ffn_gate.weight", p.d_model, p.d_ff, false);
      matrix(b + "ffn_up.weight", p.d_model, p.d_ff, false);
    }
    matrix(b + "ffn_down.weight", p.d_ff, p.d_model, false, MatrixRole::kFfnDown, l);
  }
  // RoPE factor tensors (f32 [head_dim / 2]), written after the specs.
  std::vector<std::pair<std::string, std::vector<float>>> factors;
  if (p.rope == PresetRope::kLlama3) {
    factors.emplace_back("rope_freqs.weight", Llama3RopeFactors(head_dim, p.rope_base,
                                                                p.rope_factor, p.original_context));
  } else if (p.rope == PresetRope::kLongRope) {
    const double scale = static_cast<double>(context) / p.original_context;
    factors.emplace_back("rope_factors_long.weight", LongRopeFactors(head_dim / 2, scale, true));
    factors.emplace_back("rope_factors_short.weight", LongRopeFactors(head_dim / 2, scale, false));
  }
  for (const Spec& s : specs) w.AddTensorInfo(s.name, s.type, s.shape);
  for (const auto& f : factors) {
    w.AddTensorInfo(f.first, GgmlType::kF32, {static_cast<int64_t>(f.second.size())});
  }
  progress << "make-model: " << p.name << (o.tiny ? " (tiny) " : " ") << o.type << ", "
           << specs.size() << " tensors -> " << o.output << "\n";
  std::vector<float> row;
  return w.WriteStreaming(o.output, [&](size_t index, uint8_t* out, size_t nbytes) {
    if (index >= specs.size()) {
      std::memcpy(out, factors[index - specs.size()].second.data(), nbytes);
      return;
    }
    const Spec& s = specs[index];
    const int64_t cols = s.shape[0];
    const int64_t rows = s.shape.size() > 1 ? s.shape[1] : 1;
    const size_t row_bytes = nbytes / rows;
    Random rng{HashName(s.name, o.seed)};
    row.resize(cols);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        // range 0: ones; negative: 1 + uniform(|range|); positive: uniform(range).
        row[c] = s.range == 0  ? 1.0f
                 : s.range < 0 ? 1.0f + rng.Next(-s.range)
                               : rng.Next(s.range);
      }
      QuantizeRow(s.type, row.data(), cols, out + r * row_bytes);
    }
  });
}

namespace {

void WriteTokenizer(const TokenizerData& tok, SyntheticVocab kind, GgufWriter* w) {
  if (kind == SyntheticVocab::kSentencePiece || kind == SyntheticVocab::kPhi3SentencePiece) {
    w->SetString("tokenizer.ggml.model", "llama");
    w->SetF32Array("tokenizer.ggml.scores", tok.scores);
    w->SetU32("tokenizer.ggml.unknown_token_id", tok.unknown);
  } else {
    w->SetString("tokenizer.ggml.model", "gpt2");
    w->SetString("tokenizer.ggml.pre", kind == SyntheticVocab::kQwen2Bpe ? "qwen2" : "llama-bpe");
    w->SetStringArray("tokenizer.ggml.merges", tok.merges);
  }
  w->SetU32("tokenizer.ggml.bos_token_id", tok.bos);
  w->SetU32("tokenizer.ggml.eos_token_id", tok.eos);
  w->SetBool("tokenizer.ggml.add_bos_token", tok.add_bos);
  w->SetStringArray("tokenizer.ggml.tokens", tok.tokens);
  w->SetI32Array("tokenizer.ggml.token_type", tok.types);
}

}  // namespace
}  // namespace quest
