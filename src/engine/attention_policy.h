// How decode attention runs in each layer: dense, Quest (query-aware page
// selection, keeps every token), or one of the eviction baselines the
// evaluation compares against (StreamingLLM, H2O, TOVA: evicted tokens are gone
// for good). Prefill is always dense; sparse methods apply to full-attention
// layers after the first dense_layers; Gemma 3's sliding-window layers always
// attend to their window only.
#pragma once

#include <string>

#include "src/kernels/paged_kv.h"
#include "src/quest/certified_attention.h"
#include "src/quest/page_select.h"
#include "src/util/check.h"

namespace quest {

enum class AttentionMethod {
  kDense,
  kQuest,
  kStreaming,
  kH2O,
  kTova,
  // A diagnostic, not a method: Quest's page budget filled with the pages that
  // hold the most true attention mass this step (a dense pass per layer finds
  // them). Its distance to dense is the best any page selection at this budget
  // and page size can do, so it separates what the bound misses from what
  // page granularity costs.
  kOracle,
};

struct AttentionPolicy {
  AttentionMethod method = AttentionMethod::kQuest;
  // quest.budget is every sparse method's token budget (Quest: tokens read per
  // step; eviction baselines: tokens kept per layer and KV head).
  QuestParams quest;     // budget, semantics, GQA mode (scale is set per model)
  CertifyParams certify;  // Quest only: adaptive budgets with a certificate (eps < 0: off)
  int dense_layers = 2;  // the first layers stay dense, as in the paper
  int page_size = 16;
  KvType kv_type = KvType::kF16;
  int sink_tokens = 4;  // StreamingLLM's attention sinks
};

inline const char* Name(AttentionMethod m) {
  switch (m) {
    case AttentionMethod::kDense:
      return "dense";
    case AttentionMethod::kQuest:
      return "quest";
    case AttentionMethod::kStreaming:
      return "streaming";
    case AttentionMethod::kH2O:
      return "h2o";
    case AttentionMethod::kTova:
      return "tova";
    case AttentionMethod::kOracle:
      return "oracle";
  }
  return "?";
}

inline Result<AttentionMethod> ParseAttentionMethod(const std::string& s) {
  for (AttentionMethod m :
       {AttentionMethod::kDense, AttentionMethod::kQuest, AttentionMethod::kStreaming,
        AttentionMethod::kH2O, AttentionMethod::kTova, AttentionMethod::kOracle}) {
    if (s == Name(m)) return m;
  }
  return Status::Error("unknown attention method '" + s +
                       "' (expected dense, quest, streaming, h2o, tova or oracle)");
}

// Methods that choose pages within Quest's budget (semantics, GQA mode and page
// size apply to them).
inline bool SelectsPages(AttentionMethod m) {
  return m == AttentionMethod::kQuest || m == AttentionMethod::kOracle;
}

inline bool IsEviction(AttentionMethod m) {
  return m == AttentionMethod::kStreaming || m == AttentionMethod::kH2O ||
         m == AttentionMethod::kTova;
}

}  // namespace quest
