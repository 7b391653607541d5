// `quest bench attention`: one decode step of attention per layer over a KV
// cache far larger than the last-level cache, dense against Quest, in one run,
// next to the machine's measured read bandwidth.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "src/util/check.h"

namespace quest {

struct AttentionBenchOptions {
  std::vector<int> contexts = {32768};
  std::vector<int> budgets = {2048};
  std::vector<std::string> gqa_modes = {"per-kv-head"};
  int page_size = 16;
  int heads = 32;
  int kv_heads = 32;
  int head_dim = 128;
  int layers = 0;  // 0: enough layers for a KV working set of working_set_gb
  double working_set_gb = 4.0;
  double membw_gb = 4.0;  // size of the read-bandwidth buffer
  int threads = 0;        // 0: all OpenMP threads
  int repeats = 7;
  std::string semantics = "kernel";
  std::string gqa_aggregate = "softmax-sum";
  std::string kv_type = "f16";
  unsigned seed = 1;
  // Certified Quest (comma list sweeps): each eps adds a row whose first round
  // is the budget, capped at budget_max tokens (0: none), timed beside fixed
  // Quest reading the same mean number of pages.
  std::vector<double> eps;
  int budget_max = 0;
};

// Names the first invalid flag and its value.
Status ValidateAttentionBench(const AttentionBenchOptions& o);

// Runs every configuration; progress lines go to `progress`. One JSON object
// per (context, budget, gqa mode).
Result<nlohmann::json> RunAttentionBench(const AttentionBenchOptions& o, std::ostream& progress);

// A table for people.
std::string FormatAttentionTable(const nlohmann::json& rows);

}  // namespace quest
