// The attention policy as users spell it (CLI flags, the server's `quest`
// request object): names and numbers in, a validated AttentionPolicy out, with
// errors that name the flag and its value.
#pragma once

#include <string>

#include "src/engine/attention_policy.h"
#include "src/model/config.h"
#include "src/util/check.h"

namespace quest {

struct PolicyFlags {
  std::string attention = "quest";
  int budget = 2048;
  int page_size = 16;
  std::string semantics = "kernel";
  std::string gqa = "per-kv-head";
  int dense_layers = 2;
  int sink_pages = 0;
  std::string gqa_aggregate = "softmax-sum";
  std::string select = "auto";  // page selection path: auto | flat | two-level
  std::string kv_type = "f16";
  // Certified Quest (quest/certified_attention.h): read pages until the
  // skipped share is certified <= eps; -1: off (fixed budget).
  double eps = -1;
  int budget_min = 0;  // first round's tokens; 0: --budget
  int budget_max = 0;  // tokens at most; 0: the whole context
};

// `prefix` is prepended to every field name in errors ("--" for the CLI,
// "quest." for the server's request object).
Result<AttentionPolicy> MakePolicy(const PolicyFlags& f, const std::string& prefix = "--");

// The most sink pages a budget leaves room for: the pages of `budget` tokens
// less one, which selection (or the last page) needs.
int MaxSinkPages(int budget, int page_size);

// The checks that need the model: --dense-layers beyond its layer count.
Status CheckPolicyForModel(const AttentionPolicy& p, const ModelConfig& c,
                           const std::string& prefix = "--");

}  // namespace quest
