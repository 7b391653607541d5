#include "tools/cli/common_flags.h"

namespace quest {

void AddPolicyFlags(CLI::App* app, PolicyFlags* f) {
  app->add_option("--attention", f->attention,
                  "dense | quest | streaming | h2o | tova (the last three: eviction baselines)")
      ->capture_default_str();
  app->add_option("--budget", f->budget, "token budget (Quest; eviction baselines: tokens kept)")
      ->capture_default_str();
  app->add_option("--page-size", f->page_size, "KV page size in tokens")->capture_default_str();
  app->add_option("--semantics", f->semantics, "paper | kernel")->capture_default_str();
  app->add_option("--gqa", f->gqa, "per-kv-head | per-query-head")->capture_default_str();
  app->add_option("--gqa-aggregate", f->gqa_aggregate,
                  "per-kv-head page score: softmax-sum | max")
      ->capture_default_str();
  app->add_option("--select", f->select,
                  "page selection: auto | flat | two-level (page blocks; same pages, with "
                  "per-query-head or max)")
      ->capture_default_str();
  app->add_option("--sink-pages", f->sink_pages,
                  "Quest: first pages always kept (the attention sink; 0 = the paper's selection)")
      ->capture_default_str();
  app->add_option("--dense-layers", f->dense_layers, "first layers kept dense")
      ->capture_default_str();
  app->add_option("--kv-type", f->kv_type, "f16 | f32 | q8 (int8, one scale per token and KV head)")->capture_default_str();
  app->add_option("--eps", f->eps,
                  "Quest: read pages in bound order until the skipped attention share is "
                  "certified <= eps (-1: off, a fixed --budget)")
      ->capture_default_str();
  app->add_option("--budget-min", f->budget_min,
                  "with --eps: tokens of the first round (0: --budget)")
      ->capture_default_str();
  app->add_option("--budget-max", f->budget_max,
                  "with --eps: tokens read at most (0: the whole context)")
      ->capture_default_str();
}

void AddSamplerFlags(CLI::App* app, SamplerOptions* s) {
  app->add_option("--temp", s->temperature, "temperature (0: greedy)")->capture_default_str();
  app->add_option("--top-k", s->top_k, "top-k (0: off)")->capture_default_str();
  app->add_option("--top-p", s->top_p, "top-p (1: off)")->capture_default_str();
  app->add_option("--min-p", s->min_p, "min-p (0: off)")->capture_default_str();
  app->add_option("--repeat-penalty", s->repeat_penalty, "repetition penalty (1: off)")
      ->capture_default_str();
  app->add_option("--frequency-penalty", s->frequency_penalty,
                  "subtracts this times a token's count in the output so far (0: off)")
      ->capture_default_str();
  app->add_option("--presence-penalty", s->presence_penalty,
                  "subtracts this from tokens already in the output (0: off)")
      ->capture_default_str();
  app->add_option("--seed", s->seed, "sampling seed")->capture_default_str();
}

}  // namespace quest
