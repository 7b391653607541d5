// `quest bench recall`: how much of the dense attention mass the pages chosen
// by each GQA selection rule hold, on a real model and text (the measurement
// behind the default per-KV-head aggregation).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "src/engine/policy_flags.h"
#include "src/engine/session.h"
#include "tools/cli/commands.h"
#include "tools/cli/file_tokens.h"

namespace quest {
namespace {

struct RecallOptions {
  std::string model;
  std::string text_file;
  int tokens = 2048;
  int budget = 256;
  int steps = 16;
  int dense_layers = 2;
  double eps = -1;  // >= 0: also run certified Quest and check its bound
};

int Fail(const std::string& m) {
  std::fprintf(stderr, "quest bench recall: %s\n", m.c_str());
  return kExitBadInput;
}

// The certificate of fixed-budget Quest's own selection (certified mode with
// its cap at the first round, --budget tokens) over the same prompt and greedy
// steps, every step checked against exact dense attention: the certified T,
// how often it is <= --eps, and how loose the page bound is.
int RunCertifiedCheck(const RecallOptions& o, const Model& m, const std::vector<int32_t>& t) {
  SessionOptions so;
  so.context = o.tokens + o.steps;
  so.attention.quest.budget = o.budget;
  so.attention.dense_layers = o.dense_layers;
  so.attention.certify = CertifyParams{o.eps, o.budget, o.budget};
  so.check_attention = true;
  Result<std::unique_ptr<Session>> s = Session::Create(m, so);
  if (!s.ok()) return Fail(s.status().message());
  std::vector<float> logits(m.config().vocab_size);
  if (Status st = (*s)->Prefill(t.data(), t.size(), logits.data()); !st.ok()) {
    return Fail(st.message());
  }
  for (int i = 0; i < o.steps; ++i) {
    const int32_t next =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (Status st = (*s)->Decode(next, logits.data()); !st.ok()) return Fail(st.message());
  }
  const AttentionDiagnostics& d = (*s)->diagnostics();
  const CertifyReport::Cell c = d.certify.Total();
  const double n = std::max<int64_t>(1, c.steps);
  const double k = std::max<int64_t>(1, d.certify_checked);
  std::printf(
      "Quest at budget %d, certificate against eps %g: pages read %.1f (of %d), T > eps %.3f, T mean "
      "%.4f max %.4f; dense share outside the pages read - T: max %.3g (<= 0: the bound held)\n"
      "page bound - true page max logit: %.2f nats (min/max bound), %.2f (min with |q| max|k|); "
      "T with the latter on the same pages: %.4f (min/max: %.4f)\n",
      o.budget, o.eps, c.pages_sum / n, (o.tokens + o.steps + 15) / 16, c.capped / n,
      c.tail_sum / n, c.tail_max, d.max_tail_excess, d.slack_sum / k, d.slack_norm_sum / k,
      d.tail_norm_sum / k, d.tail_sum / k);
  return 0;
}

int RunRecall(const RecallOptions& o) {
  if (o.tokens <= 0) return Fail(StrFormat("invalid --tokens %d: must be > 0", o.tokens));
  if (o.budget <= 0) return Fail(StrFormat("invalid --budget %d: must be > 0", o.budget));
  if (o.steps <= 0) return Fail(StrFormat("invalid --steps %d: must be > 0", o.steps));
  if (o.eps != -1 && !(o.eps >= 0 && std::isfinite(o.eps))) {
    return Fail(StrFormat("invalid --eps %g: must be >= 0 (or -1: off)", o.eps));
  }
  Result<std::unique_ptr<Model>> m = Model::Load(o.model.empty() ? DefaultModelPath() : o.model);
  if (!m.ok()) return Fail(m.status().message());
  Result<std::vector<int32_t>> file_tokens = FileTokens(**m, o.text_file, o.tokens);
  if (!file_tokens.ok()) return Fail(file_tokens.status().message());
  const std::vector<int32_t>& t = *file_tokens;
  const int64_t context = int64_t{o.tokens} + o.steps;  // 64 bits: both may be near INT_MAX
  if (context > (*m)->config().context_length) {
    return Fail(StrFormat("invalid --tokens %d with --steps %d: %lld tokens exceed the model's "
                          "context of %d",
                          o.tokens, o.steps, static_cast<long long>(context),
                          (*m)->config().context_length));
  }
  SessionOptions so;
  so.context = static_cast<int>(context);
  so.attention.quest.budget = o.budget;
  so.attention.dense_layers = o.dense_layers;
  if (Status st = CheckPolicyForModel(so.attention, (*m)->config()); !st.ok()) {
    return Fail(st.message());
  }
  so.measure_selection_recall = true;
  Result<std::unique_ptr<Session>> s = Session::Create(**m, so);
  if (!s.ok()) return Fail(s.status().message());
  std::vector<float> logits((*m)->config().vocab_size);
  if (Status st = (*s)->Prefill(t.data(), t.size(), logits.data()); !st.ok()) {
    return Fail(st.message());
  }
  for (int i = 0; i < o.steps; ++i) {
    const int32_t next =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (Status st = (*s)->Decode(next, logits.data()); !st.ok()) return Fail(st.message());
  }
  const SelectionRecall r = (*s)->selection_recall();
  std::printf(
      "tokens %d, budget %d, %d greedy steps, %lld (layer, step, head) samples\n"
      "attention mass in the kept pages: per-kv-head softmax-sum %.4f, per-kv-head max %.4f, "
      "per-query-head %.4f; per-kv-head softmax-sum with the first page kept %.4f\n"
      "same number of pages chosen by their true attention mass (oracle, per query head) %.4f; "
      "first + most recent pages %.4f\n",
      o.tokens, o.budget, o.steps, static_cast<long long>(r.samples), r.per_kv_head_softmax_sum,
      r.per_kv_head_max, r.per_query_head, r.per_kv_head_sink, r.oracle_per_query_head,
      r.recent_pages);
  if (o.eps >= 0) return RunCertifiedCheck(o, **m, t);
  return 0;
}

}  // namespace

Command AddBenchRecallCommand(CLI::App* bench) {
  CLI::App* c = bench->add_subcommand(
      "recall", "attention mass kept by each GQA page-selection rule on a real model and text");
  auto o = std::make_shared<RecallOptions>();
  c->add_option("-m,--model", o->model, "GGUF model (default: the Gemma 3 270M of make setup)");
  c->add_option("-f,--file", o->text_file, "text to read")->required();
  c->add_option("--tokens", o->tokens, "prompt tokens")->capture_default_str();
  c->add_option("--budget", o->budget, "Quest token budget")->capture_default_str();
  c->add_option("--steps", o->steps, "greedy decode steps measured")->capture_default_str();
  c->add_option("--dense-layers", o->dense_layers, "first layers kept dense")
      ->capture_default_str();
  c->add_option("--eps", o->eps,
                "also certify fixed Quest's pages against this eps, checked against dense: "
                "certified tails, bound slack (-1: off)")
      ->capture_default_str();
  return {c, [o]() { return RunRecall(*o); }};
}

}  // namespace quest
