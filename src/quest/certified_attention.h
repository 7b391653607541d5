// Quest with a certificate: per list (KV head or query head) and decode step,
// pages are attended in descending bound order, in rounds, until a proven
// bound on the softmax share of the pages not read is at most eps for every
// query head of the list, or the token cap is reached. docs/DESIGN.md
// ("Certified attention") has the derivation.
#pragma once

#include <cstdint>
#include <vector>

#include "src/kernels/kernels.h"
#include "src/kernels/paged_kv.h"
#include "src/kv/kv_cache.h"
#include "src/quest/page_select.h"

namespace quest {

struct CertifyParams {
  double eps = -1;     // the tail share to certify; < 0: off (fixed-budget Quest)
  int budget_min = 0;  // tokens of the first round; 0: QuestParams::budget
  int budget_max = 0;  // tokens read at most per list; 0: the whole context
  bool enabled() const { return eps >= 0; }
};

// The certificate. The attended keys have running max m and normaliser
// z = sum exp(logit - m); every skipped key's logit is at most its page's
// bound, so the skipped keys hold at most W = sum exp(bound - m) (relative to
// m), and their share of dense attention's softmax is at most W / (z + W):
// the total-variation distance between the weights over the attended keys
// (renormalised) and dense attention's.
double TailShare(double skipped_mass, double z);

// What one certified step did (one layer, one decode token).
struct CertifiedStep {
  std::vector<float> tail;       // [num_heads] certified tail share T per query head
  std::vector<int> pages_read;   // [num_lists]
  std::vector<uint8_t> capped;   // [num_lists] 1: the cap stopped it with T > eps
  std::vector<int> rounds;       // [num_lists] rounds of pages it took
  int num_pages = 0;             // pages of the sequence
  PageList read;                 // every page read, per list, ascending
};

// Per (layer, query head) and per layer sums over certified steps.
struct CertifyReport {
  struct Cell {
    int64_t steps = 0;
    double tail_sum = 0;
    double tail_max = 0;
    double pages_sum = 0;   // pages read by the head's list
    int64_t capped = 0;
    void Add(const Cell& c);
  };
  int num_heads = 0;
  std::vector<Cell> cells;  // [layer][head]
  void Add(int layer, int num_heads, int num_kv_heads, const CertifiedStep& step);
  Cell Total() const;
  Cell Layer(int layer) const;
};

class CertifiedAttention {
 public:
  //   q:   [num_heads][head_dim] post-RoPE queries of this layer.
  //   out: [num_heads][head_dim]
  // quest gives the semantics, GQA mode, aggregate and sink pages of the
  // selection; the first round is exactly Quest's selection at budget_min.
  void Attend(const float* q, int num_heads, const PagedKv& kv, const Sequence& seq,
              const QuestParams& quest, const CertifyParams& cp, float scale, int num_threads,
              float* out, CertifiedStep* step);

 private:
  struct List {
    std::vector<float> scores;     // [heads of the list][n] page bounds of q . k
    std::vector<float> agg;        // [n] ranking (the aggregate for shared lists)
    std::vector<int32_t> first;    // the first round's logical pages
    std::vector<int32_t> order;    // the other pages, descending rank
    std::vector<uint8_t> is_read;  // [n]
    std::vector<float> mass;       // [n] exp(bound - m), per head in turn
    int next = 0;                  // into order: the first page not read
    bool done = false;
  };
  std::vector<List> lists_;
  AttentionState state_;
  PageList round_;
};

}  // namespace quest
