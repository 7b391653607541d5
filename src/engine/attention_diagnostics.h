// Measurements of decode attention inside the whole model, for tests and the
// evaluation: how far the SIMD kernels are from the double reference, how much
// dense attention mass each page selection rule keeps, and the oracle
// selection (pages by their true mass). None of this runs in plain decoding.
#pragma once

#include <cstdint>
#include <vector>

#include "src/engine/attention_policy.h"
#include "src/kv/kv_cache.h"
#include "src/model/config.h"

namespace quest {

// Mean fraction of the dense attention mass (per query head) that lies in the
// pages a selection rule keeps, over every sparse layer and decode step.
struct SelectionRecall {
  double per_kv_head_max = 0;
  double per_kv_head_softmax_sum = 0;
  double per_query_head = 0;
  // Per-KV-head softmax-sum with the first page always kept (--sink-pages 1).
  double per_kv_head_sink = 0;
  // The best any page selection of the same size could do: each query head's
  // own top pages by true attention mass (the ceiling for Quest's bound).
  double oracle_per_query_head = 0;
  // The StreamingLLM-like choice of the same size: the first page (sinks)
  // and the most recent pages.
  double recent_pages = 0;
  int64_t samples = 0;  // (layer, step, head) triples
  // Sums -> means over the samples.
  SelectionRecall Mean() const;
};

// The flat scan against two-level selection on the same queries: time,
// metadata read and whether they chose the same pages (sums over calls).
struct SelectionPaths {
  int64_t calls = 0;       // scored selections compared
  int64_t mismatches = 0;  // calls whose page lists differ (exactness says 0)
  int64_t inexact = 0;     // calls two-level could not take (softmax-sum over G > 1)
  double flat_s = 0, two_level_s = 0;
  int64_t flat_bytes = 0, two_level_bytes = 0;  // page + block metadata scored
  int64_t pages = 0, pages_scored = 0;          // pages per list, summed; scored by two-level
};

struct AttentionDiagnostics {
  // Run every attention call through the scalar double reference over the
  // same page or token lists too, and record the largest deviation.
  bool check_attention = false;
  // At every sparse decode step, measure how much of each query head's true
  // softmax mass each GQA selection rule keeps (a dense pass per layer).
  bool measure_selection_recall = false;
  // At every Quest decode step, run both selection paths and compare them.
  bool compare_selection = false;
  SelectionPaths selection;

  double max_deviation = 0;    // max |simd - ref| / max(1, max |ref|)
  int64_t checked_sparse = 0;  // sparse calls checked
  SelectionRecall recall;      // sums

  // Certified Quest, every step: certified tail, pages read, capped, per
  // (layer, query head).
  CertifyReport certify;
  // With check_attention, certified steps: the largest (dense share outside
  // the pages read) - (the certified T reported), <= 0 while the certificate
  // holds, and the largest output error / (2 T max|v|).
  double max_tail_excess = -1;
  double max_output_bound_ratio = 0;
  int64_t certify_checked = 0;  // (layer, step, head) triples checked
  // Sums over the checked triples of ref::CertificateCheck's slack (nats),
  // slack_norm, tail and tail_norm (the same pages under the Cauchy-Schwarz-
  // tightened bound): how loose the bound is, and what a tighter one would give.
  double slack_sum = 0, slack_norm_sum = 0, tail_sum = 0, tail_norm_sum = 0;

  void Check(const float* want, const float* got, size_t n);
};

// Per query head, the dense softmax mass of each page of `view` (one dense
// attention pass).
std::vector<std::vector<double>> DensePageMass(const ModelConfig& c, const PagedKv& kv,
                                               const Sequence& view, const float* q, int threads);

// Adds this step's recall of each selection rule (nothing when the step would
// be dense anyway).
void MeasureRecall(const ModelConfig& c, const PagedKv& kv, const Sequence& view,
                   const QuestParams& quest, const float* q, int threads, SelectionRecall* r);

// Adds one step's comparison of the flat and two-level paths (blocks: the
// sequence's index for this layer, brought up to date before the timing).
void CompareSelection(const ModelConfig& c, const PagedKv& kv, const Sequence& view,
                      const QuestParams& quest, const float* q, int threads, PageBlocks* blocks,
                      SelectionPaths* r);

// The oracle diagnostic's plan: the pages holding the most dense attention
// mass of each list this step, within Quest's budget rules.
void SelectOracle(const ModelConfig& c, const PagedKv& kv, const Sequence& view,
                  const QuestParams& quest, const float* q, int threads, PageList* out);

}  // namespace quest
