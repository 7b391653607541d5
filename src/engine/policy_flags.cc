#include "src/engine/policy_flags.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "src/kv/kv_cache.h"

namespace quest {

namespace {

// The certified mode's flags: eps (-1 off, else >= 0) with Quest only, and a
// first round that fits under the cap and holds the sink pages.
template <typename Bad>
Status CheckCertify(const PolicyFlags& f, const std::string& prefix, const Bad& bad) {
  const bool on = f.eps != -1;
  if (on && !(f.eps >= 0 && std::isfinite(f.eps))) {
    return bad("eps", StrFormat("%g: must be >= 0 (or -1: off)", f.eps));
  }
  if (on && f.attention != "quest") {
    return bad("eps", StrFormat("%g: applies to %sattention quest only, not %s", f.eps,
                                prefix.c_str(), f.attention.c_str()));
  }
  for (const auto& [name, value] : {std::pair<const char*, int>{"budget-min", f.budget_min},
                                    std::pair<const char*, int>{"budget-max", f.budget_max}}) {
    if (value < 0) return bad(name, StrFormat("%d: must be >= 0 (0: default)", value));
    if (value > 0 && !on) {
      return bad(name, StrFormat("%d: applies with %seps only", value, prefix.c_str()));
    }
  }
  const int first = f.budget_min > 0 ? f.budget_min : f.budget;
  if (f.budget_max > 0 && f.budget_max < first) {
    return bad("budget-max", StrFormat("%d: below the first round's %d tokens", f.budget_max,
                                       first));
  }
  if (on && f.sink_pages > MaxSinkPages(first, f.page_size)) {
    return bad("budget-min", StrFormat("%d: leaves no room for selection beside %d sink pages",
                                       first, f.sink_pages));
  }
  return Status();
}

// A parsed enum flag into *out, or the parser's message under the flag's name.
template <typename T, typename Bad>
Status Take(Result<T> parsed, const char* field, const Bad& bad, T* out) {
  if (!parsed.ok()) return bad(field, ": " + parsed.status().message());
  *out = *parsed;
  return Status();
}

}  // namespace

Result<AttentionPolicy> MakePolicy(const PolicyFlags& f, const std::string& prefix) {
  // "invalid --budget 0: must be > 0", "invalid --gqa: unknown ...".
  // JSON keys spell page-size as page_size.
  const auto bad = [&prefix](std::string field, const std::string& why) {
    if (prefix.rfind("--", 0) != 0) std::replace(field.begin(), field.end(), '-', '_');
    return Status::Error("invalid " + prefix + field + (why[0] == ':' ? "" : " ") + why);
  };
  AttentionPolicy p;
  QE_RETURN_IF_ERROR(Take(ParseAttentionMethod(f.attention), "attention", bad, &p.method));
  if (f.budget <= 0) return bad("budget", StrFormat("%d: must be > 0", f.budget));
  p.quest.budget = f.budget;
  QE_RETURN_IF_ERROR(Take(ParseSemantics(f.semantics), "semantics", bad, &p.quest.semantics));
  QE_RETURN_IF_ERROR(Take(ParseGqaMode(f.gqa), "gqa", bad, &p.quest.gqa));
  QE_RETURN_IF_ERROR(
      Take(ParseGqaAggregate(f.gqa_aggregate), "gqa-aggregate", bad, &p.quest.aggregate));
  QE_RETURN_IF_ERROR(Take(ParseSelectPath(f.select), "select", bad, &p.quest.select_path));
  if (f.page_size < KvCacheConfig::kMinPageSize || f.page_size > KvCacheConfig::kMaxPageSize ||
      (f.page_size & (f.page_size - 1))) {
    return bad("page-size", StrFormat("%d: must be a power of two in [%d, %d]", f.page_size,
                                      KvCacheConfig::kMinPageSize, KvCacheConfig::kMaxPageSize));
  }
  p.page_size = f.page_size;
  if (f.dense_layers < 0) return bad("dense-layers", StrFormat("%d: must be >= 0", f.dense_layers));
  p.dense_layers = f.dense_layers;
  if (f.sink_pages < 0) return bad("sink-pages", StrFormat("%d: must be >= 0", f.sink_pages));
  if (f.sink_pages > MaxSinkPages(f.budget, f.page_size)) {
    return bad("sink-pages",
               StrFormat("%d: %d-token pages leave no room for selection within %sbudget %d "
                         "(at most %d sink pages)",
                         f.sink_pages, f.page_size, prefix.c_str(), f.budget,
                         MaxSinkPages(f.budget, f.page_size)));
  }
  p.quest.sink_pages = f.sink_pages;
  if (!ParseKvType(f.kv_type, &p.kv_type)) {
    return bad("kv-type", f.kv_type + " (expected f16, f32 or q8)");
  }
  QE_RETURN_IF_ERROR(CheckCertify(f, prefix, bad));
  p.certify.eps = f.eps;
  p.certify.budget_min = f.budget_min;
  p.certify.budget_max = f.budget_max;
  return p;
}

int MaxSinkPages(int budget, int page_size) { return std::max(0, (budget - 1) / page_size); }

Status CheckPolicyForModel(const AttentionPolicy& p, const ModelConfig& c,
                           const std::string& prefix) {
  if (p.dense_layers > c.num_layers) {
    const char* name = prefix.rfind("--", 0) == 0 ? "dense-layers" : "dense_layers";
    return Status::Error(StrFormat("invalid %s%s %d: the model has %d layers", prefix.c_str(),
                                   name, p.dense_layers, c.num_layers));
  }
  return Status();
}

}  // namespace quest
