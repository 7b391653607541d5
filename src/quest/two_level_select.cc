// Branch-and-bound top-k over page blocks; see two_level_select.h.
#include "src/quest/two_level_select.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "src/kernels/kernels.h"
#include "src/quest/page_select.h"
#include "src/util/check.h"

namespace quest {

double ScoreRoundingGamma(int head_dim) {
  const double nu = (head_dim + 2) * std::ldexp(1.0, -24);
  return nu / (1 - nu);
}

namespace {

// The smallest float >= x.
float RoundUp(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) < x) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

// agg[j] = max over the num_q rows of scores[g * count + j].
void MaxOverQueries(const float* scores, int num_q, int count, float* agg) {
  std::copy(scores, scores + count, agg);
  for (int g = 1; g < num_q; ++g) {
    for (int j = 0; j < count; ++j) agg[j] = std::max(agg[j], scores[g * count + j]);
  }
}

}  // namespace

void SelectTopKTwoLevel(const float* q, int num_q, const PagedKv& kv, int kv_head,
                        const int32_t* pages, int n, const PageBlocks& blocks, int k, int sink,
                        int forced, TwoLevelScratch* s, std::vector<int32_t>* out,
                        TwoLevelCounts* counts) {
  out->clear();
  const TopKPlan plan = PlanTopK(n, k, sink, forced);
  if (plan.keep_none) return;
  for (int i = 0; i < plan.sink; ++i) out->push_back(i);
  const int take = plan.take;
  if (take == 0) {
    if (plan.forced >= 0) out->push_back(plan.forced);
    return;
  }
  const int D = kv.head_dim;
  const int B = blocks.block_pages();
  const int folded = std::min(blocks.folded_pages(), n);
  const int nb = (folded + B - 1) / B;
  const int first_block = plan.sink / B;  // blocks wholly in the prefix do not compete

  // Block bounds: max over queries of the block's score plus its rounding
  // margin (the page's sum may round up, the block's down, by gamma times
  // sum_i |q_i| max(|kmax_i|, |kmin_i|) <= |q|_1 abs_max each).
  s->block_scores.resize(static_cast<size_t>(num_q) * nb);
  if (static_cast<int>(s->block_ids.size()) < nb) {
    const int from = static_cast<int>(s->block_ids.size());
    s->block_ids.resize(nb);
    std::iota(s->block_ids.begin() + from, s->block_ids.end(), from);
  }
  s->bounds.clear();
  if (nb > first_block) {
    const PagedKv view = blocks.BlockView(kv_head);
    ScorePagesRange(q, num_q, D, view, 0, s->block_ids.data(), nb, first_block, nb - first_block,
                    s->block_scores.data());
    counts->blocks_scored += nb - first_block;
    const int m = nb - first_block;
    const float* abs_max = blocks.abs_max(kv_head) + first_block;
    const double gamma2 = 2 * ScoreRoundingGamma(D);
    for (int b = 0; b < m; ++b) s->bounds.emplace_back(-std::numeric_limits<float>::infinity(), b);
    for (int g = 0; g < num_q; ++g) {
      const float* qg = q + static_cast<size_t>(g) * D;
      double q1 = 0;
      for (int i = 0; i < D; ++i) q1 += std::fabs(qg[i]);
      const double margin = gamma2 * q1;
      for (int b = 0; b < m; ++b) {
        // The tiny absolute term covers products that underflow.
        const float u =
            RoundUp(s->block_scores[static_cast<size_t>(g) * m + b] + margin * abs_max[b] + 1e-30);
        s->bounds[b].first = std::max(s->bounds[b].first, u);
      }
    }
    for (auto& [bound, b] : s->bounds) b += first_block;
    std::make_heap(s->bounds.begin(), s->bounds.end());
  }

  // The best `take` competing scores so far (a min-heap); its top is the
  // k-th best once full.
  s->best.clear();
  s->values.clear();
  s->visited.clear();
  const auto compete = [&](int first_page, int count) {
    s->page_scores.resize(static_cast<size_t>(num_q) * count);
    ScorePagesRange(q, num_q, D, kv, kv_head, pages, n, first_page, count, s->page_scores.data());
    counts->pages_scored += count;
    const size_t at = s->values.size();
    s->values.resize(at + count);
    float* agg = s->values.data() + at;
    MaxOverQueries(s->page_scores.data(), num_q, count, agg);
    s->visited.push_back({first_page, static_cast<int>(at), count});
    for (int j = 0; j < count; ++j) {
      const int page = first_page + j;
      if (page < plan.sink || page == plan.forced) continue;
      if (static_cast<int>(s->best.size()) < take) {
        s->best.push_back(agg[j]);
        std::push_heap(s->best.begin(), s->best.end(), std::greater<float>());
      } else if (agg[j] > s->best.front()) {
        std::pop_heap(s->best.begin(), s->best.end(), std::greater<float>());
        s->best.back() = agg[j];
        std::push_heap(s->best.begin(), s->best.end(), std::greater<float>());
      }
    }
  };
  // The pages after the folded ones first: they always compete.
  const int tail = std::max(folded, plan.sink);
  if (tail < n) compete(tail, n - tail);
  // Best first until `take` pages compete: the k-th best is then a floor
  // close to the final threshold. A block visited out of order is a few short
  // reads the prefetcher cannot guess, so the rest go in address order, runs
  // of adjacent blocks at a time, each skipped when its bound is below the
  // k-th best so far (which only rises towards the threshold). Either order
  // visits every block whose bound is >= the threshold; ties with the k-th
  // best may still win on index, so only a strictly lower bound skips.
  const int m = static_cast<int>(s->bounds.size());
  s->block_bound.resize(m);
  for (const auto& [bound, b] : s->bounds) s->block_bound[b - first_block] = bound;
  s->block_done.assign(m, 0);
  const auto full = [&] { return static_cast<int>(s->best.size()) == take; };
  while (!s->bounds.empty() && !full()) {
    const int b = s->bounds.front().second;
    std::pop_heap(s->bounds.begin(), s->bounds.end());
    s->bounds.pop_back();
    s->block_done[b - first_block] = 1;
    compete(b * B, std::min(b * B + B, folded) - b * B);
  }
  constexpr int kRunPages = 128;  // long enough to stream, short enough to prune
  for (int r = 0; r < m;) {
    int end = r;
    while (end < m && !s->block_done[end] && (end - r) * B < kRunPages &&
           !(full() && s->block_bound[end] < s->best.front())) {
      ++end;
    }
    if (end == r) {
      ++r;
      continue;
    }
    const int first_page = (first_block + r) * B;
    compete(first_page, std::min((first_block + end) * B, folded) - first_page);
    r = end;
  }
  QE_CHECK(static_cast<int>(s->best.size()) == take, "%zu of %d pages compete", s->best.size(),
           take);

  // Every page scoring >= the threshold was scored: keep those above it and
  // the lowest-index ties, in index order.
  const float threshold = s->best.front();
  std::sort(s->visited.begin(), s->visited.end());
  int above = 0;
  const auto competes = [&](int page) { return page >= plan.sink && page != plan.forced; };
  for (const TwoLevelScratch::Run& r : s->visited) {
    for (int j = 0; j < r.count; ++j)
      above += competes(r.first_page + j) && s->values[r.at + j] > threshold;
  }
  int ties = take - above;
  // forced goes in at its place: in a visited run or between runs.
  bool forced_due = plan.forced >= 0;
  for (const TwoLevelScratch::Run& r : s->visited) {
    if (forced_due && plan.forced < r.first_page) {
      out->push_back(plan.forced);
      forced_due = false;
    }
    for (int j = 0; j < r.count; ++j) {
      const int page = r.first_page + j;
      if (page == plan.forced) {
        out->push_back(page);
        forced_due = false;
      }
      if (!competes(page)) continue;
      const float v = s->values[r.at + j];
      if (v > threshold || (v == threshold && ties > 0 && (--ties, true))) out->push_back(page);
    }
  }
  if (forced_due) out->push_back(plan.forced);
}

}  // namespace quest
