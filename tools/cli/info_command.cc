// `quest info`: what a GGUF model file holds: path, architecture,
// hyperparameters, tokenizer, and the tensor table with types, shapes, bytes.
#include <cstdio>
#include <iostream>
#include <memory>

#include "src/engine/model.h"
#include "src/gguf/gguf_info.h"
#include "tools/cli/commands.h"

namespace quest {
namespace {

nlohmann::json RopeScalingJson(const RopeScaling& s) {
  nlohmann::json j = {{"type", Name(s.type)}};
  if (s.type == RopeScalingType::kNone) return j;
  j["factor"] = s.factor;
  j["original_context"] = s.original_context;
  j["attn_factor"] = s.attn_factor;
  if (s.type == RopeScalingType::kLongRope) {
    // Which factor set a context gets: see LongRopeUsesLongFactors.
    j["long_factors_when_context_exceeds"] = s.original_context;
  }
  return j;
}

nlohmann::json HyperparametersJson(const ModelConfig& c) {
  int local = 0;
  for (bool b : c.layer_is_local) local += b;
  return {{"layers", c.num_layers},        {"d_model", c.d_model},
          {"heads", c.num_heads},          {"kv_heads", c.num_kv_heads},
          {"head_dim", c.head_dim},        {"d_ff", c.d_ff},
          {"vocab_size", c.vocab_size},    {"rms_eps", c.rms_eps},
          {"rope_base", c.rope_base},      {"rope_base_local", c.rope_base_local},
          {"rope_dim", c.rope_dim},        {"sliding_window", c.sliding_window},
          {"sliding_window_layers", local}, {"attn_scale", c.attn_scale},
          {"embed_scale", c.embed_scale},  {"tied_output", c.tied_output},
          {"rope_scaling", RopeScalingJson(c.rope_scaling)}};
}

nlohmann::json TokenizerJson(const GgufFile& g) {
  nlohmann::json t = nlohmann::json::object();
  for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.pre"}) {
    if (g.Has(key)) t[key + 15] = g.GetString(key).ok() ? *g.GetString(key) : "?";
  }
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"}) {
    if (g.Has(key) && g.GetInt(key).ok()) t[key + 15] = *g.GetInt(key);
  }
  if (Result<const std::vector<std::string>*> tokens = g.GetStringArray("tokenizer.ggml.tokens");
      tokens.ok()) {
    t["tokens"] = (*tokens)->size();
  }
  t["chat_template"] = g.Has("tokenizer.chat_template");
  return t;
}

}  // namespace

Command AddInfoCommand(CLI::App* app) {
  CLI::App* info = app->add_subcommand("info", "describe a GGUF model file");
  auto model = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  info->add_option("-m,--model", *model, "GGUF model (default: the Gemma 3 270M of make setup)");
  info->add_flag("--json", *json, "print one JSON object on stdout");
  return {info, [model, json]() {
            const std::string path = model->empty() ? DefaultModelPath() : *model;
            Result<std::unique_ptr<Model>> m = Model::Load(path);
            if (!m.ok()) {
              std::fprintf(stderr, "quest info: %s\n", m.status().message().c_str());
              return kExitBadInput;
            }
            const GgufFile& g = (*m)->gguf();
            const ModelConfig& c = (*m)->config();
            if (*json) {
              nlohmann::json j = GgufInfoJson(g);
              j["architecture"] = c.arch_name;
              j["context_length"] = c.context_length;
              j["hyperparameters"] = HyperparametersJson(c);
              j["tokenizer"] = TokenizerJson(g);
              j["weights_bytes"] = (*m)->weights().total_bytes;
              std::cout << j.dump(2) << std::endl;
            } else {
              std::cout << "architecture: " << c.arch_name << "\ncontext_length: "
                        << c.context_length << "\nhyperparameters: "
                        << HyperparametersJson(c).dump() << "\ntokenizer: "
                        << TokenizerJson(g).dump() << "\n";
              if (c.rope_scaling.type == RopeScalingType::kLongRope) {
                std::cout << "rope: LongRoPE, long factors for a context above "
                          << c.rope_scaling.original_context << " tokens, short ones up to it\n";
              }
              std::cout << "\n"
                        << GgufInfoText(g);
            }
            return 0;
          }};
}

}  // namespace quest
