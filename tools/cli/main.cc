// The `quest` command line: subcommands over the engine's layers. Bad flags get
// one line naming the flag and value, and exit code 2.
#include <cstdio>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "tools/bench/attention_bench.h"

namespace {

constexpr int kExitBadInput = 2;

int RunBenchAttention(const quest::AttentionBenchOptions& o, bool json) {
  quest::Result<nlohmann::json> rows = quest::RunAttentionBench(o, std::cerr);
  if (!rows.ok()) {
    std::fprintf(stderr, "quest bench attention: %s\n", rows.status().message().c_str());
    return kExitBadInput;
  }
  if (json) {
    std::cout << rows->dump(2) << std::endl;
  } else {
    std::cout << quest::FormatAttentionTable(*rows);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"quest: query-aware sparse (Quest) decode attention for long-context LLMs"};
  app.require_subcommand(1);

  CLI::App* bench = app.add_subcommand("bench", "benchmarks");
  bench->require_subcommand(1);
  CLI::App* attn = bench->add_subcommand(
      "attention", "one decode step of attention per layer, dense vs Quest, at long context");
  quest::AttentionBenchOptions o;
  bool json = false;
  attn->add_option("--context", o.contexts, "context lengths (comma list sweeps)")
      ->delimiter(',')
      ->capture_default_str();
  attn->add_option("--budget", o.budgets, "Quest token budgets (comma list sweeps)")
      ->delimiter(',')
      ->capture_default_str();
  attn->add_option("--page-size", o.page_size, "tokens per page (power of two, 4..128)")
      ->capture_default_str();
  attn->add_option("--heads", o.heads, "query heads")->capture_default_str();
  attn->add_option("--kv-heads", o.kv_heads, "KV heads (divides --heads)")->capture_default_str();
  attn->add_option("--head-dim", o.head_dim, "head dimension (multiple of 16, <= 512)")
      ->capture_default_str();
  attn->add_option("--layers", o.layers, "layers (0: enough for --working-set-gb of K+V)")
      ->capture_default_str();
  attn->add_option("--working-set-gb", o.working_set_gb, "K+V working set when --layers is 0")
      ->capture_default_str();
  attn->add_option("--membw-gb", o.membw_gb, "buffer size of the read-bandwidth measurement")
      ->capture_default_str();
  attn->add_option("--threads", o.threads, "threads (0: all)")->capture_default_str();
  attn->add_option("--repeats", o.repeats, "timed repetitions (median reported)")
      ->capture_default_str();
  attn->add_option("--semantics", o.semantics, "paper | kernel")->capture_default_str();
  attn->add_option("--gqa", o.gqa_modes, "per-kv-head | per-query-head (comma list sweeps)")
      ->delimiter(',')
      ->capture_default_str();
  attn->add_option("--gqa-aggregate", o.gqa_aggregate, "per-kv-head score: max | softmax-sum")
      ->capture_default_str();
  attn->add_option("--kv-type", o.kv_type, "f16 | f32")->capture_default_str();
  attn->add_option("--seed", o.seed, "random seed")->capture_default_str();
  attn->add_flag("--json", json, "print only a JSON array on stdout");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "quest: %s\nRun with --help for usage.\n", e.what());
    return kExitBadInput;
  }
  if (attn->parsed()) return RunBenchAttention(o, json);
  return 0;
}
