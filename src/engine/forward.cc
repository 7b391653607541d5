#include "src/engine/forward.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "src/kernels/kernels.h"
#include "src/kernels/quant/matvec.h"
#include "src/kernels/reference.h"
#include "src/util/check.h"

namespace quest {

namespace {

// Row-wise steps (norms, RoPE, residuals) split over threads only for chunks
// this long: for a decode batch the work is a few microseconds, less than the
// threads' barrier.
constexpr int kParallelRows = 64;

// y[b] = W x[b] for n decode rows (one token of a decoding sequence each).
// One row takes the MatVec (the repacked copy where there is one); a small
// batch (a few sequences decoding together) the same dot per row, so each
// sequence gets exactly the logits it gets alone; larger batches f32 row
// tiles (MatMulUnpacked, cheaper than MatMul's packing at these sizes).
void ProjectDecodeRows(const Matrix& w, const float* x, int n, float* y, int threads) {
  if (n == 1 && w.repacked != nullptr) {
    MatVecQ4_0x8(w.repacked, w.rows, w.cols, x, y, threads);
  } else if (n == 1) {
    MatVec(w.type, w.data, w.rows, w.cols, x, y, threads);
  } else if (BatchPrefersMatVec(w.type, n)) {
    MatVecBatch(w.type, w.data, w.rows, w.cols, x, n, y, threads);
  } else {
    MatMulUnpacked(w.type, w.data, w.rows, w.cols, x, n, y, threads);
  }
}

// y[b] = W x[b] for n rows of x, the first `decode` of them decode rows
// (above). The rest, prefill chunks, always take the MatMul, whose every
// output is independent of the batch: a chunk gets the same bits alone or
// beside other sequences' rows, and a decode row beside a prefill chunk the
// same as without it.
void Project(const Matrix& w, const float* x, int n, int decode, float* y, int threads) {
  if (decode > 0) ProjectDecodeRows(w, x, decode, y, threads);
  if (n > decode) {
    MatMul(w.type, w.data, w.rows, w.cols, x + static_cast<size_t>(decode) * w.cols, n - decode,
           y + static_cast<size_t>(decode) * w.rows, threads);
  }
}

void AddBias(const float* bias, int n, float* y) {
  for (int i = 0; i < n; ++i) y[i] += bias[i];
}

size_t KvRowBytes(const ModelConfig& c, KvType type) {
  return KvTokenBytes(type, c.head_dim);  // K + V (+ q8 scales)
}

}  // namespace

Forward::Forward(const Model& model, KvStore* store, int threads, int context)
    : model_(model), store_(store), threads_(threads > 0 ? threads : omp_get_max_threads()) {
  const ModelConfig& c = model.config();
  const std::vector<float>& factors = RopeFreqFactorsFor(c, model.weights(), context);
  const bool adjacent = c.rope_style == RopeStyle::kAdjacentPairs;
  const float* freq = factors.empty() ? nullptr : factors.data();
  rope_.emplace_back(c.rope_dim, adjacent, c.rope_base, c.rope_scale, freq);
  if (c.rope_base_local > 0) {
    rope_.emplace_back(c.rope_dim, adjacent, c.rope_base_local, c.rope_scale, freq);
  }
}

void Forward::Resize(int rows) {
  const ModelConfig& c = model_.config();
  const size_t n = rows;
  x_.resize(n * c.d_model);
  xn_.resize(x_.size());
  q_.resize(n * c.num_heads * c.head_dim);
  k_.resize(n * c.num_kv_heads * c.head_dim);
  v_.resize(k_.size());
  att_.resize(q_.size());
  o_.resize(x_.size());
  gate_.resize(n * c.d_ff);
  up_.resize(gate_.size());
}

void Forward::ComputeRope(std::span<const ForwardItem> items) {
  // cos/sin once per row and base, shared by every head and layer.
  const ModelConfig& c = model_.config();
  const size_t stride = 2 * static_cast<size_t>(c.rope_dim);
  size_t rows = 0;
  for (const ForwardItem& it : items) rows += it.n;
  rope_angles_.resize(rope_.size() * rows * stride);
  for (size_t b = 0; b < rope_.size(); ++b) {
    size_t row = 0;
    for (const ForwardItem& it : items) {
      for (int t = 0; t < it.n; ++t, ++row) {
        float* cs = &rope_angles_[(b * rows + row) * stride];
        rope_[b].Angles(it.state->position() + t, cs, cs + c.rope_dim);
      }
    }
  }
}

void Forward::Run(std::span<const ForwardItem> items) {
  const ModelConfig& c = model_.config();
  const ModelWeights& w = model_.weights();
  const int d = c.d_model;
  const int D = c.head_dim;
  const int q_dim = c.num_heads * D;
  const int kv_dim = c.num_kv_heads * D;
  int rows = 0;
  for (const ForwardItem& it : items) rows += it.n;
  if (rows == 0) return;
  Resize(rows);
  items_.clear();
  views_.resize(items.size());
  std::vector<size_t> row0(items.size());
  for (size_t i = 0, r = 0; i < items.size(); ++i) {
    items_.push_back(&items[i]);
    views_[i] = items[i].state->seq;
    items[i].state->last_kv_bytes = 0;
    row0[i] = r;
    r += items[i].n;
  }
  {
    size_t r = 0;
    for (const ForwardItem& it : items) {
      for (int t = 0; t < it.n; ++t, ++r) {
        float* xt = &x_[r * d];
        DequantizeRow(w.token_embd.type, w.token_embd.Row(it.tokens[t]), d, xt);
        if (c.embed_scale != 1.0f) {
          for (int i = 0; i < d; ++i) xt[i] *= c.embed_scale;
        }
      }
    }
  }
  ComputeRope(items);
  const bool adjacent = c.rope_style == RopeStyle::kAdjacentPairs;
  const size_t rope_stride = 2 * static_cast<size_t>(c.rope_dim);
  const int n = rows;
  // The leading decode items' rows (the scheduler puts decode items first).
  int decode_rows = 0;
  size_t leading = 0;
  for (; leading < items.size() && items[leading].decode; ++leading) decode_rows += items[leading].n;
  QE_DCHECK(std::none_of(items.begin() + leading, items.end(),
                         [](const ForwardItem& it) { return it.decode; }),
            "decode items must lead the step");

  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& L = w.layers[l];
#pragma omp parallel for num_threads(threads_) if (n >= kParallelRows)
    for (int t = 0; t < n; ++t) {
      RmsNorm(&x_[static_cast<size_t>(t) * d], L.attn_norm, d, c.rms_eps,
              &xn_[static_cast<size_t>(t) * d]);
    }
    Project(L.wq, xn_.data(), n, decode_rows, q_.data(), threads_);
    Project(L.wk, xn_.data(), n, decode_rows, k_.data(), threads_);
    Project(L.wv, xn_.data(), n, decode_rows, v_.data(), threads_);
    const size_t base = c.layer_is_local[l] && rope_.size() > 1 ? 1 : 0;
#pragma omp parallel for num_threads(threads_) if (n >= kParallelRows)
    for (int t = 0; t < n; ++t) {
      if (L.bq != nullptr) {
        AddBias(L.bq, q_dim, &q_[static_cast<size_t>(t) * q_dim]);
        AddBias(L.bk, kv_dim, &k_[static_cast<size_t>(t) * kv_dim]);
        AddBias(L.bv, kv_dim, &v_[static_cast<size_t>(t) * kv_dim]);
      }
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
    KvCache& cache = store_->CacheOf(l);
    for (size_t i = 0; i < items.size(); ++i) {
      const ForwardItem& it = items[i];
      cache.Write(store_->TableOf(*it.state, l), store_->SlotOf(l), it.n, &k_[row0[i] * kv_dim],
                  &v_[row0[i] * kv_dim], threads_);
      if (!it.decode) {
        AttendPrefill(static_cast<int>(i), l, row0[i]);  // the whole chunk in one kernel call
        continue;
      }
      for (int t = 0; t < it.n; ++t) {
        const size_t r = row0[i] + t;
        AttendDecode(static_cast<int>(i), l, it.state->position() + t, &q_[r * q_dim],
                     &att_[r * q_dim]);
      }
    }
    Project(L.wo, att_.data(), n, decode_rows, o_.data(), threads_);
#pragma omp parallel for num_threads(threads_) if (n >= kParallelRows)
    for (int t = 0; t < n; ++t) {
      float* ot = &o_[static_cast<size_t>(t) * d];
      if (L.post_attn_norm != nullptr) RmsNorm(ot, L.post_attn_norm, d, c.rms_eps, ot);
      float* xt = &x_[static_cast<size_t>(t) * d];
      for (int i = 0; i < d; ++i) xt[i] += ot[i];
      RmsNorm(xt, L.ffn_norm, d, c.rms_eps, &xn_[static_cast<size_t>(t) * d]);
    }
    Project(L.gate, xn_.data(), n, decode_rows, gate_.data(), threads_);
    Project(L.up, xn_.data(), n, decode_rows, up_.data(), threads_);
#pragma omp parallel for num_threads(threads_) if (n >= kParallelRows)
    for (int t = 0; t < n; ++t) {
      float* g = &gate_[static_cast<size_t>(t) * c.d_ff];
      const float* u = &up_[static_cast<size_t>(t) * c.d_ff];
      if (c.arch == Arch::kGemma3) {
        GeluMul(g, u, c.d_ff);
      } else {
        SiluMul(g, u, c.d_ff);
      }
    }
    Project(L.down, gate_.data(), n, decode_rows, o_.data(), threads_);
#pragma omp parallel for num_threads(threads_) if (n >= kParallelRows)
    for (int t = 0; t < n; ++t) {
      float* ot = &o_[static_cast<size_t>(t) * d];
      if (L.post_ffn_norm != nullptr) RmsNorm(ot, L.post_ffn_norm, d, c.rms_eps, ot);
      float* xt = &x_[static_cast<size_t>(t) * d];
      for (int i = 0; i < d; ++i) xt[i] += ot[i];
    }
  }
  for (const ForwardItem& it : items) store_->Advance(it.state, it.n);

  // Logits of each item that asks, through the output matrix together, one
  // row each as decode rows: each sequence gets the logits it gets alone.
  std::vector<size_t> want;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].logits != nullptr) want.push_back(i);
  }
  if (want.empty()) return;
  const int m = static_cast<int>(want.size());
  last_.resize(static_cast<size_t>(m) * d);
  for (int j = 0; j < m; ++j) {
    const size_t r = row0[want[j]] + items[want[j]].n - 1;
    RmsNorm(&x_[r * d], w.output_norm, d, c.rms_eps, &last_[static_cast<size_t>(j) * d]);
  }
  if (m == 1) {
    ProjectDecodeRows(w.output, last_.data(), 1, items[want[0]].logits, threads_);
    return;
  }
  const size_t vocab = c.vocab_size;
  logits_.resize(static_cast<size_t>(m) * vocab);
  ProjectDecodeRows(w.output, last_.data(), m, logits_.data(), threads_);
  for (int j = 0; j < m; ++j) {
    std::copy_n(&logits_[j * vocab], vocab, items[want[j]].logits);
  }
}

void Forward::AttendDecode(int i, int layer, int pos, const float* q, float* out) {
  const ModelConfig& c = model_.config();
  SequenceState& s = *items_[i]->state;
  const PagedKv kv = store_->View(layer);
  const int S = kv.page_size;
  const size_t row_bytes = KvRowBytes(c, kv.type);
  Sequence& view = views_[i];
  view.length = pos + 1;
  if (c.layer_is_local[layer]) {
    // Sliding window: the last `sliding_window` tokens, shared by each KV
    // head's query heads.
    const int first = std::max(0, pos + 1 - c.sliding_window);
    const std::vector<int32_t>& table = store_->TableOf(s, layer).pages;
    window_.indptr.assign(1, 0);
    window_.slots.clear();
    for (int h = 0; h < c.num_kv_heads; ++h) {
      for (int p = first; p <= pos; ++p) window_.slots.push_back(table[p / S] * S + p % S);
      window_.indptr.push_back(static_cast<int32_t>(window_.slots.size()));
    }
    AttendWindow(kv, q, out, nullptr);
    s.last_kv_bytes += static_cast<double>(window_.slots.size()) * row_bytes;
    return;
  }
  const AttentionPolicy& p = s.policy;
  bool sparse = p.method != AttentionMethod::kDense && layer >= p.dense_layers;
  if (sparse && IsEviction(p.method)) {
    if (AttendEvicting(i, layer, pos, q, out)) return;
    sparse = false;
  }
  if (sparse && p.method == AttentionMethod::kQuest && p.certify.enabled()) {
    AttendCertified(i, layer, q, out);
    return;
  }
  if (sparse) {
    if (diag_.measure_selection_recall) {
      MeasureRecall(c, kv, view, p.quest, q, threads_, &diag_.recall);
    }
    if (p.method == AttentionMethod::kOracle) {
      SelectOracle(c, kv, view, p.quest, q, threads_, &pages_);
    } else {
      if (s.page_blocks.size() != static_cast<size_t>(c.num_layers) ||
          s.page_blocks[layer].block_pages() != p.quest.block_pages) {
        s.page_blocks.assign(c.num_layers, PageBlocks(p.quest.block_pages));
      }
      PageBlocks* blocks = &s.page_blocks[layer];
      if (diag_.compare_selection) {
        CompareSelection(c, kv, view, p.quest, q, threads_, blocks, &diag_.selection);
      }
      selector_.Select(q, c.num_heads, kv, view, p.quest, threads_, &pages_, blocks);
    }
  } else {
    pages_ = DensePageList(view, S, c.num_kv_heads);
  }
  store_->Prefetch(layer, pages_);
  AttendPages(q, c.num_heads, kv, pages_, c.attn_scale, threads_, out);
  if (diag_.check_attention) {
    std::vector<float> want(static_cast<size_t>(c.num_heads) * c.head_dim);
    ref::AttendPages(q, c.num_heads, kv, pages_, c.attn_scale, want.data());
    diag_.Check(want.data(), out, want.size());
    diag_.checked_sparse += sparse;
  }
  for (int li = 0; li < pages_.num_lists(); ++li) {
    s.last_kv_bytes += static_cast<double>(pages_.NumTokens(li, S)) * row_bytes;
  }
  const int num_pages = (view.length + S - 1) / S;
  if (sparse && view.length > p.quest.budget && PagesToKeep(p.quest, S, num_pages) < num_pages) {
    s.last_kv_bytes += static_cast<double>(num_pages) * c.num_kv_heads * row_bytes;  // min+max
  }
}

void Forward::AttendCertified(int i, int layer, const float* q, float* out) {
  const ModelConfig& c = model_.config();
  SequenceState& s = *items_[i]->state;
  const PagedKv kv = store_->View(layer);
  const Sequence& view = views_[i];
  CertifiedStep& step = certified_step_;
  certified_.Attend(q, c.num_heads, kv, view, s.policy.quest, s.policy.certify, c.attn_scale,
                    threads_, out, &step);
  diag_.certify.Add(layer, c.num_heads, c.num_kv_heads, step);
  if (diag_.check_attention) {
    std::vector<float> want(static_cast<size_t>(c.num_heads) * c.head_dim);
    ref::AttendPages(q, c.num_heads, kv, step.read, c.attn_scale, want.data());
    diag_.Check(want.data(), out, want.size());
    ++diag_.checked_sparse;
    const ref::CertificateCheck check = ref::CheckCertificate(
        q, c.num_heads, kv, view.pages.data(), view.length, step.read, c.attn_scale);
    for (int h = 0; h < c.num_heads; ++h) {
      diag_.max_tail_excess = std::max(diag_.max_tail_excess, check.tv[h] - step.tail[h]);
      const double bound = 2 * step.tail[h] * check.vmax[h];
      if (bound > 0) {
        diag_.max_output_bound_ratio = std::max(diag_.max_output_bound_ratio,
                                                check.out_err[h] / bound);
      }
      ++diag_.certify_checked;
      diag_.slack_sum += check.slack[h];
      diag_.slack_norm_sum += check.slack_norm[h];
      diag_.tail_sum += check.tail[h];
      diag_.tail_norm_sum += check.tail_norm[h];
    }
  }
  const size_t row_bytes = KvRowBytes(c, kv.type);
  for (int li = 0; li < step.read.num_lists(); ++li) {
    s.last_kv_bytes += static_cast<double>(step.read.NumTokens(li, kv.page_size)) * row_bytes;
  }
  if (step.read.indices.size() < static_cast<size_t>(step.num_pages) * step.read.num_lists()) {
    s.last_kv_bytes += static_cast<double>(step.num_pages) * c.num_kv_heads * row_bytes;  // min+max
  }
}

bool Forward::AttendEvicting(int i, int layer, int pos, const float* q, float* out) {
  const ModelConfig& c = model_.config();
  SequenceState& s = *items_[i]->state;
  const PagedKv kv = store_->View(layer);
  const int S = kv.page_size;
  if (s.eviction.empty()) s.ResetEviction(c.num_layers);
  TokenEviction& ev = s.eviction[layer];
  // Eviction starts at the first decode step, from the dense prefill's cache.
  if (!ev.initialized()) ev.Init(c.num_kv_heads, pos);
  ev.Append(pos);
  // StreamingLLM and TOVA change nothing until the context outgrows the
  // budget, so they attend as dense does until then, bit for bit: a run forked
  // from a dense one at the budget (`quest eval ppl`) is then exactly the
  // method run from the start, not merely close to it, where a rounding
  // difference could tip a near-tie in TOVA's first evictions.
  if (ev.AttendsEverything(pos + 1)) return false;
  const Sequence& view = views_[i];
  window_.indptr.assign(1, 0);
  window_.slots.clear();
  for (int h = 0; h < c.num_kv_heads; ++h) {
    for (int32_t t : ev.kept(h)) window_.slots.push_back(view.pages[t / S] * S + t % S);
    window_.indptr.push_back(static_cast<int32_t>(window_.slots.size()));
  }
  AttendWindow(kv, q, out, ev.needs_probs() ? &probs_ : nullptr);
  diag_.checked_sparse += diag_.check_attention;
  s.last_kv_bytes += static_cast<double>(window_.slots.size()) * KvRowBytes(c, kv.type);
  ev.Update(probs_, c.num_heads);
  return true;
}

void Forward::AttendWindow(const PagedKv& kv, const float* q, float* out,
                           std::vector<std::vector<float>>* probs) {
  const ModelConfig& c = model_.config();
  AttendTokens(q, c.num_heads, kv, window_, c.attn_scale, threads_, out, probs);
  if (diag_.check_attention) {
    std::vector<float> want(static_cast<size_t>(c.num_heads) * c.head_dim);
    ref::AttendTokens(q, c.num_heads, kv, window_, c.attn_scale, want.data());
    diag_.Check(want.data(), out, want.size());
  }
}

void Forward::AttendPrefill(int i, int layer, size_t row0) {
  const ModelConfig& c = model_.config();
  const ForwardItem& it = *items_[i];
  const PagedKv kv = store_->View(layer);
  const int window = c.layer_is_local[layer] ? c.sliding_window : 0;
  const int32_t* pages = store_->TableOf(*it.state, layer).pages.data();
  const size_t off = row0 * c.num_heads * c.head_dim;
  const int pos0 = it.state->position();
  AttendCausal(&q_[off], it.n, c.num_heads, pos0, kv, pages, window, c.attn_scale, threads_,
               &att_[off]);
  if (diag_.check_attention) {
    std::vector<float> want(static_cast<size_t>(it.n) * c.num_heads * c.head_dim);
    ref::AttendCausal(&q_[off], it.n, c.num_heads, pos0, kv, pages, window, c.attn_scale,
                      want.data());
    diag_.Check(want.data(), &att_[off], want.size());
  }
}

}  // namespace quest
