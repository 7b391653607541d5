// Quest page selection: bound every page, keep the top ones within the budget.
#include "src/quest/page_select.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "src/kernels/kernels.h"
#include "src/kernels/ops.h"
#include "src/kernels/select_passes.h"

namespace quest {

Result<Semantics> ParseSemantics(const std::string& s) {
  if (s == "paper") return Semantics::kPaper;
  if (s == "kernel") return Semantics::kKernel;
  return Status::Error(StrFormat("unknown semantics '%s' (expected paper or kernel)", s.c_str()));
}

Result<GqaMode> ParseGqaMode(const std::string& s) {
  if (s == "per-kv-head") return GqaMode::kPerKvHead;
  if (s == "per-query-head") return GqaMode::kPerQueryHead;
  return Status::Error(
      StrFormat("unknown gqa mode '%s' (expected per-kv-head or per-query-head)", s.c_str()));
}

Result<GqaAggregate> ParseGqaAggregate(const std::string& s) {
  if (s == "max") return GqaAggregate::kMax;
  if (s == "softmax-sum") return GqaAggregate::kSoftmaxSum;
  return Status::Error(
      StrFormat("unknown gqa aggregate '%s' (expected max or softmax-sum)", s.c_str()));
}

Result<SelectPath> ParseSelectPath(const std::string& s) {
  if (s == "auto") return SelectPath::kAuto;
  if (s == "flat") return SelectPath::kFlat;
  if (s == "two-level") return SelectPath::kTwoLevel;
  return Status::Error(
      StrFormat("unknown selection path '%s' (expected auto, flat or two-level)", s.c_str()));
}

const char* Name(SelectPath p) {
  return p == SelectPath::kAuto ? "auto" : p == SelectPath::kFlat ? "flat" : "two-level";
}

bool UsesTwoLevel(const QuestParams& params, int group_size, int length) {
  const bool exact = params.gqa == GqaMode::kPerQueryHead || group_size == 1 ||
                     params.aggregate == GqaAggregate::kMax;
  if (!exact || params.select_path == SelectPath::kFlat) return false;
  return params.select_path == SelectPath::kTwoLevel || length >= kTwoLevelMinTokens;
}

const char* Name(Semantics s) { return s == Semantics::kPaper ? "paper" : "kernel"; }
const char* Name(GqaMode m) { return m == GqaMode::kPerKvHead ? "per-kv-head" : "per-query-head"; }
const char* Name(GqaAggregate a) { return a == GqaAggregate::kMax ? "max" : "softmax-sum"; }

int PagesToKeep(const QuestParams& params, int page_size, int num_pages) {
  const int by_budget = params.budget / page_size;
  if (params.semantics == Semantics::kPaper) {
    return std::min(std::max(3, by_budget), num_pages);
  }
  return std::min(std::max(1, by_budget), num_pages);
}

namespace {

// The rank-th largest (1-based) of scores[i], i != forced. For many pages a
// sorted sample of 64 gives a threshold that about 1.5x rank + slack scores
// reach; nth_element then runs on those candidates only (nth_element over
// all 2048 pages of a 32K context was ~11 us per head, 7% of a Quest step).
// If the sample misjudged (fewer than rank candidates), all scores are used.
float KthLargest(const float* scores, int n, int forced, int rank) {
  thread_local std::vector<float> cand;
  cand.resize(n + kSelectPad);
  int m = 0;
  constexpr int kSample = 64;
  if (n >= 4 * kSample) {
    float sample[kSample];
    for (int j = 0; j < kSample; ++j) sample[j] = scores[static_cast<int64_t>(j) * n / kSample];
    std::sort(sample, sample + kSample, std::greater<float>());
    const float floor = sample[std::min(kSample - 1, (3 * rank * kSample) / (2 * n) + 2)];
    m = CompactAtLeast(scores, n, floor, cand.data());
    if (forced >= 0 && scores[forced] >= floor) {
      // Out of the competition: drop one copy of its value (equal values are
      // interchangeable for the rank).
      const auto it = std::find(cand.begin(), cand.begin() + m, scores[forced]);
      if (it != cand.begin() + m) *it = cand[--m];
    }
  }
  if (m < rank) {
    std::copy(scores, scores + n, cand.begin());
    m = n;
    if (forced >= 0) cand[forced] = cand[--m];
  }
  std::nth_element(cand.begin(), cand.begin() + (rank - 1), cand.begin() + m,
                   std::greater<float>());
  return cand[rank - 1];
}

}  // namespace

TopKPlan PlanTopK(int n, int k, int sink, int forced) {
  TopKPlan plan;
  k = std::min(k, n);
  if (k <= 0) {
    plan.keep_none = true;
    return plan;
  }
  if (forced >= n) forced = -1;
  // Always kept: forced, then the sink indices in order while they fit; the
  // prefix [0, s) is kept whole (forced may lie inside it).
  int used = forced >= 0 ? 1 : 0, s = 0;
  for (; s < std::min(sink, n) && (s == forced || used < k); ++s) used += s != forced;
  plan.sink = s;
  plan.forced = forced >= 0 && forced < s ? -1 : forced;  // else kept as part of the prefix
  plan.take = k - used;  // slots left to compete for
  return plan;
}

void SelectTopK(const float* scores, int n, int k, int sink, int forced,
                std::vector<int32_t>* out) {
  out->clear();
  const TopKPlan plan = PlanTopK(n, k, sink, forced);
  if (plan.keep_none) return;
  sink = plan.sink;
  forced = plan.forced;
  const int take = plan.take;
  // The competition runs over [sink, n) without forced: the take-th largest
  // score, then one ordered pass keeps everything above it and the
  // lowest-index ties: O(n), and the output comes out sorted.
  const float* rest = scores + sink;
  const int m = n - sink;
  const int rest_forced = forced >= 0 ? forced - sink : -1;
  out->resize(sink);
  for (int i = 0; i < sink; ++i) (*out)[i] = i;
  if (take > 0) {
    const float threshold = KthLargest(rest, m, rest_forced, take);
    // Slots left for scores equal to the threshold, after all those above it.
    const bool forced_above = rest_forced >= 0 && rest[rest_forced] > threshold;
    int ties = take - (CountAbove(rest, m, threshold) - forced_above);
    thread_local std::vector<int32_t> kept;
    kept.resize(m + kSelectPad + 1);
    // Indices in order; the forced index between the two halves around it.
    const int split = rest_forced >= 0 ? rest_forced : m;
    int got = IndicesAbove(rest, split, threshold, &ties, sink, kept.data());
    if (rest_forced >= 0) {
      kept[got++] = sink + rest_forced;
      got += IndicesAbove(rest + split + 1, m - split - 1, threshold, &ties, sink + split + 1,
                          kept.data() + got);
    }
    out->insert(out->end(), kept.begin(), kept.begin() + got);
  } else if (forced >= 0) {
    out->push_back(forced);
  }
}

void AggregateScores(const float* scores, int G, int n, GqaAggregate how, float scale,
                     float* agg) {
  if (how == GqaAggregate::kMax) {
    std::copy(scores, scores + n, agg);
    for (int g = 1; g < G; ++g) {
      for (int j = 0; j < n; ++j) agg[j] = std::max(agg[j], scores[g * n + j]);
    }
    return;
  }
  std::fill(agg, agg + n, 0.0f);
  for (int g = 0; g < G; ++g) AddSoftmax(scores + g * n, n, scale, agg);
}

void PageSelector::Select(const float* q, int num_heads, const PagedKv& kv, const Sequence& seq,
                          const QuestParams& params, int num_threads, PageList* out,
                          PageBlocks* blocks) {
  const int S = kv.page_size;
  const int D = kv.head_dim;
  const int G = num_heads / kv.num_kv_heads;
  const int num_lists = params.gqa == GqaMode::kPerKvHead ? kv.num_kv_heads : num_heads;
  const int n = (seq.length + S - 1) / S;
  const int keep = PagesToKeep(params, S, n);
  stats_ = SelectStats();
  if (seq.length <= params.budget || keep >= n) {  // fits the budget: dense, no scoring
    *out = DensePageList(seq, S, num_lists);
    return;
  }
  num_threads = std::max(1, num_threads);
  const bool two_level = blocks != nullptr && UsesTwoLevel(params, G, seq.length);
  if (two_level) blocks->Update(kv, seq, num_threads);
  scratch_.resize(num_threads);
  kept_.resize(num_lists);
  counts_.assign(num_lists, TwoLevelCounts());
  const int forced = params.semantics == Semantics::kKernel ? n - 1 : -1;
#pragma omp parallel for num_threads(num_threads) schedule(dynamic, 1)
  for (int l = 0; l < num_lists; ++l) {
    Scratch& s = scratch_[omp_get_thread_num()];
    const bool shared = params.gqa == GqaMode::kPerKvHead;
    const int num_q = shared ? G : 1;
    const int kv_head = shared ? l : l / G;
    const float* ql = q + static_cast<size_t>(shared ? l * G : l) * D;
    if (two_level) {
      SelectTopKTwoLevel(ql, num_q, kv, kv_head, seq.pages.data(), n, *blocks, keep,
                         params.sink_pages, forced, &s.two_level, &kept_[l], &counts_[l]);
      continue;
    }
    s.scores.resize(static_cast<size_t>(num_q) * n);
    ScorePages(ql, num_q, D, kv, kv_head, seq.pages.data(), n, s.scores.data());
    counts_[l].pages_scored = n;
    const float* agg = s.scores.data();
    if (num_q > 1) {
      s.agg.resize(n);
      AggregateScores(s.scores.data(), num_q, n, params.aggregate, params.scale, s.agg.data());
      agg = s.agg.data();
    }
    SelectTopK(agg, n, keep, params.sink_pages, forced, &kept_[l]);
  }
  stats_.two_level = two_level;
  stats_.scored = true;
  for (const TwoLevelCounts& c : counts_) {
    stats_.pages_scored += c.pages_scored;
    stats_.blocks_scored += c.blocks_scored;
  }
  stats_.metadata_bytes = (stats_.pages_scored + stats_.blocks_scored) * 2 * D *
                          static_cast<int64_t>(KvElementBytes(KvMetaType(kv.type)));
  out->indptr.assign(1, 0);
  out->indices.clear();
  out->last_page_len.clear();
  const int seq_last_len = seq.length - (n - 1) * S;
  for (int l = 0; l < num_lists; ++l) {
    for (int32_t p : kept_[l]) out->indices.push_back(seq.pages[p]);
    out->indptr.push_back(static_cast<int32_t>(out->indices.size()));
    out->last_page_len.push_back(kept_[l].back() == n - 1 ? seq_last_len : S);
  }
}

}  // namespace quest
