// Quest's top-k page selection by branch and bound over page blocks
// (page_blocks.h): the same pages as the flat scan, reading the page metadata
// of only the blocks that can still hold a selected page.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "src/kernels/paged_kv.h"
#include "src/quest/page_blocks.h"

namespace quest {

// What one selection read: blocks and pages whose metadata was scored.
struct TwoLevelCounts {
  int64_t blocks_scored = 0;
  int64_t pages_scored = 0;
};

// Buffers reused across calls (one per thread).
struct TwoLevelScratch {
  std::vector<int32_t> block_ids;             // 0, 1, ... (the block view's "pages")
  std::vector<float> block_scores;            // [num_q][num_blocks]
  std::vector<std::pair<float, int>> bounds;  // heap of (block bound, block)
  std::vector<float> block_bound;             // [block] from the first competing one
  std::vector<char> block_done;               // [block] scored while seeding
  std::vector<float> best;                    // min-heap of the best `take` page scores
  std::vector<float> page_scores;             // [num_q][pages of one block]
  std::vector<float> values;                  // aggregated scores of the scored pages
  struct Run {  // pages [first_page, first_page + count), scores at values[at]
    int first_page, at, count;
    bool operator<(const Run& o) const { return first_page < o.first_page; }
  };
  std::vector<Run> visited;
};

// Exactly SelectTopK(agg, n, k, sink, forced, out) (page_select.h), where
// agg[j] = max over the num_q queries (rows of q, head_dim apart) of
// ScorePages(q, num_q, head_dim, kv, kv_head, pages, n)[g][j]: the same indices,
// ties to the lower index. blocks holds the first pages of the list, folded
// from the same kv; the pages after them are scored one by one.
//
// A block whose bound is below the k-th best page score seen so far cannot
// hold a selected page. Blocks are visited best first until k pages compete,
// then in address order, skipping those below the k-th best. Block and page bounds are summed in
// different orders, so a block's bound is raised by the rounding margin of both sums: the pruning
// is exact, not just exact in real arithmetic.
void SelectTopKTwoLevel(const float* q, int num_q, const PagedKv& kv, int kv_head,
                        const int32_t* pages, int n, const PageBlocks& blocks, int k, int sink,
                        int forced, TwoLevelScratch* scratch, std::vector<int32_t>* out,
                        TwoLevelCounts* counts);

// A bound on |fl(U) - U| / (sum_i |q_i| max(|kmax_i|, |kmin_i|)) for any
// order of the head_dim-term sum U that ScorePages may compute, with rounded
// or fused products: gamma_{head_dim + 2} of unit roundoff 2^-24.
double ScoreRoundingGamma(int head_dim);

}  // namespace quest
