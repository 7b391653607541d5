// `quest bench decode`: decode tok/s dense vs Quest at several depths.
#include "tools/bench/decode_bench.h"

#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <ostream>
#include <string>

#include "src/engine/model.h"
#include "src/engine/policy_flags.h"
#include "src/engine/session.h"
#include "src/kernels/kernels.h"
#include "src/util/memory.h"
#include "src/util/threads.h"
#include "src/util/timing.h"
#include "tools/bench/filler_tokens.h"
#include "tools/bench/read_probe.h"

namespace quest {
namespace {

// Peak resident set since the last ResetPeakRss: VmHWM of /proc/self/status
// (getrusage's ru_maxrss where that is missing, which cannot be reset).
double PeakRssGb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024.0 / 1e9;  // kB
  }
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss * 1024.0 / 1e9;  // ru_maxrss is in KiB on Linux
}

// Restarts the peak RSS from the current RSS (Linux >= 4.0: "5" in clear_refs),
// so that the bandwidth probe's buffer, freed before the model runs, is not
// reported as the engine's peak. Returns false where that is not possible.
bool ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

}  // namespace

Result<nlohmann::json> RunDecodeBench(const DecodeBenchOptions& o, std::ostream& progress) {
  for (int d : o.depths) {
    if (d < 0) return Status::Error(StrFormat("invalid --depth %d: must be >= 0", d));
  }
  if (o.depths.empty()) return Status::Error("invalid --depth: give at least one depth");
  if (o.budget <= 0) return Status::Error(StrFormat("invalid --budget %d: must be > 0", o.budget));
  if (o.steps <= 0) return Status::Error(StrFormat("invalid --steps %d: must be > 0", o.steps));
  if (o.prefill_tokens <= 0) {
    return Status::Error(StrFormat("invalid --prefill-tokens %d: must be > 0", o.prefill_tokens));
  }
  if (o.kv_fill != "auto" && o.kv_fill != "prefill" && o.kv_fill != "synthetic") {
    return Status::Error("invalid --kv-fill " + o.kv_fill + " (expected auto, prefill, synthetic)");
  }
  // The policy flags validated as generate and the server do.
  PolicyFlags flags;
  flags.attention = "quest";
  flags.budget = o.budget;
  flags.page_size = o.page_size;
  flags.semantics = o.semantics;
  flags.gqa = o.gqa;
  flags.dense_layers = o.dense_layers;
  flags.sink_pages = o.sink_pages;
  flags.kv_type = o.kv_type;
  AttentionPolicy quest_policy;
  QE_ASSIGN_OR_RETURN(quest_policy, MakePolicy(flags));
  AttentionPolicy dense_policy = quest_policy;
  dense_policy.method = AttentionMethod::kDense;

  QE_RETURN_IF_ERROR(CheckFitsInMemory(o.membw_gb * 1e9, StrFormat("--membw-gb %g", o.membw_gb)));
  int threads = 0;
  QE_ASSIGN_OR_RETURN(threads, ResolveThreads(o.threads));

  const std::string path = o.model.empty() ? DefaultModelPath() : o.model;
  Result<std::unique_ptr<Model>> model = Model::Load(path, LoadOptions{o.repack, threads});
  if (!model.ok()) return model.status();
  const ModelConfig& c = (*model)->config();
  QE_RETURN_IF_ERROR(CheckPolicyForModel(quest_policy, c));
  // Every depth checked before the warm-up prefill spends its time.
  for (int depth : o.depths) {
    if (int64_t{depth} + 2 * int64_t{o.steps} + 2 > c.context_length) {
      return Status::Error(StrFormat(
          "invalid --depth %d: with --steps %d it needs %lld tokens; the model's context is %d",
          depth, o.steps, static_cast<long long>(int64_t{depth} + 2 * int64_t{o.steps} + 2),
          c.context_length));
    }
  }
  const bool random_model =
      (*model)->gguf().Has("general.name") &&
      (*model)->gguf().GetString("general.name").value().rfind("quest random", 0) == 0;
  const std::string fill =
      o.kv_fill != "auto" ? o.kv_fill : (random_model ? "synthetic" : "prefill");
  double membw;
  {  // freed before the model's pages are touched, then the peak RSS restarts
    ReadProbe probe(o.membw_gb, threads);
    std::vector<double> r;
    for (int i = 0; i < 5; ++i) r.push_back(probe.Pass());
    membw = Median(r);
  }
  if (!ResetPeakRss()) {
    progress << "note: peak RSS cannot be reset here; it includes the bandwidth probe's buffer\n";
  }
  progress << "model " << path << " (" << c.arch_name << "), read bandwidth " << membw << " GB/s\n";
  if (!o.kv_file.empty()) {
    progress << "K/V pages in the mapped file " << o.kv_file
             << ": what is not in the page cache comes from disk (dense reads every page)\n";
  }
  if (o.repack) {
    progress << "repacked Q4_0 weights for decode: " << (*model)->weights().repacked_bytes / 1e9
             << " GB in memory\n";
  }

  // Prefill speed on a short prompt: a warm-up run, then the timed one (as
  // llama-bench does), each in a fresh session. The warm-up takes the page
  // faults of the mmapped weights and of the session's buffers, which
  // otherwise cost a cold 512-token 1B f16 prefill ~5-10% of its time.
  double prefill_tok_s = 0;
  for (int run = 0; run < 2; ++run) {
    SessionOptions so;
    so.context = o.prefill_tokens;
    so.threads = threads;
    so.attention = dense_policy;
    Result<std::unique_ptr<Session>> s = Session::Create(**model, so);
    if (!s.ok()) return s.status();
    std::vector<int32_t> prompt = FillerTokens(o.prefill_tokens, c.vocab_size);
    std::vector<float> logits(c.vocab_size);
    const double t0 = NowSeconds();
    QE_RETURN_IF_ERROR((*s)->Prefill(prompt.data(), prompt.size(), logits.data()));
    prefill_tok_s = o.prefill_tokens / (NowSeconds() - t0);
    progress << (run == 0 ? "prefill (warm-up): " : "prefill: ") << prefill_tok_s << " tok/s ("
             << o.prefill_tokens << " tokens)\n";
  }

  nlohmann::json rows = nlohmann::json::array();
  const double weights_gb = (*model)->weights().total_bytes / 1e9;
  for (int depth : o.depths) {
    SessionOptions so;
    so.context = depth + 2 * o.steps + 2;
    so.threads = threads;
    so.attention = dense_policy;
    so.kv_file = o.kv_file;
    Result<std::unique_ptr<Session>> made = Session::Create(**model, so);
    if (!made.ok()) return made.status();
    Session& s = **made;
    std::vector<float> logits(c.vocab_size);
    progress << "depth " << depth << ": filling the KV cache (" << fill << ")\n";
    if (depth > 0) {
      if (fill == "synthetic") {
        QE_RETURN_IF_ERROR(s.FillSynthetic(depth, 7));
      } else {
        std::vector<int32_t> prompt = FillerTokens(depth, c.vocab_size);
        QE_RETURN_IF_ERROR(s.Prefill(prompt.data(), depth, nullptr));
      }
    }
    // Dense and Quest alternate step by step, so both see the same noise.
    std::vector<double> dense_t, quest_t;
    double dense_kv = 0, quest_kv = 0;
    int32_t token = FillerTokens(1, c.vocab_size)[0];
    for (int i = 0; i <= o.steps; ++i) {  // step 0 warms up
      for (int m = 0; m < 2; ++m) {
        QE_RETURN_IF_ERROR(s.SetAttentionPolicy(m == 0 ? dense_policy : quest_policy));
        const double t0 = NowSeconds();
        QE_RETURN_IF_ERROR(s.Decode(token, logits.data()));
        const double dt = NowSeconds() - t0;
        if (i == 0) continue;
        (m == 0 ? dense_t : quest_t).push_back(dt);
        (m == 0 ? dense_kv : quest_kv) += s.last_kv_bytes_read();
      }
    }
    const double dense_tok_s = 1.0 / Median(dense_t);
    const double quest_tok_s = 1.0 / Median(quest_t);
    dense_kv /= o.steps;
    quest_kv /= o.steps;
    const double wbytes = (*model)->weights().total_bytes;
    nlohmann::json row = {
        {"model", path},
        {"architecture", c.arch_name},
        {"depth", depth},
        {"budget", o.budget},
        {"page_size", o.page_size},
        {"gqa_mode", o.gqa},
        {"semantics", o.semantics},
        {"dense_layers", o.dense_layers},
        {"sink_pages", o.sink_pages},
        {"kv_type", o.kv_type},
        {"kv_fill", fill},
        {"dense_tok_s", dense_tok_s},
        {"quest_tok_s", quest_tok_s},
        {"speedup", quest_tok_s / dense_tok_s},
        // The ceiling by bytes read per token (weights + K/V, dense over
        // Quest): what the speedup would be if both read at the same rate.
        {"speedup_bytes", (wbytes + dense_kv) / (wbytes + quest_kv)},
        {"prefill_tok_s", prefill_tok_s},
        {"weights_gb", weights_gb},
        {"kv_gb", s.kv_cache_bytes() / 1e9},
        {"dense_kv_mb_per_token", dense_kv / 1e6},
        {"quest_kv_mb_per_token", quest_kv / 1e6},
        {"dense_gbps", (wbytes + dense_kv) * dense_tok_s / 1e9},
        {"quest_gbps", (wbytes + quest_kv) * quest_tok_s / 1e9},
        {"membw_gbps", membw},
        {"peak_rss_gb", PeakRssGb()},
        {"threads", threads},
        {"repacked_gb", (*model)->weights().repacked_bytes / 1e9},
        {"kv_file", !o.kv_file.empty()},
    };
    progress << "depth " << depth << ": dense " << dense_tok_s << " tok/s, quest " << quest_tok_s
             << " tok/s\n";
    rows.push_back(row);
  }
  return rows;
}

std::string FormatDecodeTable(const nlohmann::json& rows) {
  std::string s = StrFormat("%7s %6s %-9s %9s %9s %7s %7s %9s %8s %8s %7s %7s %6s %3s\n", "depth",
                            "budget", "kv_fill", "dense t/s", "quest t/s", "speedup", "bytes",
                            "prefill", "dense GB/s", "quest GB/s", "membw", "kv_GB", "rss", "thr");
  for (const auto& r : rows) {
    s += StrFormat(
        "%7d %6d %-9s %9.2f %9.2f %6.2fx %6.2fx %9.1f %10.1f %10.1f %7.1f %7.2f %6.2f %3d\n",
        r["depth"].get<int>(), r["budget"].get<int>(), r["kv_fill"].get<std::string>().c_str(),
        r["dense_tok_s"].get<double>(), r["quest_tok_s"].get<double>(), r["speedup"].get<double>(),
        r["speedup_bytes"].get<double>(), r["prefill_tok_s"].get<double>(),
        r["dense_gbps"].get<double>(), r["quest_gbps"].get<double>(), r["membw_gbps"].get<double>(),
        r["kv_gb"].get<double>(), r["peak_rss_gb"].get<double>(), r["threads"].get<int>());
  }
  return s;
}

}  // namespace quest
