#include "src/engine/attention_diagnostics.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>

#include "src/kernels/kernels.h"
#include "src/quest/page_select.h"

namespace quest {

SelectionRecall SelectionRecall::Mean() const {
  SelectionRecall r = *this;
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

void AttentionDiagnostics::Check(const float* want, const float* got, size_t n) {
  double max_diff = 0, max_ref = 1;
  for (size_t i = 0; i < n; ++i) {
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(got[i] - want[i])));
    max_ref = std::max(max_ref, static_cast<double>(std::fabs(want[i])));
  }
  max_deviation = std::max(max_deviation, max_diff / max_ref);
}

std::vector<std::vector<double>> DensePageMass(const ModelConfig& c, const PagedKv& kv,
                                               const Sequence& view, const float* q, int threads) {
  const int S = kv.page_size;
  const int num_pages = (view.length + S - 1) / S;
  std::vector<float> out(static_cast<size_t>(c.num_heads) * c.head_dim);
  std::vector<std::vector<float>> probs;
  AttendPages(q, c.num_heads, kv, DensePageList(view, S, c.num_kv_heads), c.attn_scale, threads,
              out.data(), &probs);
  std::vector<std::vector<double>> mass(c.num_heads, std::vector<double>(num_pages, 0.0));
  for (int h = 0; h < c.num_heads; ++h) {
    for (size_t t = 0; t < probs[h].size(); ++t) mass[h][t / S] += probs[h][t];
  }
  return mass;
}

void CompareSelection(const ModelConfig& c, const PagedKv& kv, const Sequence& view,
                      const QuestParams& quest, const float* q, int threads, PageBlocks* blocks,
                      SelectionPaths* r) {
  QuestParams qp = quest;
  qp.select_path = SelectPath::kTwoLevel;
  if (!UsesTwoLevel(qp, c.num_heads / c.num_kv_heads, view.length)) {
    ++r->inexact;
    return;
  }
  blocks->Update(kv, view, threads);  // folding is not part of a step's selection
  PageSelector sel;
  PageList flat, two;
  const auto timed = [&](SelectPath path, PageList* out, PageBlocks* b) {
    qp.select_path = path;
    const auto t0 = std::chrono::steady_clock::now();
    sel.Select(q, c.num_heads, kv, view, qp, threads, out, b);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  // Alternate which runs first: the second finds the metadata in cache.
  double flat_s, two_s;
  SelectStats flat_stats, two_stats;
  if (r->calls % 2 == 0) {
    flat_s = timed(SelectPath::kFlat, &flat, nullptr);
    flat_stats = sel.last_stats();
    two_s = timed(SelectPath::kTwoLevel, &two, blocks);
    two_stats = sel.last_stats();
  } else {
    two_s = timed(SelectPath::kTwoLevel, &two, blocks);
    two_stats = sel.last_stats();
    flat_s = timed(SelectPath::kFlat, &flat, nullptr);
    flat_stats = sel.last_stats();
  }
  if (!flat_stats.scored) return;  // within the budget: dense
  ++r->calls;
  r->mismatches += flat.indices != two.indices || flat.indptr != two.indptr;
  r->flat_s += flat_s;
  r->two_level_s += two_s;
  r->flat_bytes += flat_stats.metadata_bytes;
  r->two_level_bytes += two_stats.metadata_bytes;
  r->pages += flat_stats.pages_scored;
  r->pages_scored += two_stats.pages_scored;
}

void MeasureRecall(const ModelConfig& c, const PagedKv& kv, const Sequence& view,
                   const QuestParams& quest, const float* q, int threads, SelectionRecall* r) {
  const int S = kv.page_size;
  const int G = c.num_heads / c.num_kv_heads;
  const int num_pages = (view.length + S - 1) / S;
  if (view.length <= quest.budget || PagesToKeep(quest, S, num_pages) >= num_pages) {
    return;  // dense anyway: nothing to measure
  }
  const std::vector<std::vector<double>> mass = DensePageMass(c, kv, view, q, threads);
  auto recall_of = [&](GqaMode mode, GqaAggregate agg, int sink_pages) {
    QuestParams qp = quest;
    qp.gqa = mode;
    qp.aggregate = agg;
    qp.sink_pages = sink_pages;
    PageList list;
    PageSelector sel;
    sel.Select(q, c.num_heads, kv, view, qp, threads, &list);
    // Physical page id -> logical index in this sequence.
    double total = 0;
    for (int h = 0; h < c.num_heads; ++h) {
      const int l = mode == GqaMode::kPerKvHead ? h / G : h;
      for (int j = list.indptr[l]; j < list.indptr[l + 1]; ++j) {
        const int logical = static_cast<int>(
            std::find(view.pages.begin(), view.pages.begin() + num_pages, list.indices[j]) -
            view.pages.begin());
        total += mass[h][logical];
      }
    }
    return total;
  };
  r->per_kv_head_max += recall_of(GqaMode::kPerKvHead, GqaAggregate::kMax, 0);
  r->per_kv_head_softmax_sum += recall_of(GqaMode::kPerKvHead, GqaAggregate::kSoftmaxSum, 0);
  r->per_query_head += recall_of(GqaMode::kPerQueryHead, GqaAggregate::kMax, 0);
  r->per_kv_head_sink += recall_of(GqaMode::kPerKvHead, GqaAggregate::kSoftmaxSum, 1);
  const int keep = PagesToKeep(quest, S, num_pages);
  for (int h = 0; h < c.num_heads; ++h) {
    std::vector<double> m = mass[h];
    std::nth_element(m.begin(), m.begin() + keep - 1, m.end(), std::greater<double>());
    for (int i = 0; i < keep; ++i) r->oracle_per_query_head += m[i];
    r->recent_pages += mass[h][0];
    for (int i = std::max(1, num_pages - (keep - 1)); i < num_pages; ++i) {
      r->recent_pages += mass[h][i];
    }
  }
  r->samples += c.num_heads;
}

void SelectOracle(const ModelConfig& c, const PagedKv& kv, const Sequence& view,
                  const QuestParams& qp, const float* q, int threads, PageList* out) {
  const int S = kv.page_size;
  const int G = c.num_heads / c.num_kv_heads;
  const int num_pages = (view.length + S - 1) / S;
  const int keep = PagesToKeep(qp, S, num_pages);
  const bool shared = qp.gqa == GqaMode::kPerKvHead;
  const int num_lists = shared ? c.num_kv_heads : c.num_heads;
  if (view.length <= qp.budget || keep >= num_pages) {
    *out = DensePageList(view, S, num_lists);
    return;
  }
  // Per list, the dense attention mass of each page (per KV head: summed over
  // the G heads, the pages the group needs most).
  const std::vector<std::vector<double>> head_mass = DensePageMass(c, kv, view, q, threads);
  std::vector<float> mass(num_pages);
  std::vector<int32_t> kept;
  const int forced = qp.semantics == Semantics::kKernel ? num_pages - 1 : -1;
  const int last_len = view.length - (num_pages - 1) * S;
  out->indptr.assign(1, 0);
  out->indices.clear();
  out->last_page_len.clear();
  for (int l = 0; l < num_lists; ++l) {
    const int h0 = shared ? l * G : l;
    const int h1 = shared ? h0 + G : h0 + 1;
    for (int p = 0; p < num_pages; ++p) {
      double m = 0;
      for (int h = h0; h < h1; ++h) m += head_mass[h][p];
      mass[p] = static_cast<float>(m);
    }
    SelectTopK(mass.data(), num_pages, keep, /*sink=*/0, forced, &kept);
    for (int32_t p : kept) out->indices.push_back(view.pages[p]);
    out->indptr.push_back(static_cast<int32_t>(out->indices.size()));
    out->last_page_len.push_back(kept.back() == num_pages - 1 ? last_len : S);
  }
}

}  // namespace quest
