// How decode attention runs in each layer: dense, or Quest after the first
// dense_layers layers. Prefill is always dense; Gemma 3's sliding-window layers
// always attend to their window only.
#pragma once

#include <string>

#include "src/kernels/paged_kv.h"
#include "src/quest/page_select.h"

namespace quest {

enum class AttentionMethod { kDense, kQuest };

struct AttentionPolicy {
  AttentionMethod method = AttentionMethod::kQuest;
  QuestParams quest;     // budget, semantics, GQA mode (scale is set per model)
  int dense_layers = 2;  // the first layers stay dense, as in the paper
  int page_size = 16;
  KvType kv_type = KvType::kF16;
};

inline const char* Name(AttentionMethod m) {
  return m == AttentionMethod::kDense ? "dense" : "quest";
}

}  // namespace quest
