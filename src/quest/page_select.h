// Quest's plan step: for one layer and decode token, score every page of the
// sequence with its metadata bound and keep the top pages within the token
// budget. The result is a PageList that the attention kernel consumes.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "src/kernels/paged_kv.h"
#include "src/kv/kv_cache.h"
#include "src/quest/page_blocks.h"
#include "src/quest/two_level_select.h"
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

// How pages are scored: every page (flat), or blocks of pages first and the
// pages of the blocks that can hold a selected page (two-level,
// two_level_select.h). Both select the same pages; two-level applies where
// that holds exactly: one query per list or the max aggregate (softmax-sum
// normalises over every page's score, so it needs them all).
enum class SelectPath {
  kAuto,      // two-level from kTwoLevelMinTokens of context on
  kFlat,
  kTwoLevel,  // wherever it is exact, whatever the context
};

// Where two-level selection starts to pay: nowhere measured yet. Up to 1M
// tokens it reads less metadata but takes longer than the flat scan on this
// machine (docs/DESIGN.md, "Two-level selection"), so auto stays flat and
// two-level is opt-in.
inline constexpr int kTwoLevelMinTokens = std::numeric_limits<int>::max();

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
  SelectPath select_path = SelectPath::kAuto;
  int block_pages = PageBlocks::kDefaultBlockPages;  // pages per block of the two-level index
};

Result<Semantics> ParseSemantics(const std::string& s);
Result<GqaMode> ParseGqaMode(const std::string& s);
Result<GqaAggregate> ParseGqaAggregate(const std::string& s);
Result<SelectPath> ParseSelectPath(const std::string& s);
const char* Name(Semantics s);
const char* Name(GqaMode m);
const char* Name(GqaAggregate a);
const char* Name(SelectPath p);

// Pages read per list for a sequence of num_pages pages; num_pages itself when
// the context fits the budget (dense: no scoring at all).
int PagesToKeep(const QuestParams& params, int page_size, int num_pages);

// What SelectTopK keeps before looking at a score: the prefix [0, sink) and
// forced (-1 when none or inside the prefix), and how many indices (take)
// compete over [sink, n) without forced. k <= 0 or n == 0: nothing (take 0,
// keep_none).
struct TopKPlan {
  int sink = 0;
  int forced = -1;
  int take = 0;
  bool keep_none = false;
};
TopKPlan PlanTopK(int n, int k, int sink, int forced);

// Indices of the k largest scores (ties: lower index first), in ascending
// order, by O(n) selection. Indices [0, sink) and forced (if >= 0) are always
// kept and count toward k; forced first, then as many sink indices as fit.
void SelectTopK(const float* scores, int n, int k, int sink, int forced,
                std::vector<int32_t>* out);

// agg[j] = the combination over g < G of scores[g * n + j]: how per-KV-head
// selection ranks pages for the G query heads of a group.
void AggregateScores(const float* scores, int G, int n, GqaAggregate how, float scale,
                     float* agg);

// What the last Select read to choose its pages.
struct SelectStats {
  bool two_level = false;
  bool scored = false;         // false: the context fit the budget (dense)
  int64_t pages_scored = 0;    // over all lists
  int64_t blocks_scored = 0;   // over all lists (two-level only)
  int64_t metadata_bytes = 0;  // kmax + kmin of the pages and blocks scored
};

// Whether Select takes the two-level path for these parameters and context.
bool UsesTwoLevel(const QuestParams& params, int group_size, int length);

// Scores and selects the pages of seq for every list. Reuse one selector across
// steps: it keeps its scratch.
class PageSelector {
 public:
  //   q: [num_heads][head_dim] post-RoPE queries of this layer.
  //   blocks: this sequence's block index for this layer, updated here (null:
  //   the flat scan always).
  void Select(const float* q, int num_heads, const PagedKv& kv, const Sequence& seq,
              const QuestParams& params, int num_threads, PageList* out,
              PageBlocks* blocks = nullptr);
  const SelectStats& last_stats() const { return stats_; }

 private:
  struct Scratch {
    std::vector<float> scores;  // [G][n]
    std::vector<float> agg;     // [n]
    TwoLevelScratch two_level;
  };
  std::vector<Scratch> scratch_;  // [thread]
  std::vector<std::vector<int32_t>> kept_;  // [list] logical pages
  std::vector<TwoLevelCounts> counts_;      // [list]
  SelectStats stats_;
};

}  // namespace quest
