// `quest make-model`: a random-weight GGUF with a real model's shape.
#include <cstdio>
#include <iostream>
#include <memory>

#include "src/model/make_model.h"
#include "tools/cli/commands.h"

namespace quest {

Command AddMakeModelCommand(CLI::App* app) {
  CLI::App* mm = app->add_subcommand(
      "make-model", "write a random-weight GGUF with a real model's shape and a valid tokenizer");
  auto o = std::make_shared<MakeModelOptions>();
  mm->add_option("--preset", o->preset, std::string("model shape: ") + PresetNames())->required();
  mm->add_flag("--tiny", o->tiny,
               "the preset's architecture, tokenizer kind and RoPE scaling at test size (2 layers, "
               "d_model 128 (256 for q4_k / q4_k_m), vocab 1024)");
  mm->add_option("--type", o->type,
                 "weight type: f16 | q8_0 | q4_0 | q4_k | q4_k_m (llama.cpp's mix: Q6_K for "
                 "the output and some attn_v / ffn_down)")
      ->capture_default_str();
  mm->add_option("-o,--output", o->output, "output GGUF file")->required();
  mm->add_option("--seed", o->seed, "random seed")->capture_default_str();
  mm->add_option("--context", o->context, "context_length to record (0: the preset's)")
      ->capture_default_str();
  return {mm, [o]() {
            const Status s = MakeModel(*o, std::cerr);
            if (!s.ok()) {
              std::fprintf(stderr, "quest make-model: %s\n", s.message().c_str());
              return kExitBadInput;
            }
            return 0;
          }};
}

}  // namespace quest
