// `quest bench attention`: flags and output of the attention benchmark.
#include <cstdio>
#include <iostream>
#include <memory>

#include "tools/bench/attention_bench.h"
#include "tools/cli/commands.h"

namespace quest {

Command AddBenchAttentionCommand(CLI::App* bench) {
  CLI::App* attn = bench->add_subcommand(
      "attention", "one decode step of attention per layer, dense vs Quest, at long context");
  auto o = std::make_shared<AttentionBenchOptions>();
  auto json = std::make_shared<bool>(false);
  attn->add_option("--context", o->contexts, "context lengths (comma list sweeps)")
      ->delimiter(',')
      ->capture_default_str();
  attn->add_option("--budget", o->budgets, "Quest token budgets (comma list sweeps)")
      ->delimiter(',')
      ->capture_default_str();
  attn->add_option("--page-size", o->page_size, "tokens per page (power of two, 4..128)")
      ->capture_default_str();
  attn->add_option("--heads", o->heads, "query heads")->capture_default_str();
  attn->add_option("--kv-heads", o->kv_heads, "KV heads (divides --heads)")->capture_default_str();
  attn->add_option("--head-dim", o->head_dim, "head dimension (multiple of 16, <= 512)")
      ->capture_default_str();
  attn->add_option("--layers", o->layers, "layers (0: enough for --working-set-gb of K+V)")
      ->capture_default_str();
  attn->add_option("--working-set-gb", o->working_set_gb, "K+V working set when --layers is 0")
      ->capture_default_str();
  attn->add_option("--membw-gb", o->membw_gb, "buffer size of the read-bandwidth measurement")
      ->capture_default_str();
  attn->add_option("--threads", o->threads, "threads (0: all)")->capture_default_str();
  attn->add_option("--repeats", o->repeats, "timed repetitions (median reported)")
      ->capture_default_str();
  attn->add_option("--semantics", o->semantics, "paper | kernel")->capture_default_str();
  attn->add_option("--gqa", o->gqa_modes, "per-kv-head | per-query-head (comma list sweeps)")
      ->delimiter(',')
      ->capture_default_str();
  attn->add_option("--gqa-aggregate", o->gqa_aggregate, "per-kv-head score: max | softmax-sum")
      ->capture_default_str();
  attn->add_option("--kv-type", o->kv_type, "f16 | f32 | q8")->capture_default_str();
  attn->add_option("--seed", o->seed, "random seed")->capture_default_str();
  attn->add_option("--eps", o->eps,
                   "certified Quest tail shares (comma list sweeps; --budget is the first round)")
      ->delimiter(',');
  attn->add_option("--budget-max", o->budget_max, "with --eps: tokens at most (0: none)")
      ->capture_default_str();
  attn->add_flag("--json", *json, "print only a JSON array on stdout");
  return {attn, [o, json]() {
            Result<nlohmann::json> rows = RunAttentionBench(*o, std::cerr);
            if (!rows.ok()) {
              std::fprintf(stderr, "quest bench attention: %s\n", rows.status().message().c_str());
              return kExitBadInput;
            }
            if (*json) {
              std::cout << rows->dump(2) << std::endl;
            } else {
              std::cout << FormatAttentionTable(*rows);
            }
            return 0;
          }};
}

}  // namespace quest
