// The transformer forward pass for llama and gemma3 over the paged KV cache.
#include "src/engine/session.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "src/kernels/kernels.h"
#include "src/kernels/ops.h"
#include "src/kernels/quant/matvec.h"
#include "src/kernels/reference.h"

namespace quest {

namespace {
// Tokens per Write of FillSynthetic (so also a bound on the ring's chunk).
constexpr int kSyntheticChunk = 256;

// The checks of an attention policy's values, for Create and for
// SetAttentionPolicy alike.
Status ValidatePolicy(const AttentionPolicy& p) {
  if (p.quest.budget <= 0) {
    return Status::Error(StrFormat("invalid budget %d: must be > 0 tokens", p.quest.budget));
  }
  if (p.dense_layers < 0) {
    return Status::Error(StrFormat("invalid dense layers %d: must be >= 0", p.dense_layers));
  }
  if (p.quest.sink_pages < 0) {
    return Status::Error(StrFormat("invalid sink pages %d: must be >= 0", p.quest.sink_pages));
  }
  if (IsEviction(p.method) && p.sink_tokens < 0) {
    return Status::Error(StrFormat("invalid sink tokens %d: must be >= 0", p.sink_tokens));
  }
  return Status();
}
}  // namespace

Result<std::unique_ptr<Session>> Session::Create(const Model& model, const SessionOptions& opts) {
  const ModelConfig& c = model.config();
  const int context = opts.context > 0 ? opts.context : c.context_length;
  if (opts.context < 0) {
    return Status::Error(StrFormat("invalid context %d: must be >= 0", opts.context));
  }
  if (opts.prefill_chunk <= 0) {
    return Status::Error(StrFormat("invalid prefill chunk %d: must be > 0", opts.prefill_chunk));
  }
  QE_RETURN_IF_ERROR(ValidatePolicy(opts.attention));
  int num_local = 0;
  for (int l = 0; l < c.num_layers; ++l) num_local += c.layer_is_local[l] ? 1 : 0;
  if (num_local == c.num_layers) {
    return Status::Error("model has no globally attending layer (every layer is sliding-window)");
  }
  KvCacheConfig kc;
  kc.num_layers = c.num_layers - num_local;
  kc.num_kv_heads = c.num_kv_heads;
  kc.head_dim = c.head_dim;
  kc.page_size = opts.attention.page_size;
  kc.type = opts.attention.kv_type;
  kc.num_pages = (context + kc.page_size - 1) / kc.page_size;
  Result<KvCache> cache = KvCache::Create(kc);
  if (!cache.ok()) return cache.status();
  std::unique_ptr<KvCache> local;
  if (num_local > 0) {
    // A chunk of n tokens at p0 still needs keys from p0 + 1 - window on while
    // it writes up to p0 + n - 1: window + n - 1 tokens, over at most
    // (window + n - 2) / S + 2 pages; one more so that nothing in use is
    // overwritten at a page boundary. n is at most the prefill chunk (or the
    // synthetic fill's 256-token chunks).
    KvCacheConfig lc = kc;
    lc.num_layers = num_local;
    const int chunk = std::max(opts.prefill_chunk, kSyntheticChunk);
    const int tokens = std::min(context, c.sliding_window + chunk);
    lc.num_pages = std::min(kc.num_pages, tokens / kc.page_size + 3);
    Result<KvCache> lcache = KvCache::Create(lc);
    if (!lcache.ok()) return lcache.status();
    local = std::make_unique<KvCache>(std::move(*lcache));
  }
  return std::unique_ptr<Session>(
      new Session(model, opts, std::move(*cache), std::move(local), context));
}

Session::Session(const Model& model, const SessionOptions& opts, KvCache cache,
                 std::unique_ptr<KvCache> local, int context)
    : model_(model),
      opts_(opts),
      cache_(std::move(cache)),
      local_(std::move(local)),
      context_(context) {
  threads_ = opts.threads > 0 ? opts.threads : omp_get_max_threads();
  opts_.attention.quest.scale = model.config().attn_scale;
  const ModelConfig& c = model.config();
  int global = 0, local_layers = 0;
  for (int l = 0; l < c.num_layers; ++l) {
    layer_slot_.push_back(c.layer_is_local[l] ? local_layers++ : global++);
  }
  if (local_ != nullptr) {
    Sequence all;
    QE_CHECK(local_->Reserve(&all, local_->config().num_pages * local_->config().page_size).ok(),
             "ring pages");
    ring_ = all.pages;
  }
  ResetEviction();
}

PagedKv Session::LayerKv(int layer) const { return CacheOf(layer).View(layer_slot_[layer]); }

void Session::ExtendRing(int n) {
  if (local_ == nullptr) return;
  const int S = local_->config().page_size;
  const int need = (ring_seq_.length + n + S - 1) / S;
  const int R = static_cast<int>(ring_.size());
  while (ring_seq_.num_pages() < need) ring_seq_.pages.push_back(ring_[ring_seq_.num_pages() % R]);
}

void Session::ResetEviction() {
  eviction_.clear();
  const AttentionPolicy& p = opts_.attention;
  if (!IsEviction(p.method)) return;
  const Eviction e = p.method == AttentionMethod::kStreaming ? Eviction::kStreaming
                     : p.method == AttentionMethod::kH2O     ? Eviction::kH2O
                                                             : Eviction::kTova;
  eviction_.assign(model_.config().num_layers, TokenEviction(e, p.quest.budget, p.sink_tokens));
}

int Session::kept_tokens(int layer) const {
  if (layer < 0 || layer >= static_cast<int>(eviction_.size()) || !eviction_[layer].initialized()) {
    return -1;
  }
  return static_cast<int>(eviction_[layer].kept(0).size());
}

void Session::Reset() {
  cache_.Release(&seq_);
  seq_ = Sequence();
  ring_seq_ = Sequence();
  ResetEviction();
}

Status Session::CopyStateFrom(const Session& src) {
  if (&src.model_ != &model_ || src.context_ != context_) {
    return Status::Error("session copy: the sessions differ in model or context");
  }
  QE_RETURN_IF_ERROR(cache_.CopyFrom(src.cache_));
  if (local_ != nullptr) QE_RETURN_IF_ERROR(local_->CopyFrom(*src.local_));
  seq_ = src.seq_;
  ring_ = src.ring_;
  ring_seq_ = src.ring_seq_;
  if (src.opts_.attention.method == opts_.attention.method &&
      src.opts_.attention.quest.budget == opts_.attention.quest.budget &&
      src.opts_.attention.sink_tokens == opts_.attention.sink_tokens) {
    eviction_ = src.eviction_;
  } else {
    ResetEviction();
  }
  return Status();
}

size_t Session::kv_cache_bytes() const {
  const auto bytes = [](const KvCache& k) {
    const KvCacheConfig& c = k.config();
    return static_cast<size_t>(c.num_pages) * c.BytesPerPage() * c.num_layers;
  };
  return bytes(cache_) + (local_ != nullptr ? bytes(*local_) : 0);
}

Status Session::Prefill(const int32_t* tokens, int n, float* logits) {
  const int vocab = model_.config().vocab_size;
  for (int i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab) {
      return Status::Error(StrFormat("token id %d at index %d is outside the vocabulary (0..%d)",
                                     tokens[i], i, vocab - 1));
    }
  }
  if (seq_.length + n > context_) {
    return Status::Error(StrFormat("%d tokens at position %d exceed the context of %d tokens", n,
                                   seq_.length, context_));
  }
  for (int done = 0; done < n;) {
    const int m = std::min(opts_.prefill_chunk, n - done);
    Forward(tokens + done, m, /*decode=*/false, done + m == n ? logits : nullptr);
    done += m;
  }
  return Status();
}

Status Session::FillSynthetic(int depth, uint64_t seed) {
  if (depth < 0 || seq_.length + depth > context_) {
    return Status::Error(StrFormat("cannot fill %d tokens at position %d into a context of %d",
                                   depth, seq_.length, context_));
  }
  const ModelConfig& c = model_.config();
  const size_t row = static_cast<size_t>(c.num_kv_heads) * c.head_dim;
  const int chunk = kSyntheticChunk;
  std::vector<float> k(row * chunk), v(row * chunk);
  QE_RETURN_IF_ERROR(cache_.Reserve(&seq_, depth));
  ExtendRing(depth);
  uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
  auto next = [&s]() {  // xorshift64*, uniform in [-1, 1)
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return static_cast<float>(static_cast<uint32_t>((s * 0x2545F4914F6CDD1DULL) >> 40)) *
               (2.0f / 16777216.0f) -
           1.0f;
  };
  for (int l = 0; l < c.num_layers; ++l) {
    Sequence at = SeqOf(l);
    for (int done = 0; done < depth; done += chunk) {
      const int n = std::min(chunk, depth - done);
      for (size_t i = 0; i < row * n; ++i) {
        k[i] = next();
        v[i] = next();
      }
      CacheOf(l).Write(at, layer_slot_[l], n, k.data(), v.data(), threads_);
      at.length += n;
    }
  }
  cache_.Advance(&seq_, depth);
  if (local_ != nullptr) local_->Advance(&ring_seq_, depth);
  return Status();
}

Status Session::SetAttentionPolicy(const AttentionPolicy& policy) {
  if (policy.page_size != opts_.attention.page_size || policy.kv_type != opts_.attention.kv_type) {
    return Status::Error("the page size and KV type of a session cannot change");
  }
  QE_RETURN_IF_ERROR(ValidatePolicy(policy));
  opts_.attention = policy;
  opts_.attention.quest.scale = model_.config().attn_scale;
  ResetEviction();
  return Status();
}

Status Session::Decode(int32_t token, float* logits) {
  if (token < 0 || token >= model_.config().vocab_size) {
    return Status::Error(StrFormat("token id %d is outside the vocabulary", token));
  }
  if (seq_.length + 1 > context_) {
    return Status::Error(StrFormat("the context of %d tokens is full", context_));
  }
  Forward(&token, 1, /*decode=*/true, logits);
  return Status();
}

namespace {

// y[b] = W x[b] for a chunk of n rows of x.
void Project(const Matrix& w, const float* x, int n, float* y, int threads) {
  if (n == 1 && w.repacked != nullptr) {
    MatVecQ4_0x8(w.repacked, w.rows, w.cols, x, y, threads);
  } else if (n == 1) {
    MatVec(w.type, w.data, w.rows, w.cols, x, y, threads);
  } else {
    MatMul(w.type, w.data, w.rows, w.cols, x, n, y, threads);
  }
}

}  // namespace

void Session::Forward(const int32_t* tokens, int n, bool decode, float* logits) {
  const ModelConfig& c = model_.config();
  const ModelWeights& w = model_.weights();
  const int d = c.d_model;
  const int D = c.head_dim;
  const int q_dim = c.num_heads * D;
  const int kv_dim = c.num_kv_heads * D;
  x_.resize(static_cast<size_t>(n) * d);
  xn_.resize(x_.size());
  q_.resize(static_cast<size_t>(n) * q_dim);
  k_.resize(static_cast<size_t>(n) * kv_dim);
  v_.resize(k_.size());
  att_.resize(q_.size());
  o_.resize(x_.size());
  gate_.resize(static_cast<size_t>(n) * c.d_ff);
  up_.resize(gate_.size());

  for (int t = 0; t < n; ++t) {
    float* xt = &x_[static_cast<size_t>(t) * d];
    DequantizeRow(w.token_embd.type, w.token_embd.Row(tokens[t]), d, xt);
    if (c.embed_scale != 1.0f) {
      for (int i = 0; i < d; ++i) xt[i] *= c.embed_scale;
    }
  }
  QE_CHECK(cache_.Reserve(&seq_, n).ok(), "context checked by the caller");
  ExtendRing(n);
  view_ = seq_;
  const int pos0 = seq_.length;
  last_kv_bytes_ = 0;
  // RoPE cos/sin once per position and base, shared by every head and layer:
  // rope_angles_ [base: global, local][t][cos rope_dim | sin rope_dim].
  const bool adjacent = c.rope_style == RopeStyle::kAdjacentPairs;
  if (rope_.empty()) {
    const float* freq = w.rope_freq_factors.empty() ? nullptr : w.rope_freq_factors.data();
    rope_.emplace_back(c.rope_dim, adjacent, c.rope_base, c.rope_scale, freq);
    if (c.rope_base_local > 0) {
      rope_.emplace_back(c.rope_dim, adjacent, c.rope_base_local, c.rope_scale, freq);
    }
  }
  const size_t rope_stride = 2 * static_cast<size_t>(c.rope_dim);
  rope_angles_.resize(rope_.size() * n * rope_stride);
  for (size_t b = 0; b < rope_.size(); ++b) {
    for (int t = 0; t < n; ++t) {
      float* cs = &rope_angles_[(b * n + t) * rope_stride];
      rope_[b].Angles(pos0 + t, cs, cs + c.rope_dim);
    }
  }

  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& L = w.layers[l];
#pragma omp parallel for num_threads(threads_) if (n > 1)
    for (int t = 0; t < n; ++t) {
      RmsNorm(&x_[static_cast<size_t>(t) * d], L.attn_norm, d, c.rms_eps,
              &xn_[static_cast<size_t>(t) * d]);
    }
    Project(L.wq, xn_.data(), n, q_.data(), threads_);
    Project(L.wk, xn_.data(), n, k_.data(), threads_);
    Project(L.wv, xn_.data(), n, v_.data(), threads_);
    const size_t base = c.layer_is_local[l] && rope_.size() > 1 ? 1 : 0;
#pragma omp parallel for num_threads(threads_) if (n > 1)
    for (int t = 0; t < n; ++t) {
      const float* cos = &rope_angles_[(base * n + t) * rope_stride];
      const float* sin = cos + c.rope_dim;
      for (int h = 0; h < c.num_heads; ++h) {
        float* qh = &q_[static_cast<size_t>(t) * q_dim + h * D];
        if (L.q_norm != nullptr) RmsNorm(qh, L.q_norm, D, c.rms_eps, qh);
        ApplyRope(qh, c.rope_dim, adjacent, cos, sin);
      }
      for (int h = 0; h < c.num_kv_heads; ++h) {
        float* kh = &k_[static_cast<size_t>(t) * kv_dim + h * D];
        if (L.k_norm != nullptr) RmsNorm(kh, L.k_norm, D, c.rms_eps, kh);
        ApplyRope(kh, c.rope_dim, adjacent, cos, sin);
      }
    }
    CacheOf(l).Write(SeqOf(l), layer_slot_[l], n, k_.data(), v_.data(), threads_);
    if (!decode) AttendPrefill(l, pos0, n);  // the whole chunk in one kernel call
    for (int t = 0; decode && t < n; ++t) {
      Attend(l, pos0 + t, decode, &q_[static_cast<size_t>(t) * q_dim],
             &att_[static_cast<size_t>(t) * q_dim]);
    }
    Project(L.wo, att_.data(), n, o_.data(), threads_);
#pragma omp parallel for num_threads(threads_) if (n > 1)
    for (int t = 0; t < n; ++t) {
      float* ot = &o_[static_cast<size_t>(t) * d];
      if (L.post_attn_norm != nullptr) RmsNorm(ot, L.post_attn_norm, d, c.rms_eps, ot);
      float* xt = &x_[static_cast<size_t>(t) * d];
      for (int i = 0; i < d; ++i) xt[i] += ot[i];
      RmsNorm(xt, L.ffn_norm, d, c.rms_eps, &xn_[static_cast<size_t>(t) * d]);
    }
    Project(L.gate, xn_.data(), n, gate_.data(), threads_);
    Project(L.up, xn_.data(), n, up_.data(), threads_);
#pragma omp parallel for num_threads(threads_) if (n > 1)
    for (int t = 0; t < n; ++t) {
      float* g = &gate_[static_cast<size_t>(t) * c.d_ff];
      const float* u = &up_[static_cast<size_t>(t) * c.d_ff];
      if (c.arch == Arch::kGemma3) {
        GeluMul(g, u, c.d_ff);
      } else {
        SiluMul(g, u, c.d_ff);
      }
    }
    Project(L.down, gate_.data(), n, o_.data(), threads_);
#pragma omp parallel for num_threads(threads_) if (n > 1)
    for (int t = 0; t < n; ++t) {
      float* ot = &o_[static_cast<size_t>(t) * d];
      if (L.post_ffn_norm != nullptr) RmsNorm(ot, L.post_ffn_norm, d, c.rms_eps, ot);
      float* xt = &x_[static_cast<size_t>(t) * d];
      for (int i = 0; i < d; ++i) xt[i] += ot[i];
    }
  }
  cache_.Advance(&seq_, n);
  if (local_ != nullptr) local_->Advance(&ring_seq_, n);
  if (logits != nullptr) {
    float* last = &xn_[0];
    RmsNorm(&x_[static_cast<size_t>(n - 1) * d], w.output_norm, d, c.rms_eps, last);
    Project(w.output, last, 1, logits, threads_);
  }
}

void Session::Attend(int layer, int pos, bool decode, const float* q, float* out) {
  const ModelConfig& c = model_.config();
  const PagedKv kv = LayerKv(layer);
  const int S = kv.page_size;
  const size_t row_bytes = static_cast<size_t>(c.head_dim) * KvTypeSize(kv.type) * 2;  // K + V
  view_.length = pos + 1;
  if (c.layer_is_local[layer]) {
    // Sliding window: the last `sliding_window` tokens (in the ring), shared by
    // each KV head's query heads.
    const int first = std::max(0, pos + 1 - c.sliding_window);
    const std::vector<int32_t>& ring = ring_seq_.pages;
    window_.indptr.assign(1, 0);
    window_.slots.clear();
    for (int h = 0; h < c.num_kv_heads; ++h) {
      for (int p = first; p <= pos; ++p) window_.slots.push_back(ring[p / S] * S + p % S);
      window_.indptr.push_back(static_cast<int32_t>(window_.slots.size()));
    }
    AttendWindow(kv, q, out, nullptr);
    if (decode) last_kv_bytes_ += static_cast<double>(window_.slots.size()) * row_bytes;
    return;
  }
  const AttentionPolicy& p = opts_.attention;
  const bool sparse = decode && p.method != AttentionMethod::kDense && layer >= p.dense_layers;
  if (sparse && IsEviction(p.method)) {
    AttendEvicting(layer, pos, q, out);
    return;
  }
  if (sparse) {
    if (opts_.measure_selection_recall) MeasureRecall(kv, q);
    if (p.method == AttentionMethod::kOracle) {
      SelectOracle(kv, q);
    } else {
      selector_.Select(q, c.num_heads, kv, view_, p.quest, threads_, &pages_);
    }
  } else {
    pages_ = DensePageList(view_, S, c.num_kv_heads);
  }
  AttendPages(q, c.num_heads, kv, pages_, c.attn_scale, threads_, out);
  if (opts_.check_attention) {
    std::vector<float> want(static_cast<size_t>(c.num_heads) * c.head_dim);
    ref::AttendPages(q, c.num_heads, kv, pages_, c.attn_scale, want.data());
    CheckAgainstReference(want.data(), out, want.size());
    checked_sparse_ += sparse;
  }
  if (decode) {
    for (int li = 0; li < pages_.num_lists(); ++li) {
      last_kv_bytes_ += static_cast<double>(pages_.NumTokens(li, S)) * row_bytes;
    }
    const int num_pages = (view_.length + S - 1) / S;
    if (sparse && view_.length > p.quest.budget && PagesToKeep(p.quest, S, num_pages) < num_pages) {
      last_kv_bytes_ += static_cast<double>(num_pages) * c.num_kv_heads * row_bytes;  // min+max
    }
  }
}

void Session::AttendEvicting(int layer, int pos, const float* q, float* out) {
  const ModelConfig& c = model_.config();
  const PagedKv kv = LayerKv(layer);
  const int S = kv.page_size;
  TokenEviction& ev = eviction_[layer];
  // Eviction starts at the first decode step, from the dense prefill's cache.
  if (!ev.initialized()) ev.Init(c.num_kv_heads, pos);
  ev.Append(pos);
  window_.indptr.assign(1, 0);
  window_.slots.clear();
  for (int h = 0; h < c.num_kv_heads; ++h) {
    for (int32_t t : ev.kept(h)) window_.slots.push_back(view_.pages[t / S] * S + t % S);
    window_.indptr.push_back(static_cast<int32_t>(window_.slots.size()));
  }
  AttendWindow(kv, q, out, ev.needs_probs() ? &probs_ : nullptr);
  checked_sparse_ += opts_.check_attention;
  const size_t row_bytes = static_cast<size_t>(c.head_dim) * KvTypeSize(kv.type) * 2;
  last_kv_bytes_ += static_cast<double>(window_.slots.size()) * row_bytes;
  ev.Update(probs_, c.num_heads);
}

void Session::AttendWindow(const PagedKv& kv, const float* q, float* out,
                           std::vector<std::vector<float>>* probs) {
  const ModelConfig& c = model_.config();
  AttendTokens(q, c.num_heads, kv, window_, c.attn_scale, threads_, out, probs);
  if (opts_.check_attention) {
    std::vector<float> want(static_cast<size_t>(c.num_heads) * c.head_dim);
    ref::AttendTokens(q, c.num_heads, kv, window_, c.attn_scale, want.data());
    CheckAgainstReference(want.data(), out, want.size());
  }
}

void Session::AttendPrefill(int layer, int pos0, int n) {
  const ModelConfig& c = model_.config();
  const PagedKv kv = LayerKv(layer);
  const int window = c.layer_is_local[layer] ? c.sliding_window : 0;
  const int32_t* pages = SeqOf(layer).pages.data();
  AttendCausal(q_.data(), n, c.num_heads, pos0, kv, pages, window, c.attn_scale, threads_,
               att_.data());
  if (opts_.check_attention) {
    std::vector<float> want(static_cast<size_t>(n) * c.num_heads * c.head_dim);
    ref::AttendCausal(q_.data(), n, c.num_heads, pos0, kv, pages, window, c.attn_scale,
                      want.data());
    CheckAgainstReference(want.data(), att_.data(), want.size());
  }
}

void Session::CheckAgainstReference(const float* want, const float* got, size_t n) {
  double max_diff = 0, max_ref = 1;
  for (size_t i = 0; i < n; ++i) {
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(got[i] - want[i])));
    max_ref = std::max(max_ref, static_cast<double>(std::fabs(want[i])));
  }
  max_deviation_ = std::max(max_deviation_, max_diff / max_ref);
}

std::vector<std::vector<double>> Session::DensePageMass(const PagedKv& kv, const float* q) {
  const ModelConfig& c = model_.config();
  const int S = kv.page_size;
  const int num_pages = (view_.length + S - 1) / S;
  std::vector<float> out(static_cast<size_t>(c.num_heads) * c.head_dim);
  std::vector<std::vector<float>> probs;
  AttendPages(q, c.num_heads, kv, DensePageList(view_, S, c.num_kv_heads), c.attn_scale, threads_,
              out.data(), &probs);
  std::vector<std::vector<double>> mass(c.num_heads, std::vector<double>(num_pages, 0.0));
  for (int h = 0; h < c.num_heads; ++h) {
    for (size_t t = 0; t < probs[h].size(); ++t) mass[h][t / S] += probs[h][t];
  }
  return mass;
}

void Session::MeasureRecall(const PagedKv& kv, const float* q) {
  const ModelConfig& c = model_.config();
  const int S = kv.page_size;
  const int G = c.num_heads / c.num_kv_heads;
  const int num_pages = (view_.length + S - 1) / S;
  if (view_.length <= opts_.attention.quest.budget ||
      PagesToKeep(opts_.attention.quest, S, num_pages) >= num_pages) {
    return;  // dense anyway: nothing to measure
  }
  const std::vector<std::vector<double>> mass = DensePageMass(kv, q);
  auto recall_of = [&](GqaMode mode, GqaAggregate agg, int sink_pages) {
    QuestParams qp = opts_.attention.quest;
    qp.gqa = mode;
    qp.aggregate = agg;
    qp.sink_pages = sink_pages;
    PageList list;
    PageSelector sel;
    sel.Select(q, c.num_heads, kv, view_, qp, threads_, &list);
    // Physical page id -> logical index in this sequence.
    double total = 0;
    for (int h = 0; h < c.num_heads; ++h) {
      const int l = mode == GqaMode::kPerKvHead ? h / G : h;
      for (int j = list.indptr[l]; j < list.indptr[l + 1]; ++j) {
        const int logical = static_cast<int>(
            std::find(view_.pages.begin(), view_.pages.begin() + num_pages, list.indices[j]) -
            view_.pages.begin());
        total += mass[h][logical];
      }
    }
    return total;
  };
  recall_.per_kv_head_max += recall_of(GqaMode::kPerKvHead, GqaAggregate::kMax, 0);
  recall_.per_kv_head_softmax_sum += recall_of(GqaMode::kPerKvHead, GqaAggregate::kSoftmaxSum, 0);
  recall_.per_query_head += recall_of(GqaMode::kPerQueryHead, GqaAggregate::kMax, 0);
  recall_.per_kv_head_sink += recall_of(GqaMode::kPerKvHead, GqaAggregate::kSoftmaxSum, 1);
  const int keep = PagesToKeep(opts_.attention.quest, S, num_pages);
  for (int h = 0; h < c.num_heads; ++h) {
    std::vector<double> m = mass[h];
    std::nth_element(m.begin(), m.begin() + keep - 1, m.end(), std::greater<double>());
    for (int i = 0; i < keep; ++i) recall_.oracle_per_query_head += m[i];
    recall_.recent_pages += mass[h][0];
    for (int i = std::max(1, num_pages - (keep - 1)); i < num_pages; ++i) {
      recall_.recent_pages += mass[h][i];
    }
  }
  recall_.samples += c.num_heads;
}

void Session::SelectOracle(const PagedKv& kv, const float* q) {
  const ModelConfig& c = model_.config();
  const QuestParams& qp = opts_.attention.quest;
  const int S = kv.page_size;
  const int G = c.num_heads / c.num_kv_heads;
  const int num_pages = (view_.length + S - 1) / S;
  const int keep = PagesToKeep(qp, S, num_pages);
  const bool shared = qp.gqa == GqaMode::kPerKvHead;
  const int num_lists = shared ? c.num_kv_heads : c.num_heads;
  if (view_.length <= qp.budget || keep >= num_pages) {
    pages_ = DensePageList(view_, S, num_lists);
    return;
  }
  // Per list, the dense attention mass of each page (per KV head: summed over
  // the G heads, the pages the group needs most).
  const std::vector<std::vector<double>> head_mass = DensePageMass(kv, q);
  std::vector<float> mass(num_pages);
  std::vector<int32_t> kept;
  const int forced = qp.semantics == Semantics::kKernel ? num_pages - 1 : -1;
  const int last_len = view_.length - (num_pages - 1) * S;
  pages_.indptr.assign(1, 0);
  pages_.indices.clear();
  pages_.last_page_len.clear();
  for (int l = 0; l < num_lists; ++l) {
    const int h0 = shared ? l * G : l;
    const int h1 = shared ? h0 + G : h0 + 1;
    for (int p = 0; p < num_pages; ++p) {
      double m = 0;
      for (int h = h0; h < h1; ++h) m += head_mass[h][p];
      mass[p] = static_cast<float>(m);
    }
    SelectTopK(mass.data(), num_pages, keep, /*sink=*/0, forced, &kept);
    for (int32_t p : kept) pages_.indices.push_back(view_.pages[p]);
    pages_.indptr.push_back(static_cast<int32_t>(pages_.indices.size()));
    pages_.last_page_len.push_back(kept.back() == num_pages - 1 ? last_len : S);
  }
}

}  // namespace quest
