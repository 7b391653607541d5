// One sequence on its own: a KV store sized for it, its state, and the
// forward pass (dense chunked prefill, token-by-token decode with the
// attention policy's method). What `quest generate`, the benchmarks and the
// evaluation drive; the server batches many sequences through Forward instead.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "src/engine/attention_diagnostics.h"
#include "src/engine/attention_policy.h"
#include "src/engine/forward.h"
#include "src/engine/kv_file.h"
#include "src/engine/kv_store.h"
#include "src/engine/model.h"

namespace quest {

struct SessionOptions {
  int context = 0;  // tokens the KV cache holds (0: the model's context length)
  int threads = 0;  // 0: all OpenMP threads
  // The K/V pages in a scratch file mapped into memory (a context larger than
  // RAM; see PoolFile). Empty: in RAM.
  std::string kv_file;
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
  bool compare_selection = false;  // AttentionDiagnostics::compare_selection
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
  // Saves the sequence (its tokens so far and the last token's logits) to a
  // K/V file; fills this empty session from one whose tokens begin `prompt`
  // (when given; kv_file.h).
  Status SaveKv(const std::string& path, std::span<const int32_t> tokens,
                std::span<const float> logits) const;
  Result<KvSnapshot> LoadKv(const std::string& path, std::span<const int32_t> prompt = {});
  // Empties the sequence (position 0), keeping the cache's allocation.
  void Reset();

  int position() const { return state_.position(); }
  int context() const { return context_; }
  const Model& model() const { return model_; }
  const AttentionPolicy& policy() const { return state_.policy; }
  // Tokens the eviction baseline still holds in a layer's first KV head (-1
  // when the layer has no keep list: dense layers, other methods, before the
  // first decode step).
  int kept_tokens(int layer) const;
  // K/V (+ Quest metadata) bytes attention read in the last Decode, all layers.
  double last_kv_bytes_read() const { return state_.last_kv_bytes; }
  size_t kv_cache_bytes() const { return store_->bytes(); }
  // With check_attention: max |simd - ref| / max(1, max |ref|) over every
  // attention call, and how many sparse (Quest) calls were checked.
  double max_attention_deviation() const { return forward_.diagnostics().max_deviation; }
  int64_t checked_sparse_calls() const { return forward_.diagnostics().checked_sparse; }
  // Means over the samples so far.
  SelectionRecall selection_recall() const { return forward_.diagnostics().recall.Mean(); }
  // Certified Quest's running sums, and with check_attention its checks
  // against exact dense attention (AttentionDiagnostics).
  const AttentionDiagnostics& diagnostics() const { return forward_.diagnostics(); }
  void ResetCertifyReport() { forward_.diagnostics().certify = CertifyReport(); }

 private:
  Session(const Model& model, const SessionOptions& opts, std::unique_ptr<KvStore> store,
          int context);
  // Runs n tokens through the forward pass as a batch of one.
  void Run(const int32_t* tokens, int n, bool decode, float* logits);

  const Model& model_;
  SessionOptions opts_;
  std::unique_ptr<KvStore> store_;
  SequenceState state_;
  Forward forward_;
  int context_;
};

}  // namespace quest
