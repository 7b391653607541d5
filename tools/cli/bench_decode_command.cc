// `quest bench decode`: flags and output of the end-to-end decode benchmark.
#include <cstdio>
#include <iostream>
#include <memory>

#include "tools/bench/decode_bench.h"
#include "tools/cli/commands.h"

namespace quest {

Command AddBenchDecodeCommand(CLI::App* bench) {
  CLI::App* d = bench->add_subcommand(
      "decode", "decode tokens/s, dense vs Quest, at several KV depths, in one run");
  auto o = std::make_shared<DecodeBenchOptions>();
  auto json = std::make_shared<bool>(false);
  d->add_option("-m,--model", o->model, "GGUF model (default: the Gemma 3 270M of make setup)");
  d->add_option("--depth", o->depths, "KV depths in tokens (comma list)")
      ->delimiter(',')
      ->capture_default_str();
  d->add_option("--budget", o->budget, "Quest token budget")->capture_default_str();
  d->add_option("--page-size", o->page_size, "KV page size")->capture_default_str();
  d->add_option("--semantics", o->semantics, "paper | kernel")->capture_default_str();
  d->add_option("--gqa", o->gqa, "per-kv-head | per-query-head")->capture_default_str();
  d->add_option("--sink-pages", o->sink_pages, "Quest: first pages always kept")
      ->capture_default_str();
  d->add_option("--dense-layers", o->dense_layers, "first layers kept dense")
      ->capture_default_str();
  d->add_option("--kv-type", o->kv_type, "f16 | f32 | q8 (int8, one scale per token and KV head)")
      ->capture_default_str();
  d->add_option("--steps", o->steps, "timed decode steps per method and depth")
      ->capture_default_str();
  d->add_option("--prefill-tokens", o->prefill_tokens, "prompt length of the prefill timing")
      ->capture_default_str();
  d->add_option("--kv-fill", o->kv_fill,
                "auto | prefill | synthetic (auto: synthetic for make-model files)")
      ->capture_default_str();
  d->add_option("--threads", o->threads, "threads (0: all)")->capture_default_str();
  d->add_option("--membw-gb", o->membw_gb, "buffer of the read-bandwidth measurement")
      ->capture_default_str();
  d->add_flag("--repack", o->repack,
              "copy the Q4_0 matrices into a layout 8 rows wide for decode (faster; more memory)");
  d->add_option("--kv-file", o->kv_file,
                "keep the K/V pages in a scratch file mapped into memory (contexts beyond RAM; "
                "created, and removed at exit)");
  d->add_flag("--json", *json, "print only a JSON array on stdout");
  return {d, [o, json]() {
            Result<nlohmann::json> rows = RunDecodeBench(*o, std::cerr);
            if (!rows.ok()) {
              std::fprintf(stderr, "quest bench decode: %s\n", rows.status().message().c_str());
              return kExitBadInput;
            }
            if (*json) {
              std::cout << rows->dump(2) << std::endl;
            } else {
              std::cout << FormatDecodeTable(*rows);
            }
            return 0;
          }};
}

}  // namespace quest
