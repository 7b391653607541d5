// `quest bench prefill`: flags and output of the prefill (time to first token) benchmark.
#include <cstdio>
#include <iostream>
#include <memory>

#include "tools/bench/prefill_bench.h"
#include "tools/cli/commands.h"

namespace quest {

Command AddBenchPrefillCommand(CLI::App* bench) {
  CLI::App* p = bench->add_subcommand(
      "prefill", "prefill seconds, tok/s and GFLOP/s against the FMA peak, per prompt length");
  auto o = std::make_shared<PrefillBenchOptions>();
  auto json = std::make_shared<bool>(false);
  p->add_option("-m,--model", o->model, "GGUF model (default: the Gemma 3 270M of make setup)");
  p->add_option("--tokens", o->tokens, "prompt lengths in tokens (comma list)")
      ->delimiter(',')
      ->capture_default_str();
  p->add_option("--threads", o->threads, "threads (0: all)")->capture_default_str();
  p->add_option("--reps", o->reps, "timed prefills per length (median reported)")
      ->capture_default_str();
  p->add_option("--chunk", o->prefill_chunk, "tokens per forward pass (0: the default)")
      ->capture_default_str();
  p->add_flag("--json", *json, "print only a JSON array on stdout");
  return {p, [o, json]() {
            Result<nlohmann::json> rows = RunPrefillBench(*o, std::cerr);
            if (!rows.ok()) {
              std::fprintf(stderr, "quest bench prefill: %s\n", rows.status().message().c_str());
              return kExitBadInput;
            }
            if (*json) {
              std::cout << rows->dump(2) << std::endl;
            } else {
              std::cout << FormatPrefillTable(*rows);
            }
            return 0;
          }};
}

}  // namespace quest
