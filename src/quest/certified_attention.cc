// Certified Quest: rounds of pages in bound order with the online softmax state
// carried over, stopped by the tail-share certificate.
#include "src/quest/certified_attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "src/util/check.h"

namespace quest {

double TailShare(double skipped_mass, double z) {
  if (skipped_mass <= 0) return 0;
  if (!std::isfinite(skipped_mass)) return 1;
  return skipped_mass / (z + skipped_mass);
}

void CertifyReport::Add(int layer, int heads, int num_kv_heads, const CertifiedStep& step) {
  num_heads = heads;
  if (cells.size() < static_cast<size_t>(layer + 1) * heads) {
    cells.resize(static_cast<size_t>(layer + 1) * heads);
  }
  const bool shared = step.pages_read.size() == static_cast<size_t>(num_kv_heads);
  const int G = heads / num_kv_heads;
  for (int h = 0; h < heads; ++h) {
    const int list = shared ? h / G : h;
    Cell& c = cells[static_cast<size_t>(layer) * heads + h];
    ++c.steps;
    c.tail_sum += step.tail[h];
    c.tail_max = std::max<double>(c.tail_max, step.tail[h]);
    c.pages_sum += step.pages_read[list];
    c.capped += step.capped[list];
  }
}

void CertifyReport::Cell::Add(const Cell& c) {
  steps += c.steps;
  tail_sum += c.tail_sum;
  tail_max = std::max(tail_max, c.tail_max);
  pages_sum += c.pages_sum;
  capped += c.capped;
}

CertifyReport::Cell CertifyReport::Total() const {
  Cell t;
  for (const Cell& c : cells) t.Add(c);
  return t;
}

CertifyReport::Cell CertifyReport::Layer(int layer) const {
  Cell t;
  for (int h = 0; h < num_heads; ++h) {
    const size_t i = static_cast<size_t>(layer) * num_heads + h;
    if (i < cells.size()) t.Add(cells[i]);
  }
  return t;
}

void CertifiedAttention::Attend(const float* q, int num_heads, const PagedKv& kv,
                                const Sequence& seq, const QuestParams& quest,
                                const CertifyParams& cp, float scale, int num_threads, float* out,
                                CertifiedStep* step) {
  QE_CHECK(cp.enabled(), "certified attention needs eps >= 0");
  const int S = kv.page_size;
  const int D = kv.head_dim;
  const int G = num_heads / kv.num_kv_heads;
  const bool shared = quest.gqa == GqaMode::kPerKvHead;
  const int num_lists = shared ? kv.num_kv_heads : num_heads;
  const int n = (seq.length + S - 1) / S;
  const int seq_last_len = seq.length - (n - 1) * S;
  QuestParams first = quest;
  if (cp.budget_min > 0) first.budget = cp.budget_min;
  int cap = n;
  if (cp.budget_max > 0) {
    QuestParams capped = quest;
    capped.budget = cp.budget_max;
    cap = PagesToKeep(capped, S, n);
  }
  const int keep = std::min(PagesToKeep(first, S, n), cap);
  step->num_pages = n;
  step->tail.assign(num_heads, 0.0f);
  step->capped.assign(num_lists, 0);
  step->rounds.assign(num_lists, 1);
  if (seq.length <= first.budget || keep >= n) {  // as Quest: the whole context, exactly
    step->read = DensePageList(seq, S, num_lists);
    step->pages_read.assign(num_lists, n);
    AttendPages(q, num_heads, kv, step->read, scale, num_threads, out);
    return;
  }
  num_threads = std::max(1, num_threads);
  lists_.resize(num_lists);
  const int forced = quest.semantics == Semantics::kKernel ? n - 1 : -1;
  // Plan: each list's bounds, its first round (Quest's own selection) and the
  // order of the rest.
#pragma omp parallel for num_threads(num_threads) schedule(dynamic, 1)
  for (int l = 0; l < num_lists; ++l) {
    List& s = lists_[l];
    const int num_q = shared ? G : 1;
    const int kv_head = shared ? l : l / G;
    s.scores.resize(static_cast<size_t>(num_q) * n);
    ScorePages(q + static_cast<size_t>(shared ? l * G : l) * D, num_q, D, kv, kv_head,
               seq.pages.data(), n, s.scores.data());
    s.agg.resize(n);
    if (num_q > 1) {
      AggregateScores(s.scores.data(), num_q, n, quest.aggregate, quest.scale, s.agg.data());
    } else {
      std::copy(s.scores.begin(), s.scores.end(), s.agg.begin());
    }
    SelectTopK(s.agg.data(), n, keep, quest.sink_pages, forced, &s.first);
    s.is_read.assign(n, 0);
    for (int32_t p : s.first) s.is_read[p] = 1;
    s.order.clear();
    for (int p = 0; p < n; ++p) {
      if (!s.is_read[p]) s.order.push_back(p);
    }
    std::stable_sort(s.order.begin(), s.order.end(),
                     [&s](int32_t a, int32_t b) { return s.agg[a] > s.agg[b]; });
    s.next = 0;
    s.done = false;
  }
  state_.Reset(num_heads, D);
  std::vector<int> take(num_lists, 0);    // pages of this round, from order[next]
  std::vector<int> read(num_lists, keep);
  bool first_round = true;
  while (true) {
    // This round's pages, ascending per list (only a list's last page may be
    // partial: the sequence's last page sorts last).
    round_.indptr.assign(1, 0);
    round_.indices.clear();
    round_.last_page_len.assign(num_lists, S);
    std::vector<int32_t> pages;
    for (int l = 0; l < num_lists; ++l) {
      List& s = lists_[l];
      if (first_round) {
        pages = s.first;
      } else {
        pages.assign(s.order.begin() + s.next, s.order.begin() + s.next + take[l]);
        for (int32_t p : pages) s.is_read[p] = 1;
        s.next += take[l];
        std::sort(pages.begin(), pages.end());
      }
      for (int32_t p : pages) round_.indices.push_back(seq.pages[p]);
      round_.indptr.push_back(static_cast<int32_t>(round_.indices.size()));
      if (!pages.empty() && pages.back() == n - 1) round_.last_page_len[l] = seq_last_len;
    }
    first_round = false;
    AttendPagesAccumulate(q, num_heads, kv, round_, scale, num_threads, &state_);
    // Certify every open list; size the next round.
    bool any_open = false;
#pragma omp parallel for num_threads(std::min(num_threads, num_lists)) schedule(dynamic, 1)
    for (int l = 0; l < num_lists; ++l) {
      List& s = lists_[l];
      if (s.done) continue;
      const int num_q = shared ? G : 1;
      const int h0 = shared ? l * G : l;
      s.mass.resize(n);
      const int left = static_cast<int>(s.order.size()) - s.next;
      float worst = 0;
      int need = 0;  // pages that certify every head even if they added no mass
      for (int g = 0; g < num_q; ++g) {
        const int h = h0 + g;
        ExpOfBounds(s.scores.data() + static_cast<size_t>(g) * n, n, scale, state_.m[h],
                    s.mass.data());
        // Skipped pages count S tokens (the partial last page too: an upper bound).
        double w = 0;
        for (int j = s.next; j < static_cast<int>(s.order.size()); ++j) w += s.mass[s.order[j]];
        w *= S;
        const double z = state_.l[h];
        const float t = static_cast<float>(TailShare(w, z));
        step->tail[h] = t;
        worst = std::max(worst, t);
        if (t > cp.eps) {
          // T after reading k more pages is at most W_k / (z + W_k), W_k the
          // bound of the pages still skipped: the smallest k that brings this
          // under eps.
          const double limit = cp.eps >= 1 ? std::numeric_limits<double>::infinity()
                                           : cp.eps / (1 - cp.eps) * z;
          double suffix = 0;
          for (int j = static_cast<int>(s.order.size()) - 1; j >= s.next; --j) {
            suffix += static_cast<double>(S) * s.mass[s.order[j]];
            if (suffix > limit) {
              need = std::max(need, j - s.next + 1);
              break;
            }
          }
        }
      }
      if (worst <= cp.eps) {
        s.done = true;
      } else if (read[l] >= cap || left == 0) {
        s.done = true;
        step->capped[l] = read[l] < n;
      } else {
        // At most double what was read: reading pages adds to z, so fewer
        // than `need` usually suffice.
        take[l] = std::min({std::max(1, need), read[l], cap - read[l], left});
        read[l] += take[l];
        ++step->rounds[l];
      }
    }
    for (int l = 0; l < num_lists; ++l) {
      if (lists_[l].done) take[l] = 0;
      any_open = any_open || !lists_[l].done;
    }
    if (!any_open) break;
  }
  FinishAttention(state_, D, out);
  step->pages_read = read;
  step->read.indptr.assign(1, 0);
  step->read.indices.clear();
  step->read.last_page_len.assign(num_lists, S);
  for (int l = 0; l < num_lists; ++l) {
    const List& s = lists_[l];
    for (int p = 0; p < n; ++p) {
      if (s.is_read[p]) step->read.indices.push_back(seq.pages[p]);
    }
    step->read.indptr.push_back(static_cast<int32_t>(step->read.indices.size()));
    if (s.is_read[n - 1]) step->read.last_page_len[l] = seq_last_len;
  }
}

}  // namespace quest
