// One sequence being generated: its paged KV cache, its position, and the
// transformer forward pass (dense chunked prefill, token-by-token decode with
// the attention policy's method).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "src/engine/attention_policy.h"
#include "src/engine/model.h"
#include "src/evict/token_eviction.h"
#include "src/kernels/ops.h"
#include "src/kv/kv_cache.h"
#include "src/quest/page_select.h"

namespace quest {

struct SessionOptions {
  int context = 0;  // tokens the KV cache holds (0: the model's context length)
  int threads = 0;  // 0: all OpenMP threads
  // Tokens per prefill forward pass: each weight tile is dequantized once per
  // chunk, so larger chunks amortize it (Llama-3.2-1B f16, 1024 tokens: 64 ->
  // 84-88 tok/s, 256 -> 94-96).
  int prefill_chunk = 256;
  AttentionPolicy attention;
  // Tests: also run every attention call through the scalar double reference
  // over the same page or token lists, and record the largest deviation
  // (checks the SIMD kernels inside the whole model, without compounding).
  bool check_attention = false;
  // Measure, at every sparse decode step, how much of each query head's true
  // softmax mass the pages chosen by each GQA selection rule hold (see
  // SelectionRecall). Costs a dense attention pass per layer and step.
  bool measure_selection_recall = false;
};

// Mean fraction of the dense attention mass (per query head) that lies in the
// pages a selection rule keeps, over every sparse layer and decode step.
struct SelectionRecall {
  double per_kv_head_max = 0;
  double per_kv_head_softmax_sum = 0;
  double per_query_head = 0;
  // Per-KV-head softmax-sum with the first page always kept (--sink-pages 1).
  double per_kv_head_sink = 0;
  // The best any page selection of the same size could do: each query head's
  // own top pages by true attention mass (the ceiling for Quest's bound).
  double oracle_per_query_head = 0;
  // The StreamingLLM-like choice of the same size: the first page (sinks)
  // and the most recent pages.
  double recent_pages = 0;
  int64_t samples = 0;  // (layer, step, head) triples
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> Create(const Model& model, const SessionOptions& opts);

  // Runs n tokens through the model densely (prefill). If logits is non-null
  // it receives the last token's logits [vocab_size].
  Status Prefill(const int32_t* tokens, int n, float* logits);
  // One decode step with the policy's attention method; logits [vocab_size].
  Status Decode(int32_t token, float* logits);

  // Fills the cache up to `depth` tokens with random K/V (through the real
  // append path: conversion and page metadata), for speed measurements at
  // depths a real prefill would take too long to reach. Not a model state.
  Status FillSynthetic(int depth, uint64_t seed);
  // Decode steps after this use the new policy; page size and KV type are the
  // cache's and must not change. Eviction baselines start over from the full
  // cache (their keep lists are dropped).
  Status SetAttentionPolicy(const AttentionPolicy& policy);

  // Makes this session's sequence an exact copy of src's: KV pages, metadata,
  // position, and the eviction keep lists when both run the same method. The
  // evaluation prefills once and forks every method from the snapshot. Both
  // sessions must share the model and the cache configuration (context, page
  // size, KV type); this session's attention policy stays its own.
  Status CopyStateFrom(const Session& src);
  // Empties the sequence (position 0), keeping the cache's allocation.
  void Reset();

  int position() const { return seq_.length; }
  int context() const { return context_; }
  const Model& model() const { return model_; }
  const AttentionPolicy& policy() const { return opts_.attention; }
  // Tokens the eviction baseline still holds in a layer's first KV head (-1
  // when the layer has no keep list: dense layers, other methods, before the
  // first decode step).
  int kept_tokens(int layer) const;
  // K/V (+ Quest metadata) bytes attention read in the last Decode, all layers.
  double last_kv_bytes_read() const { return last_kv_bytes_; }
  size_t kv_cache_bytes() const;
  // With check_attention: max |simd - ref| / max(1, max |ref|) over every
  // attention call, and how many sparse (Quest) calls were checked.
  double max_attention_deviation() const { return max_deviation_; }
  int64_t checked_sparse_calls() const { return checked_sparse_; }
  // Means over the samples so far (sums are kept internally).
  SelectionRecall selection_recall() const {
    SelectionRecall r = recall_;
    if (r.samples > 0) {
      r.per_kv_head_max /= r.samples;
      r.per_kv_head_sink /= r.samples;
      r.per_kv_head_softmax_sum /= r.samples;
      r.per_query_head /= r.samples;
      r.oracle_per_query_head /= r.samples;
      r.recent_pages /= r.samples;
    }
    return r;
  }

 private:
  Session(const Model& model, const SessionOptions& opts, KvCache cache,
          std::unique_ptr<KvCache> local, int context);
  // Runs n tokens at positions [position, position + n); decode selects the
  // sparse attention path. Writes the last token's logits if asked.
  void Forward(const int32_t* tokens, int n, bool decode, float* logits);
  // Attention of token t of the chunk (absolute position pos) in layer l.
  void Attend(int layer, int pos, bool decode, const float* q, float* out);
  // Decode attention of an eviction baseline: attend over the layer's keep
  // lists, then let the policy evict.
  void AttendEvicting(int layer, int pos, const float* q, float* out);
  // AttendTokens over window_ (a sliding window or a keep list), checked
  // against the double reference when check_attention is set.
  void AttendWindow(const PagedKv& kv, const float* q, float* out,
                    std::vector<std::vector<float>>* probs);
  void ResetEviction();
  // Prefill: attention of the chunk's n queries in q_ (positions pos0 ..) into
  // att_, causal and windowed on local layers, in one kernel call.
  void AttendPrefill(int layer, int pos0, int n);

  // The cache that holds a layer's K/V (the layer is layer_slot_[layer] in
  // it), the page table it is written through, and its view.
  KvCache& CacheOf(int layer) { return model_.config().layer_is_local[layer] ? *local_ : cache_; }
  const KvCache& CacheOf(int layer) const {
    return model_.config().layer_is_local[layer] ? *local_ : cache_;
  }
  const Sequence& SeqOf(int layer) const {
    return model_.config().layer_is_local[layer] ? ring_seq_ : seq_;
  }
  PagedKv LayerKv(int layer) const;
  // Extends the ring's page table over n more tokens (sliding-window layers).
  void ExtendRing(int n);

  const Model& model_;
  SessionOptions opts_;
  KvCache cache_;  // the layers that attend globally: every token
  Sequence seq_;
  Sequence view_;  // seq_ with length set to a token's visible prefix
  // Sliding-window layers (Gemma 3) keep only their window: a ring of pages in
  // a cache of their own (null when every layer attends globally). ring_seq_
  // is the ring's page table in token order: page i is ring_[i % ring_.size()],
  // overwritten once every token that could see it has moved past the window.
  std::unique_ptr<KvCache> local_;
  std::vector<int32_t> ring_;
  Sequence ring_seq_;
  std::vector<int> layer_slot_;  // [layer] index of the layer in cache_ or *local_
  int context_;
  int threads_;
  PageSelector selector_;
  std::vector<TokenEviction> eviction_;  // [layer] keep lists (eviction methods only)
  std::vector<std::vector<float>> probs_;
  PageList pages_;
  TokenList window_;
  double last_kv_bytes_ = 0;
  SelectionRecall recall_;
  double max_deviation_ = 0;
  int64_t checked_sparse_ = 0;
  void CheckAgainstReference(const float* ref, const float* out, size_t n);
  void MeasureRecall(const PagedKv& kv, const float* q);
  // Per query head, the dense softmax mass of each page of the sequence this
  // step (one dense attention pass): what recall and the oracle rank pages by.
  std::vector<std::vector<double>> DensePageMass(const PagedKv& kv, const float* q);
  // The oracle diagnostic's plan: pages_ = the pages holding the most dense
  // attention mass of each list this step, within Quest's budget rules.
  void SelectOracle(const PagedKv& kv, const float* q);
  // Scratch, [chunk][...]
  std::vector<float> x_, xn_, q_, k_, v_, att_, o_, gate_, up_;
  // RoPE: [0] global base, [1] Gemma 3's local base (built on first use), and
  // the chunk's cos/sin [base][chunk][2 * rope_dim].
  std::vector<RopeTable> rope_;
  std::vector<float> rope_angles_;
};

}  // namespace quest
