// The evaluation harness behind `quest eval`: every attention method and budget
// on the same samples, each sample prefilled once densely and forked for every
// configuration (Session::CopyStateFrom), so a sweep costs one prefill per
// sample and page size. Writes rows.jsonl, summary.{json,csv}, curves.json and
// the plots (scripts/plot_eval.py) to the output directory.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "src/engine/attention_policy.h"
#include "src/engine/model.h"
#include "src/eval/prompt.h"
#include "src/eval/result_writer.h"
#include "src/tokenizer/tokenizer.h"

namespace quest::eval {

// One method with its parameters; dense has budget 0 and no semantics/GQA.
struct MethodConfig {
  AttentionMethod method = AttentionMethod::kDense;
  int budget = 0;
  Semantics semantics = Semantics::kKernel;
  GqaMode gqa = GqaMode::kPerKvHead;
  int page_size = 16;
  int sink_pages = 0;  // Quest only: first pages always kept
  // Quest only: certified mode (budget is then the first round), -1: off.
  double eps = -1;
  int budget_max = 0;  // certified mode's cap in tokens, 0: none
  KvType kv_type = KvType::kF16;  // K/V storage of the sessions it runs in
  // The row keys that name this configuration.
  void Describe(nlohmann::json* row) const;
};

struct HarnessOptions {
  std::string model_path;  // empty: the default model
  std::vector<std::string> methods = {"dense", "quest", "streaming", "h2o", "tova"};
  std::vector<int> budgets = {256, 512, 1024};
  std::vector<std::string> semantics = {"kernel"};  // Quest only
  std::vector<std::string> gqa = {"per-kv-head"};   // Quest only
  std::vector<int> page_sizes = {16};               // Quest only (the others use the first)
  // Every method with each K/V storage type; fidelity's KL is against dense
  // attention with the first.
  std::vector<std::string> kv_types = {"f16"};
  std::vector<int> sink_pages = {0};                // Quest only
  std::vector<double> eps = {-1};  // Quest only: certified tail shares (-1: fixed budget)
  int budget_max = 0;              // Quest with eps >= 0: tokens at most (0: none)
  int dense_layers = 2;
  uint64_t seed = 1;
  int threads = 0;
  std::string out_dir;
  bool overwrite = false;  // replace the results already in out_dir
  bool json = false;     // summary on stdout
  bool plots = true;     // run scripts/plot_eval.py with the repo's venv
  bool verbose = false;  // a line per prefill and per answer on stderr
};

// Every (K/V type, method, budget, semantics, gqa, page size, sink pages) to run; errors name the
// flag and value (unknown method, budget <= 0, bad page size...).
Result<std::vector<MethodConfig>> ExpandConfigs(const HarnessOptions& o);

class Harness {
 public:
  static Result<std::unique_ptr<Harness>> Create(const HarnessOptions& o);

  // Passkey (task "passkey") or a RULER task at each length and depth,
  // `samples` samples each: dense prefill of the context, then the question
  // decoded token by token and the answer generated greedily with each method.
  Status RunQa(const std::vector<std::string>& tasks, const std::vector<int>& lengths,
               const std::vector<double>& depths, int samples);
  // After a dense prefill of `length` tokens of the essay, `steps` teacher-
  // forced decode steps per method; KL(dense || method) of the next-token
  // distribution and top-1 agreement per step.
  Status RunFidelity(const std::vector<int>& lengths, int steps, int samples);
  // Perplexity of `tokens` tokens of the essay decoded one at a time from the
  // start with each method active; cumulative perplexity against position.
  Status RunPpl(int tokens, int samples);

  // Writes the summary (and stdout JSON with --json) and the plots.
  Status Finish();

  const Model& model() const { return *model_; }
  int max_context() const;

 private:
  Harness(HarnessOptions o, std::vector<MethodConfig> configs, std::unique_ptr<Model> model,
          Tokenizer tok, std::unique_ptr<ResultWriter> writer);
  // Essay tokens (encoded once); an error names the file if it cannot be read.
  Result<const std::vector<int32_t>*> EssayTokens();

  HarnessOptions opts_;
  std::vector<MethodConfig> configs_;
  std::unique_ptr<Model> model_;
  Tokenizer tok_;
  std::unique_ptr<ResultWriter> writer_;
  std::string model_name_;
  std::vector<int32_t> essay_tokens_;
  std::vector<nlohmann::json> rows_;     // every row of this run (for the summary)
  std::vector<nlohmann::json> summary_;  // from RunFidelity / RunPpl
  nlohmann::json curves_ = nlohmann::json::array();
  bool binary_scores_ = true;  // passkey: accuracy; RULER: recall
};

}  // namespace quest::eval
