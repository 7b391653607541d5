// `quest bench prefill`: prefill seconds, tok/s and GFLOP/s per prompt length.
//
// FLOPs counted (2 per multiply-add, only what the model needs, none of the
// kernels' padding or masked-out work): the weight products, 2 * rows * cols
// per token for each layer matrix, and the output projection for the last
// token only (prefill asks for one row of logits); attention, 4 * head_dim *
// num_heads per (query, visible key) pair: q.k and p.v. A query at position p
// sees min(p + 1, window) keys. Prompts are deterministic random token ids
// (FillerTokens): the time does not depend on the text.
#include "tools/bench/prefill_bench.h"

#include <algorithm>
#include <cstdio>
#include <ostream>

#include "src/engine/model.h"
#include "src/engine/session.h"
#include "src/kernels/kernels.h"
#include "src/util/threads.h"
#include "src/util/timing.h"
#include "tools/bench/filler_tokens.h"

namespace quest {
namespace {

double WeightFlopsPerToken(const ModelWeights& w) {
  double macs = 0;
  for (const LayerWeights& L : w.layers) {
    for (const Matrix* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down}) {
      macs += static_cast<double>(m->rows) * m->cols;
    }
  }
  return 2 * macs;
}

// Visible (query, key) pairs of a causal prompt of n tokens, window w (0: all).
double CausalPairs(int n, int w) {
  const double full = w > 0 ? std::min(n, w) : n;  // queries up to here see p + 1 keys
  return full * (full + 1) / 2 + (n - full) * (w > 0 ? w : 0);
}

double AttentionFlops(const ModelConfig& c, int n) {
  double pairs = 0;
  for (int l = 0; l < c.num_layers; ++l) {
    pairs += CausalPairs(n, c.layer_is_local[l] ? c.sliding_window : 0);
  }
  return 4.0 * c.head_dim * c.num_heads * pairs;
}

// Best of three probe passes (~0.1-0.3 s each): a ceiling, so the fastest.
double PeakGflops(int threads) {
  double best = 0;
  for (int i = 0; i < 3; ++i) best = std::max(best, FmaPeakGflops(threads, 20'000'000));
  return best;
}

// The same for the 8-bit integer dot (GOPS; 0: no probe for this target).
double IntPeakGops(int threads) {
  double best = 0;
  for (int i = 0; i < 3; ++i) best = std::max(best, IntDotPeakGops(threads, 10'000'000));
  return best;
}

Status TimedPrefill(const Model& model, int n, int threads, int chunk, double* seconds) {
  SessionOptions so;
  so.context = n;
  so.threads = threads;
  if (chunk > 0) so.prefill_chunk = chunk;
  Result<std::unique_ptr<Session>> s = Session::Create(model, so);
  if (!s.ok()) return s.status();
  const ModelConfig& c = model.config();
  const std::vector<int32_t> prompt = FillerTokens(n, c.vocab_size);
  std::vector<float> logits(c.vocab_size);
  const double t0 = NowSeconds();
  QE_RETURN_IF_ERROR((*s)->Prefill(prompt.data(), n, logits.data()));
  *seconds = NowSeconds() - t0;
  return Status();
}

}  // namespace

Result<nlohmann::json> RunPrefillBench(const PrefillBenchOptions& o, std::ostream& progress) {
  if (o.tokens.empty()) return Status::Error("invalid --tokens: give at least one length");
  for (int n : o.tokens) {
    if (n <= 0) return Status::Error(StrFormat("invalid --tokens %d: must be > 0", n));
  }
  if (o.reps <= 0) return Status::Error(StrFormat("invalid --reps %d: must be > 0", o.reps));
  if (o.prefill_chunk < 0) {
    return Status::Error(StrFormat("invalid --chunk %d: must be >= 0", o.prefill_chunk));
  }
  int threads = 0;
  QE_ASSIGN_OR_RETURN(threads, ResolveThreads(o.threads));
  const std::string path = o.model.empty() ? DefaultModelPath() : o.model;
  Result<std::unique_ptr<Model>> model = Model::Load(path, LoadOptions{false, threads});
  if (!model.ok()) return model.status();
  const ModelConfig& c = (*model)->config();
  for (int n : o.tokens) {
    if (n > c.context_length) {
      return Status::Error(StrFormat("invalid --tokens %d: the model's context is %d tokens", n,
                                     c.context_length));
    }
  }
  progress << "model " << path << " (" << c.arch_name << "), " << threads << " threads\n";
  // Warm-up: the page faults of the mmapped weights, as llama-bench's.
  double warm = 0;
  QE_RETURN_IF_ERROR(TimedPrefill(**model, std::min(512, c.context_length), threads,
                                  o.prefill_chunk, &warm));
  const double weight_flops = WeightFlopsPerToken((*model)->weights());
  const double output_flops = 2.0 * c.vocab_size * c.d_model;
  nlohmann::json rows = nlohmann::json::array();
  for (int n : o.tokens) {
    const double peak = PeakGflops(threads);
    const double int_peak = IntPeakGops(threads);
    std::vector<double> runs;
    for (int r = 0; r < o.reps; ++r) {
      double s = 0;
      QE_RETURN_IF_ERROR(TimedPrefill(**model, n, threads, o.prefill_chunk, &s));
      runs.push_back(s);
      progress << n << " tokens: " << s << " s\n";
    }
    std::sort(runs.begin(), runs.end());
    const double seconds = runs[runs.size() / 2];
    const double wf = weight_flops * n + output_flops;
    const double af = AttentionFlops(c, n);
    rows.push_back({{"model", path},
                    {"tokens", n},
                    {"seconds", seconds},
                    {"tok_s", n / seconds},
                    {"gflops", (wf + af) / seconds / 1e9},
                    {"weight_gflop", wf / 1e9},
                    {"attention_gflop", af / 1e9},
                    {"peak_gflops", peak},
                    {"peak_int8_gops", int_peak},
                    {"threads", threads}});
  }
  return rows;
}

std::string FormatPrefillTable(const nlohmann::json& rows) {
  std::string out = StrFormat("%8s %9s %9s %8s %9s %8s %9s %8s %4s\n", "tokens", "seconds",
                              "tok/s", "GFLOP/s", "peak", "%peak", "i8 peak", "attn%", "thr");
  for (const nlohmann::json& r : rows) {
    const double total = r["weight_gflop"].get<double>() + r["attention_gflop"].get<double>();
    const double int_peak = r["peak_int8_gops"].get<double>();
    out += StrFormat("%8d %9.2f %9.1f %8.1f %9.1f %7.0f%% %9s %7.0f%% %4d\n",
                     r["tokens"].get<int>(), r["seconds"].get<double>(), r["tok_s"].get<double>(),
                     r["gflops"].get<double>(), r["peak_gflops"].get<double>(),
                     100 * r["gflops"].get<double>() / r["peak_gflops"].get<double>(),
                     int_peak > 0 ? StrFormat("%.1f", int_peak).c_str() : "-",
                     100 * r["attention_gflop"].get<double>() / total, r["threads"].get<int>());
  }
  return out;
}

}  // namespace quest
