// Quest's plan step: for one layer and decode token, score every page of the
// sequence with its metadata bound and keep the top pages within the token
// budget. The result is a PageList that the attention kernel consumes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/kernels/paged_kv.h"
#include "src/kv/kv_cache.h"
#include "src/util/check.h"

namespace quest {

// The two reference semantics of ../shared/QUEST.md.
enum class Semantics {
  kPaper,   // keep min(max(3, B/S), n) pages; the current page competes
  kKernel,  // keep B/S pages including the current page, which is always kept
};

// How query heads that share a KV head (GQA) select pages.
enum class GqaMode {
  kPerKvHead,     // one page set per KV head: each page read once per step
  kPerQueryHead,  // each query head picks its own pages
};

// How per-KV-head selection combines the G heads' page bounds.
enum class GqaAggregate {
  kMax,         // max_g U_g(p): keep a page any head bounds high
  kSoftmaxSum,  // sum_g softmax_p(scale * U_g(p)): heads weigh equally whatever their scale
};

struct QuestParams {
  int budget = 2048;  // tokens
  // kKernel by default: a decode token always attends to its own page. With
  // the paper's rule the current page can lose the competition and the token
  // attends neither to itself nor its neighbours; `quest eval fidelity` on
  // Gemma 3 270M (4K prefill, budget 512, 64 steps) measured mean KL to dense
  // 0.105 (paper) vs 0.064 (kernel) per KV head.
  Semantics semantics = Semantics::kKernel;
  GqaMode gqa = GqaMode::kPerKvHead;
  // Measured with `quest bench recall` on Gemma 3 270M (4 query heads per KV
  // head, 2K tokens, budget 256): the kept pages hold 51.3% of the dense
  // attention mass with softmax-sum, 44.6% with max (per-query-head: 51.8%).
  GqaAggregate aggregate = GqaAggregate::kSoftmaxSum;
  float scale = 0;  // softmax scale, used by kSoftmaxSum only
  // The first pages always kept (counted in the budget): the attention sink
  // (the first tokens, which many heads attend to heavily whatever the query;
  // StreamingLLM). Not in the paper; our addition. The bound misses the sink
  // often enough to matter: `quest eval fidelity` at budget 2048, mean KL to
  // dense, SmolLM2 6K 0.0284 -> 0.0065, Gemma 3 270M 8K 0.0246 -> 0.0193
  // (docs/EVAL.md, "The attention sink").
  int sink_pages = 0;
};

Result<Semantics> ParseSemantics(const std::string& s);
Result<GqaMode> ParseGqaMode(const std::string& s);
Result<GqaAggregate> ParseGqaAggregate(const std::string& s);
const char* Name(Semantics s);
const char* Name(GqaMode m);
const char* Name(GqaAggregate a);

// Pages read per list for a sequence of num_pages pages; num_pages itself when
// the context fits the budget (dense: no scoring at all).
int PagesToKeep(const QuestParams& params, int page_size, int num_pages);

// Indices of the k largest scores (ties: lower index first), in ascending
// order, by O(n) selection. Indices [0, sink) and forced (if >= 0) are always
// kept and count toward k; forced first, then as many sink indices as fit.
void SelectTopK(const float* scores, int n, int k, int sink, int forced,
                std::vector<int32_t>* out);

// agg[j] = the combination over g < G of scores[g * n + j]: how per-KV-head
// selection ranks pages for the G query heads of a group.
void AggregateScores(const float* scores, int G, int n, GqaAggregate how, float scale,
                     float* agg);

// Scores and selects the pages of seq for every list. Reuse one selector across
// steps: it keeps its scratch.
class PageSelector {
 public:
  //   q: [num_heads][head_dim] post-RoPE queries of this layer.
  void Select(const float* q, int num_heads, const PagedKv& kv, const Sequence& seq,
              const QuestParams& params, int num_threads, PageList* out);

 private:
  struct Scratch {
    std::vector<float> scores;  // [G][n]
    std::vector<float> agg;     // [n]
    std::vector<int32_t> keep;  // selected logical pages
  };
  std::vector<Scratch> scratch_;  // [thread]
  std::vector<std::vector<int32_t>> kept_;  // [list] logical pages
};

}  // namespace quest
