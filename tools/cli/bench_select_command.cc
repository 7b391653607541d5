// `quest bench select`: flags and output of the page-selection benchmark.
#include <cstdio>
#include <iostream>
#include <memory>

#include "tools/bench/select_bench.h"
#include "tools/cli/commands.h"

namespace quest {

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
  return {c, [o]() {
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
