// The transformer forward pass for the architectures of config.h over a batch of
// sequences: every token of every sequence in the batch goes through each
// weight matrix together (one MatMul instead of a MatVec per sequence), and
// attention runs per sequence over its own pages: dense and causal for
// prefill chunks, the sequence's policy (dense, Quest, an eviction baseline)
// for decode tokens.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "src/engine/attention_diagnostics.h"
#include "src/engine/kv_store.h"
#include "src/engine/model.h"
#include "src/kernels/ops.h"
#include "src/quest/certified_attention.h"
#include "src/quest/page_select.h"

namespace quest {

struct ForwardItem {
  SequenceState* state = nullptr;
  const int32_t* tokens = nullptr;
  int n = 0;
  // Decode: attention follows the sequence's policy (sparse where it says).
  // Prefill: dense causal attention over the chunk.
  bool decode = false;
  float* logits = nullptr;  // the last token's logits [vocab_size], or null
};

class Forward {
 public:
  // context: the tokens one sequence may hold; it picks LongRoPE's factor set
  // (RopeFreqFactorsFor), the same for every sequence this pass runs.
  Forward(const Model& model, KvStore* store, int threads, int context);

  // Runs every item's tokens at positions [position, position + n) of its
  // sequence and advances it. The caller has reserved the pages (KvStore::
  // Reserve) and validated the token ids.
  void Run(std::span<const ForwardItem> items);

  AttentionDiagnostics& diagnostics() { return diag_; }
  const AttentionDiagnostics& diagnostics() const { return diag_; }
  int threads() const { return threads_; }

 private:
  // Attention of one decode token of item i (absolute position pos) in layer l.
  void AttendDecode(int i, int layer, int pos, const float* q, float* out);
  // Adds the token to the layer's keep lists and attends over them; false,
  // attending nothing, when the lists hold every token and this step evicts
  // none (then the dense path attends).
  bool AttendEvicting(int i, int layer, int pos, const float* q, float* out);
  void AttendCertified(int i, int layer, const float* q, float* out);
  // AttendTokens over window_ (a sliding window or a keep list).
  void AttendWindow(const PagedKv& kv, const float* q, float* out,
                    std::vector<std::vector<float>>* probs);
  // Prefill: the item's n queries (rows from row0 of q_) in one kernel call.
  void AttendPrefill(int i, int layer, size_t row0);
  void ComputeRope(std::span<const ForwardItem> items);
  void Resize(int rows);

  const Model& model_;
  KvStore* store_;
  int threads_;
  AttentionDiagnostics diag_;
  PageSelector selector_;
  CertifiedAttention certified_;
  CertifiedStep certified_step_;
  std::vector<const ForwardItem*> items_;
  std::vector<Sequence> views_;  // [item] its global page table, length set per token
  std::vector<std::vector<float>> probs_;
  PageList pages_;
  TokenList window_;
  // Scratch, [row][...] over every token of the batch.
  std::vector<float> x_, xn_, q_, k_, v_, att_, o_, gate_, up_, last_, logits_;
  // RoPE: [0] global base, [1] Gemma 3's local base, and each row's cos/sin
  // [base][row][2 * rope_dim].
  std::vector<RopeTable> rope_;
  std::vector<float> rope_angles_;
};

}  // namespace quest
