#include "src/engine/policy_flags.h"

#include <algorithm>

#include "src/kv/kv_cache.h"

namespace quest {

Result<AttentionPolicy> MakePolicy(const PolicyFlags& f, const std::string& prefix) {
  // "invalid --budget 0: must be > 0", "invalid --gqa: unknown ...".
  // JSON keys spell page-size as page_size.
  const auto bad = [&prefix](std::string field, const std::string& why) {
    if (prefix.rfind("--", 0) != 0) std::replace(field.begin(), field.end(), '-', '_');
    return Status::Error("invalid " + prefix + field + (why[0] == ':' ? "" : " ") + why);
  };
  AttentionPolicy p;
  Result<AttentionMethod> m = ParseAttentionMethod(f.attention);
  if (!m.ok()) return bad("attention", ": " + m.status().message());
  p.method = *m;
  if (f.budget <= 0) return bad("budget", StrFormat("%d: must be > 0", f.budget));
  p.quest.budget = f.budget;
  Result<Semantics> s = ParseSemantics(f.semantics);
  if (!s.ok()) return bad("semantics", ": " + s.status().message());
  p.quest.semantics = *s;
  Result<GqaMode> g = ParseGqaMode(f.gqa);
  if (!g.ok()) return bad("gqa", ": " + g.status().message());
  p.quest.gqa = *g;
  if (f.page_size < KvCacheConfig::kMinPageSize || f.page_size > KvCacheConfig::kMaxPageSize ||
      (f.page_size & (f.page_size - 1))) {
    return bad("page-size", StrFormat("%d: must be a power of two in [%d, %d]", f.page_size,
                                      KvCacheConfig::kMinPageSize, KvCacheConfig::kMaxPageSize));
  }
  p.page_size = f.page_size;
  if (f.dense_layers < 0) return bad("dense-layers", StrFormat("%d: must be >= 0", f.dense_layers));
  p.dense_layers = f.dense_layers;
  if (f.sink_pages < 0) return bad("sink-pages", StrFormat("%d: must be >= 0", f.sink_pages));
  p.quest.sink_pages = f.sink_pages;
  if (f.kv_type != "f16" && f.kv_type != "f32") {
    return bad("kv-type", f.kv_type + " (expected f16 or f32)");
  }
  p.kv_type = f.kv_type == "f16" ? KvType::kF16 : KvType::kF32;
  return p;
}

}  // namespace quest
