// Tensor lookup and validation for the architectures of config.h.
#include "src/model/weights.h"

#include <cmath>
#include <cstring>

#include "src/kernels/quant/matvec.h"
#include "src/util/f16.h"

namespace quest {

size_t Matrix::bytes() const {
  const GgmlTypeTraits* t = GetGgmlTypeTraits(static_cast<uint32_t>(type));
  return static_cast<size_t>(rows) * (cols / t->block_size) * t->type_size;
}

const void* Matrix::Row(int64_t r) const {
  return static_cast<const uint8_t*>(data) + static_cast<size_t>(r) * (bytes() / rows);
}

namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

class Loader {
 public:
  Loader(const GgufFile& g, ModelWeights* w) : g_(g), w_(w) {}

  Status GetMatrix(const std::string& name, int64_t rows, int64_t cols, Matrix* m) {
    const GgufTensor* t = g_.FindTensor(name);
    if (t == nullptr) return Missing(name);
    if (t->shape.size() != 2 || t->shape[0] != cols || t->shape[1] != rows) {
      return Status::Error(StrFormat("%s: tensor %s has shape %s, expected [%lld, %lld]",
                                     g_.path().c_str(), name.c_str(),
                                     ShapeString(t->shape).c_str(), static_cast<long long>(cols),
                                     static_cast<long long>(rows)));
    }
    if (!IsSupportedWeightType(t->type)) {
      const GgmlTypeTraits* tr = GetGgmlTypeTraits(static_cast<uint32_t>(t->type));
      return Status::Error(StrFormat(
          "%s: tensor %s has type %s, which quest cannot compute with (supported: f32, f16, bf16, "
          "q4_0, q4_1, q5_0, q5_1, q8_0, q4_K, q5_K, q6_K)",
          g_.path().c_str(), name.c_str(), tr ? tr->name : "unknown"));
    }
    *m = Matrix{t->type, t->data, rows, cols};
    w_->total_bytes += m->bytes();
    return Status();
  }

  // A vector (norm weights) as f32; converted into owned storage if needed.
  Status GetVector(const std::string& name, int64_t n, const float** out) {
    const GgufTensor* t = g_.FindTensor(name);
    if (t == nullptr) return Missing(name);
    if (t->num_elements() != n) {
      return Status::Error(StrFormat("%s: tensor %s has shape %s, expected [%lld]",
                                     g_.path().c_str(), name.c_str(),
                                     ShapeString(t->shape).c_str(), static_cast<long long>(n)));
    }
    if (t->type == GgmlType::kF32) {
      *out = reinterpret_cast<const float*>(t->data);
      return Status();
    }
    auto v = std::make_unique<std::vector<float>>(n);
    if (t->type == GgmlType::kF16) {
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t->data + 2 * i, 2);
        (*v)[i] = F16ToF32(h);
      }
    } else {
      return Status::Error(StrFormat("%s: tensor %s: norm vectors must be f32 or f16",
                                     g_.path().c_str(), name.c_str()));
    }
    *out = v->data();
    w_->owned.push_back(std::move(v));
    return Status();
  }

  // A fused matrix of parts.size() row ranges, each a view of its rows.
  Status GetFused(const std::string& name, const std::vector<int64_t>& rows, int64_t cols,
                  const std::vector<Matrix*>& parts) {
    int64_t total = 0;
    for (int64_t r : rows) total += r;
    Matrix all;
    QE_RETURN_IF_ERROR(GetMatrix(name, total, cols, &all));
    int64_t first = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      *parts[i] = Matrix{all.type, all.Row(first), rows[i], cols};
      first += rows[i];
    }
    return Status();
  }

  // Per-pair frequency divisors: f32 [n], each finite and positive.
  Status GetRopeFactors(const std::string& name, int n, std::vector<float>* out) {
    const GgufTensor* t = g_.FindTensor(name);
    if (t == nullptr) return Missing(name);
    if (t->type != GgmlType::kF32 || t->num_elements() != n) {
      return Status::Error(
          StrFormat("%s: tensor %s must be f32 [%d]", g_.path().c_str(), name.c_str(), n));
    }
    const float* p = reinterpret_cast<const float*>(t->data);
    for (int i = 0; i < n; ++i) {
      if (!std::isfinite(p[i]) || p[i] <= 0) {
        return Status::Error(StrFormat("%s: tensor %s[%d] = %g must be a positive number",
                                       g_.path().c_str(), name.c_str(), i, p[i]));
      }
    }
    out->assign(p, p + n);
    return Status();
  }

  Status Missing(const std::string& name) {
    return Status::Error(StrFormat("%s: tensor %s is missing", g_.path().c_str(), name.c_str()));
  }

 private:
  const GgufFile& g_;
  ModelWeights* w_;
};

}  // namespace

Result<ModelWeights> LoadWeights(const GgufFile& g, const ModelConfig& c) {
  ModelWeights w;
  Loader ld(g, &w);
  const int64_t q_dim = static_cast<int64_t>(c.num_heads) * c.head_dim;
  const int64_t kv_dim = static_cast<int64_t>(c.num_kv_heads) * c.head_dim;
  QE_RETURN_IF_ERROR(ld.GetMatrix("token_embd.weight", c.vocab_size, c.d_model, &w.token_embd));
  QE_RETURN_IF_ERROR(ld.GetVector("output_norm.weight", c.d_model, &w.output_norm));
  if (c.tied_output) {
    w.output = w.token_embd;
  } else {
    QE_RETURN_IF_ERROR(ld.GetMatrix("output.weight", c.vocab_size, c.d_model, &w.output));
  }
  if (g.FindTensor("rope_freqs.weight") != nullptr) {
    QE_RETURN_IF_ERROR(ld.GetRopeFactors("rope_freqs.weight", c.rope_dim / 2, &w.rope_freq_factors));
  } else {
    w.rope_freq_factors = c.rope_freq_factors;  // YaRN's, or none
  }
  if (c.rope_scaling.type == RopeScalingType::kLongRope) {
    QE_RETURN_IF_ERROR(
        ld.GetRopeFactors("rope_factors_long.weight", c.rope_dim / 2, &w.rope_factors_long));
    QE_RETURN_IF_ERROR(
        ld.GetRopeFactors("rope_factors_short.weight", c.rope_dim / 2, &w.rope_factors_short));
  }
  w.layers.resize(c.num_layers);
  for (int l = 0; l < c.num_layers; ++l) {
    LayerWeights& L = w.layers[l];
    const std::string p = "blk." + std::to_string(l) + ".";
    QE_RETURN_IF_ERROR(ld.GetVector(p + "attn_norm.weight", c.d_model, &L.attn_norm));
    if (c.fused_qkv) {
      QE_RETURN_IF_ERROR(ld.GetFused(p + "attn_qkv.weight", {q_dim, kv_dim, kv_dim}, c.d_model,
                                     {&L.wq, &L.wk, &L.wv}));
      QE_RETURN_IF_ERROR(
          ld.GetFused(p + "ffn_up.weight", {c.d_ff, c.d_ff}, c.d_model, {&L.gate, &L.up}));
    } else {
      QE_RETURN_IF_ERROR(ld.GetMatrix(p + "attn_q.weight", q_dim, c.d_model, &L.wq));
      QE_RETURN_IF_ERROR(ld.GetMatrix(p + "attn_k.weight", kv_dim, c.d_model, &L.wk));
      QE_RETURN_IF_ERROR(ld.GetMatrix(p + "attn_v.weight", kv_dim, c.d_model, &L.wv));
      QE_RETURN_IF_ERROR(ld.GetMatrix(p + "ffn_gate.weight", c.d_ff, c.d_model, &L.gate));
      QE_RETURN_IF_ERROR(ld.GetMatrix(p + "ffn_up.weight", c.d_ff, c.d_model, &L.up));
    }
    QE_RETURN_IF_ERROR(ld.GetMatrix(p + "attn_output.weight", c.d_model, q_dim, &L.wo));
    QE_RETURN_IF_ERROR(ld.GetVector(p + "ffn_norm.weight", c.d_model, &L.ffn_norm));
    QE_RETURN_IF_ERROR(ld.GetMatrix(p + "ffn_down.weight", c.d_model, c.d_ff, &L.down));
    if (c.qkv_bias) {
      QE_RETURN_IF_ERROR(ld.GetVector(p + "attn_q.bias", q_dim, &L.bq));
      QE_RETURN_IF_ERROR(ld.GetVector(p + "attn_k.bias", kv_dim, &L.bk));
      QE_RETURN_IF_ERROR(ld.GetVector(p + "attn_v.bias", kv_dim, &L.bv));
    }
    if (c.qk_norm) {
      QE_RETURN_IF_ERROR(ld.GetVector(p + "attn_q_norm.weight", c.head_dim, &L.q_norm));
      QE_RETURN_IF_ERROR(ld.GetVector(p + "attn_k_norm.weight", c.head_dim, &L.k_norm));
    }
    if (c.arch == Arch::kGemma3) {
      QE_RETURN_IF_ERROR(
          ld.GetVector(p + "post_attention_norm.weight", c.d_model, &L.post_attn_norm));
      QE_RETURN_IF_ERROR(ld.GetVector(p + "post_ffw_norm.weight", c.d_model, &L.post_ffn_norm));
    }
  }
  return w;
}

void RepackWeights(ModelWeights* w, int num_threads) {
  const auto repack = [&](Matrix* m) {
    if (m->repacked != nullptr || !CanRepackQ4_0x8(m->type, m->rows, m->cols)) return;
    const size_t bytes = m->bytes();
    std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes]);
    RepackQ4_0x8(m->data, m->rows, m->cols, copy.get(), num_threads);
    m->repacked = copy.get();
    w->repacked_storage.push_back(std::move(copy));
    w->repacked_bytes += bytes;
  };
  for (LayerWeights& l : w->layers) {
    for (Matrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down}) repack(m);
  }
  repack(&w->output);
}

const std::vector<float>& RopeFreqFactorsFor(const ModelConfig& c, const ModelWeights& w,
                                             int context) {
  if (c.rope_scaling.type != RopeScalingType::kLongRope) return w.rope_freq_factors;
  return LongRopeUsesLongFactors(c.rope_scaling, context) ? w.rope_factors_long
                                                          : w.rope_factors_short;
}

}  // namespace quest
