// `quest bench select`: flags and output of the page-selection benchmark.
#include <cstdio>
#include <iostream>
#include <memory>

#include "tools/bench/select_bench.h"
#include "tools/cli/commands.h"

#ifdef QUEST_HAVE_MODEL_RUNTIME
#include <algorithm>

#include "src/engine/policy_flags.h"
#include "src/engine/session.h"
#include "tools/cli/file_tokens.h"
#endif

namespace quest {

#ifdef QUEST_HAVE_MODEL_RUNTIME
namespace {

struct ModelSelectOptions {
  std::string model;  // empty: the synthetic benchmark
  std::string text_file;
  int tokens = 8192;
  int decode_steps = 16;
  int dense_layers = 2;
  int threads = 1;
};

int Fail(const std::string& m) {
  std::fprintf(stderr, "quest bench select: %s\n", m.c_str());
  return kExitBadInput;
}

// Real keys and queries: a prefill of the text, then greedy decode steps
// during which every Quest layer runs both paths on its query and compares.
int RunOnModel(const ModelSelectOptions& mo, const SelectBenchOptions& o) {
  if (mo.tokens <= 0) return Fail(StrFormat("invalid --tokens %d: must be > 0", mo.tokens));
  if (mo.decode_steps <= 0)
    return Fail(StrFormat("invalid --steps %d: must be > 0", mo.decode_steps));
  Result<GqaMode> gqa = ParseGqaMode(o.gqa);
  if (!gqa.ok()) return Fail("invalid --gqa: " + gqa.status().message());
  Result<std::unique_ptr<Model>> m = Model::Load(mo.model);
  if (!m.ok()) return Fail(m.status().message());
  Result<std::vector<int32_t>> file_tokens = FileTokens(**m, mo.text_file, mo.tokens);
  if (!file_tokens.ok()) return Fail(file_tokens.status().message());
  const std::vector<int32_t>& t = *file_tokens;
  SessionOptions so;
  so.context = mo.tokens + mo.decode_steps;
  so.threads = mo.threads;
  so.attention.quest.budget = o.budget;
  so.attention.quest.gqa = *gqa;
  so.attention.quest.aggregate = GqaAggregate::kMax;
  so.attention.dense_layers = mo.dense_layers;
  so.attention.quest.block_pages = o.block_pages[0];
  so.compare_selection = true;
  if (Status st = CheckPolicyForModel(so.attention, (*m)->config()); !st.ok()) {
    return Fail(st.message());
  }
  Result<std::unique_ptr<Session>> s = Session::Create(**m, so);
  if (!s.ok()) return Fail(s.status().message());
  std::vector<float> logits((*m)->config().vocab_size);
  if (Status st = (*s)->Prefill(t.data(), t.size(), logits.data()); !st.ok()) {
    return Fail(st.message());
  }
  for (int i = 0; i < mo.decode_steps; ++i) {
    const int32_t next =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (Status st = (*s)->Decode(next, logits.data()); !st.ok()) return Fail(st.message());
  }
  const SelectionPaths& r = (*s)->diagnostics().selection;
  const double n = std::max<int64_t>(1, r.calls);
  nlohmann::json j;
  j["model"] = mo.model;
  j["tokens"] = mo.tokens;
  j["budget"] = o.budget;
  j["gqa"] = o.gqa;
  j["block_pages"] = o.block_pages[0];
  j["calls"] = r.calls;
  j["mismatches"] = r.mismatches;
  j["flat_us"] = r.flat_s / n * 1e6;
  j["two_level_us"] = r.two_level_s / n * 1e6;
  j["flat_metadata_kb"] = r.flat_bytes / n / 1e3;
  j["two_level_metadata_kb"] = r.two_level_bytes / n / 1e3;
  j["pages_scored_share"] = static_cast<double>(r.pages_scored) / std::max<int64_t>(1, r.pages);
  std::cout << j.dump(2) << std::endl;
  return r.mismatches == 0 ? 0 : 1;
}

}  // namespace
#endif

Command AddBenchSelectCommand(CLI::App* bench) {
  CLI::App* c = bench->add_subcommand(
      "select", "page selection alone: the flat scan against two-level (page blocks)");
  auto o = std::make_shared<SelectBenchOptions>();
  c->add_option("--tokens", o->tokens, "context lengths (comma list sweeps)")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--block-pages", o->block_pages, "pages per block (comma list sweeps)")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--keys", o->keys, "structured | random")->capture_default_str();
  c->add_option("--heads", o->heads, "query heads")->capture_default_str();
  c->add_option("--kv-heads", o->kv_heads, "KV heads (divides --heads)")->capture_default_str();
  c->add_option("--head-dim", o->head_dim, "head dimension (multiple of 16, <= 512)")
      ->capture_default_str();
  c->add_option("--page-size", o->page_size, "tokens per page (power of two, 4..128)")
      ->capture_default_str();
  c->add_option("--budget", o->budget, "Quest token budget")->capture_default_str();
  c->add_option("--gqa", o->gqa, "per-kv-head (max aggregate) | per-query-head")
      ->capture_default_str();
  c->add_option("--steps", o->steps, "queries timed (median reported)")->capture_default_str();
  c->add_option("--threads", o->threads, "threads")->capture_default_str();
  c->add_option("--seed", o->seed, "random seed")->capture_default_str();
#ifdef QUEST_HAVE_MODEL_RUNTIME
  auto mo = std::make_shared<ModelSelectOptions>();
  c->add_option("-m,--model", mo->model,
                "GGUF model: real keys and queries from a prefill of --file and --steps "
                "decode steps (max aggregate; one --tokens and one --block-pages)");
  c->add_option("-f,--file", mo->text_file, "text to prefill (with --model)");
  c->add_option("--dense-layers", mo->dense_layers, "with --model: first layers kept dense")
      ->capture_default_str();
#endif
  return {c, [o
#ifdef QUEST_HAVE_MODEL_RUNTIME
              ,
              mo
#endif
  ]() {
#ifdef QUEST_HAVE_MODEL_RUNTIME
            if (!mo->model.empty()) {
              if (o->tokens.size() != 1) return Fail("--tokens: one length with --model");
              if (o->block_pages.size() != 1 || o->block_pages[0] < 1) {
                return Fail("--block-pages: one size >= 1 with --model");
              }
              mo->tokens = o->tokens[0];
              mo->decode_steps = o->steps;
              mo->threads = o->threads;
              return RunOnModel(*mo, *o);
            }
#endif
            Result<nlohmann::json> rows = RunSelectBench(*o, std::cerr);
            if (!rows.ok()) {
              std::fprintf(stderr, "quest bench select: %s\n", rows.status().message().c_str());
              return kExitBadInput;
            }
            std::cout << rows->dump(2) << std::endl;
            return 0;
          }};
}

}  // namespace quest
