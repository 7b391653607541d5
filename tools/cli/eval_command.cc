// `quest eval passkey|ruler|ppl|fidelity`: accuracy and fidelity of every
// attention method and budget on the real model (tools/eval/eval_harness.h).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tools/cli/commands.h"
#include "tools/eval/eval_harness.h"

namespace quest {
namespace {

struct EvalFlags {
  eval::HarnessOptions h;
  std::vector<std::string> tasks = {"niah_single_number", "niah_multikey", "vt", "cwe"};
  // 32704: the longest prompt that leaves 64 tokens of a 32K context for the answer.
  std::vector<int> lengths = {2048, 4096, 8192, 16384, 32704};
  std::vector<double> depths = {0, 0.25, 0.5, 0.75, 1};
  int samples = 2;
  int tokens = 8192;
  int steps = 256;
  bool no_plots = false;
};

void AddCommonFlags(CLI::App* c, EvalFlags* f) {
  c->add_option("-m,--model", f->h.model_path, "GGUF model (default: the default model)");
  c->add_option("--methods", f->h.methods,
                "dense,quest,streaming,h2o,tova; also oracle (diagnostic: the pages of most true "
                "attention mass)")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--budgets", f->h.budgets, "token budgets of the sparse methods")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--semantics", f->h.semantics, "Quest: paper,kernel")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--gqa", f->h.gqa, "Quest: per-kv-head,per-query-head")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--page-sizes", f->h.page_sizes, "Quest page sizes (e.g. 8,16,32)")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--kv-types", f->h.kv_types,
                "K/V storage: f16,f32,q8 (every method with each; fidelity's KL is against dense "
                "with the first)")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--sink-pages", f->h.sink_pages,
                "Quest: first pages always kept (the attention sink; 0 = the paper's selection)")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--eps", f->h.eps,
                "Quest: certified tail shares (comma list; -1: fixed budget; else --budgets is the "
                "first round)")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--budget-max", f->h.budget_max, "Quest with --eps: tokens at most (0: none)")
      ->capture_default_str();
  c->add_option("--dense-layers", f->h.dense_layers, "first layers kept dense")
      ->capture_default_str();
  c->add_option("--seed", f->h.seed, "seed of the samples")->capture_default_str();
  c->add_option("--threads", f->h.threads, "threads (0: all)")->capture_default_str();
  c->add_option("--out", f->h.out_dir, "output directory (rows.jsonl, summary.json/csv, plots)")
      ->required();
  c->add_flag("--overwrite", f->h.overwrite, "replace the results already in --out");
  c->add_flag("--json", f->h.json, "print the summary as JSON on stdout");
  c->add_flag("--no-plots", f->no_plots, "skip the PNG plots");
  c->add_flag("--verbose", f->h.verbose, "print every prefill and answer on stderr");
}

int Fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "quest eval %s: %s\n", what.c_str(), s.message().c_str());
  return kExitBadInput;
}

// Builds the harness, runs `body`, writes the summary; errors exit 2.
template <typename Body>
int Run(const std::string& what, EvalFlags* f, Body body) {
  f->h.plots = !f->no_plots;
  Result<std::unique_ptr<eval::Harness>> h = eval::Harness::Create(f->h);
  if (!h.ok()) return Fail(what, h.status());
  Status s = body(**h);
  if (!s.ok()) return Fail(what, s);
  s = (*h)->Finish();
  if (!s.ok()) return Fail(what, s);
  return 0;
}

}  // namespace

std::vector<Command> AddEvalCommands(CLI::App* app) {
  CLI::App* ev = app->add_subcommand("eval", "accuracy of the attention methods");
  ev->require_subcommand(1);
  auto f = std::make_shared<EvalFlags>();
  std::vector<Command> out;

  CLI::App* pk = ev->add_subcommand("passkey", "passkey retrieval (the Quest paper's protocol)");
  AddCommonFlags(pk, f.get());
  pk->add_option("--lengths", f->lengths, "prompt lengths in tokens")
      ->delimiter(',')
      ->capture_default_str();
  pk->add_option("--depths", f->depths, "needle depths in [0, 1]")
      ->delimiter(',')
      ->capture_default_str();
  pk->add_option("--samples", f->samples, "samples per length and depth")->capture_default_str();
  out.push_back({pk, [f] {
                   return Run("passkey", f.get(), [&](eval::Harness& h) {
                     return h.RunQa({"passkey"}, f->lengths, f->depths, f->samples);
                   });
                 }});

  CLI::App* ru = ev->add_subcommand("ruler", "RULER-like synthetic tasks");
  AddCommonFlags(ru, f.get());
  ru->add_option("--tasks", f->tasks, "tasks (see src/eval/ruler.h)")
      ->delimiter(',')
      ->capture_default_str();
  ru->add_option("--lengths", f->lengths, "prompt lengths in tokens")
      ->delimiter(',')
      ->capture_default_str();
  ru->add_option("--depths", f->depths, "needle depths in [0, 1]")
      ->delimiter(',')
      ->capture_default_str();
  ru->add_option("--samples", f->samples, "samples per length and depth")->capture_default_str();
  out.push_back({ru, [f] {
                   return Run("ruler", f.get(), [&](eval::Harness& h) {
                     return h.RunQa(f->tasks, f->lengths, f->depths, f->samples);
                   });
                 }});

  CLI::App* pp = ev->add_subcommand("ppl", "perplexity of a long text decoded token by token");
  AddCommonFlags(pp, f.get());
  pp->add_option("--tokens", f->tokens, "tokens of text")->capture_default_str();
  pp->add_option("--samples", f->samples, "text excerpts")->capture_default_str();
  out.push_back({pp, [f] {
                   return Run("ppl", f.get(),
                              [&](eval::Harness& h) { return h.RunPpl(f->tokens, f->samples); });
                 }});

  CLI::App* fi = ev->add_subcommand("fidelity", "KL to dense and top-1 agreement, teacher-forced");
  AddCommonFlags(fi, f.get());
  fi->add_option("--length", f->lengths, "prefill lengths (comma list)")
      ->delimiter(',')
      ->capture_default_str();
  fi->add_option("--steps", f->steps, "teacher-forced decode steps")->capture_default_str();
  fi->add_option("--samples", f->samples, "text excerpts per length")->capture_default_str();
  out.push_back({fi, [f] {
                   return Run("fidelity", f.get(), [&](eval::Harness& h) {
                     return h.RunFidelity(f->lengths, f->steps, f->samples);
                   });
                 }});
  return out;
}

}  // namespace quest
