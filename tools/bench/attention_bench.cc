// `quest bench attention`: dense vs Quest decode attention at long context.
#include "tools/bench/attention_bench.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <ostream>
#include <random>

#include "src/kernels/kernels.h"
#include "src/kv/kv_cache.h"
#include "src/quest/certified_attention.h"
#include "src/quest/page_select.h"
#include "src/util/aligned.h"
#include "src/util/memory.h"
#include "src/util/threads.h"
#include "src/util/timing.h"
#include "tools/bench/read_probe.h"

namespace quest {
namespace {

// A fast generator for gigabytes of uniform [-1, 1) floats (xorshift64*).
struct FastRandom {
  uint64_t s;
  float Next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    const uint32_t r = static_cast<uint32_t>((s * 0x2545F4914F6CDD1DULL) >> 40);  // 24 bits
    return static_cast<float>(r) * (2.0f / 16777216.0f) - 1.0f;
  }
};

// Fills every layer of `cache` with `length` random tokens of one sequence,
// through the real append path (conversion + incremental metadata).
void Fill(KvCache* cache, Sequence* seq, int length, unsigned seed, int threads) {
  const KvCacheConfig& c = cache->config();
  const size_t row = static_cast<size_t>(c.num_kv_heads) * c.head_dim;
  const int chunk = 256;
  std::vector<float> k(row * chunk), v(row * chunk);
  QE_CHECK(cache->Reserve(seq, length).ok());
  for (int l = 0; l < c.num_layers; ++l) {
    Sequence s = *seq;
    for (int done = 0; done < length; done += chunk) {
      const int n = std::min(chunk, length - done);
#pragma omp parallel num_threads(threads)
      {
        FastRandom rng{(seed + 1) * 0x9E3779B97F4A7C15ULL ^ (uint64_t(l) << 40) ^
                       (uint64_t(done) << 8) ^ uint64_t(omp_get_thread_num() + 1)};
#pragma omp for schedule(static)
        for (size_t i = 0; i < row * n; ++i) {
          k[i] = rng.Next();
          v[i] = rng.Next();
        }
      }
      cache->Write(s, l, n, k.data(), v.data(), threads);
      s.length += n;
    }
  }
  cache->Advance(seq, length);
}

// Certified Quest at eps over every layer against fixed-budget Quest reading
// the same mean number of pages, alternating within each repeat.
void CertifiedRow(const KvCache& cache, const Sequence& seq, const std::vector<float>& q,
                  int layers, const AttentionBenchOptions& o, const QuestParams& params,
                  double eps, int threads, nlohmann::json* row) {
  const float scale = params.scale;
  const CertifyParams cp{eps, params.budget, o.budget_max};
  CertifiedAttention cert;
  CertifiedStep step;
  CertifyReport report;
  PageSelector selector;
  PageList list;
  std::vector<float> out(static_cast<size_t>(o.heads) * o.head_dim);
  QuestParams same = params;
  std::vector<double> cert_s, same_s;
  for (int r = 0; r <= o.repeats; ++r) {  // r == 0 warms up and measures pages read
    double t0 = NowSeconds();
    for (int l = 0; l < layers; ++l) {
      cert.Attend(q.data() + static_cast<size_t>(l) * o.heads * o.head_dim, o.heads,
                  cache.View(l), seq, params, cp, scale, threads, out.data(), &step);
      if (r == 0) report.Add(l, o.heads, o.kv_heads, step);
    }
    const double cert_t = NowSeconds() - t0;
    if (r == 0) {
      const CertifyReport::Cell c = report.Total();
      const double pages = c.pages_sum / std::max<int64_t>(1, c.steps);
      same.budget = std::max(1, static_cast<int>(std::lround(pages))) * o.page_size;
    }
    t0 = NowSeconds();
    for (int l = 0; l < layers; ++l) {
      const float* ql = q.data() + static_cast<size_t>(l) * o.heads * o.head_dim;
      selector.Select(ql, o.heads, cache.View(l), seq, same, threads, &list);
      AttendPages(ql, o.heads, cache.View(l), list, scale, threads, out.data());
    }
    const double same_t = NowSeconds() - t0;
    if (r > 0) {
      cert_s.push_back(cert_t);
      same_s.push_back(same_t);
    }
  }
  const CertifyReport::Cell c = report.Total();
  const double n = std::max<int64_t>(1, c.steps);
  (*row)["eps"] = eps;
  (*row)["budget_max"] = o.budget_max;
  (*row)["certified_tail_mean"] = c.tail_sum / n;
  (*row)["certified_tail_max"] = c.tail_max;
  (*row)["pages_read_mean"] = c.pages_sum / n;
  (*row)["capped_share"] = c.capped / n;
  (*row)["certified_ms"] = Median(cert_s) * 1e3 / layers;
  (*row)["quest_same_pages_budget"] = same.budget;
  (*row)["quest_same_pages_ms"] = Median(same_s) * 1e3 / layers;
}

}  // namespace

Status ValidateAttentionBench(const AttentionBenchOptions& o) {
  auto bad = [](const char* flag, const std::string& value, const char* why) {
    return Status::Error(StrFormat("invalid --%s %s: %s", flag, value.c_str(), why));
  };
  if (o.contexts.empty()) return bad("context", "''", "give at least one context length");
  for (int c : o.contexts) {
    if (c <= 0) return bad("context", std::to_string(c), "must be > 0");
  }
  if (o.budgets.empty()) return bad("budget", "''", "give at least one budget");
  for (int b : o.budgets) {
    if (b <= 0) return bad("budget", std::to_string(b), "must be > 0 tokens");
  }
  if (o.page_size < KvCacheConfig::kMinPageSize || o.page_size > KvCacheConfig::kMaxPageSize ||
      (o.page_size & (o.page_size - 1))) {
    return bad("page-size", std::to_string(o.page_size), "must be a power of two in [4, 128]");
  }
  if (o.heads <= 0) return bad("heads", std::to_string(o.heads), "must be > 0");
  if (o.kv_heads <= 0) return bad("kv-heads", std::to_string(o.kv_heads), "must be > 0");
  if (o.heads % o.kv_heads != 0) {
    return bad("kv-heads", std::to_string(o.kv_heads),
               StrFormat("must divide --heads %d (GQA groups are whole)", o.heads).c_str());
  }
  if (o.head_dim <= 0 || o.head_dim > KvCacheConfig::kMaxHeadDim ||
      o.head_dim % kHeadDimMultiple != 0) {
    return bad("head-dim", std::to_string(o.head_dim),
               "unsupported: must be a multiple of 16 in [16, 512]");
  }
  if (o.layers < 0) return bad("layers", std::to_string(o.layers), "must be >= 0 (0: auto)");
  if (!(o.working_set_gb > 0)) {
    return bad("working-set-gb", std::to_string(o.working_set_gb), "must be > 0");
  }
  if (!(o.membw_gb > 0)) return bad("membw-gb", std::to_string(o.membw_gb), "must be > 0");
  if (Result<int> t = ResolveThreads(o.threads); !t.ok()) return t.status();
  if (o.repeats <= 0) return bad("repeats", std::to_string(o.repeats), "must be > 0");
  if (auto s = ParseSemantics(o.semantics); !s.ok())
    return bad("semantics", o.semantics, s.status().message().c_str());
  for (const std::string& m : o.gqa_modes) {
    if (auto g = ParseGqaMode(m); !g.ok()) return bad("gqa", m, g.status().message().c_str());
  }
  if (auto a = ParseGqaAggregate(o.gqa_aggregate); !a.ok()) {
    return bad("gqa-aggregate", o.gqa_aggregate, a.status().message().c_str());
  }
  KvType type;
  if (!ParseKvType(o.kv_type, &type)) return bad("kv-type", o.kv_type, "expected f16, f32 or q8");
  for (double e : o.eps) {
    if (!(e >= 0 && std::isfinite(e))) return bad("eps", StrFormat("%g", e), "must be >= 0");
  }
  if (o.budget_max < 0) return bad("budget-max", std::to_string(o.budget_max), "must be >= 0");
  for (int b : o.budgets) {
    if (!o.eps.empty() && o.budget_max > 0 && o.budget_max < b) {
      return bad("budget-max", std::to_string(o.budget_max), "must be >= every --budget");
    }
  }
  // Sizes in 64 bits and against memory before anything is allocated.
  QE_RETURN_IF_ERROR(CheckFitsInMemory(o.membw_gb * 1e9, StrFormat("--membw-gb %g", o.membw_gb)));
  if (o.layers == 0) {
    QE_RETURN_IF_ERROR(CheckFitsInMemory(o.working_set_gb * 1e9,
                                         StrFormat("--working-set-gb %g", o.working_set_gb)));
  }
  for (int c : o.contexts) {
    // One layer at least (--layers 0 rounds up to whole layers).
    const double layer_bytes =
        static_cast<double>(c) * o.kv_heads * KvTokenBytes(type, o.head_dim);
    const double kv_bytes = layer_bytes * std::max(1, o.layers);
    QE_RETURN_IF_ERROR(CheckFitsInMemory(
        kv_bytes, o.layers > 0 ? StrFormat("--context %d with --layers %d", c, o.layers)
                               : StrFormat("--context %d", c)));
  }
  return Status();
}

Result<nlohmann::json> RunAttentionBench(const AttentionBenchOptions& o, std::ostream& progress) {
  QE_RETURN_IF_ERROR(ValidateAttentionBench(o));
  const int threads = ResolveThreads(o.threads).value();
  KvType type = KvType::kF16;
  ParseKvType(o.kv_type, &type);  // validated above
  const size_t token_bytes = KvTokenBytes(type, o.head_dim);  // K + V of one KV head
  const size_t meta_es = KvElementBytes(KvMetaType(type));
  // The probe runs once per repeat, between the dense and the Quest timing:
  // this VM's bandwidth swings with its neighbours (30-60 GB/s within
  // minutes), so dense_gbps is compared with the probe of the same moments.
  progress << "read-bandwidth probe: " << o.membw_gb << " GB on " << threads << " threads\n";
  ReadProbe probe(o.membw_gb, threads);
  std::vector<double> start_gbps;
  for (int r = 0; r < 3; ++r) start_gbps.push_back(probe.Pass());
  progress << "read bandwidth: " << Median(start_gbps) << " GB/s\n";

  nlohmann::json rows = nlohmann::json::array();
  for (int context : o.contexts) {
    const size_t layer_kv_bytes = static_cast<size_t>(context) * o.kv_heads * token_bytes;
    const int layers = o.layers > 0
                           ? o.layers
                           : std::max<int>(1, std::ceil(o.working_set_gb * 1e9 / layer_kv_bytes));
    KvCacheConfig c;
    c.num_layers = layers;
    c.num_kv_heads = o.kv_heads;
    c.head_dim = o.head_dim;
    c.page_size = o.page_size;
    c.type = type;
    c.num_pages = static_cast<int>((int64_t{context} + o.page_size - 1) / o.page_size);
    progress << "filling KV cache: " << layers << " layers x " << context << " tokens ("
             << layers * layer_kv_bytes / 1e9 << " GB K+V)\n";
    Result<KvCache> made = KvCache::Create(c);
    if (!made.ok()) return made.status();
    KvCache cache = std::move(made.value());
    Sequence seq;
    Fill(&cache, &seq, context, o.seed, threads);

    std::mt19937 rng(o.seed);
    std::uniform_real_distribution<float> dist(-1, 1);
    std::vector<float> q(static_cast<size_t>(layers) * o.heads * o.head_dim);
    for (float& x : q) x = dist(rng);
    std::vector<float> out(static_cast<size_t>(o.heads) * o.head_dim);
    const float scale = 1.0f / std::sqrt(static_cast<float>(o.head_dim));
    const PageList dense_list = DensePageList(seq, o.page_size, o.kv_heads);
    const double meta_bytes =
        static_cast<double>(seq.num_pages()) * o.kv_heads * o.head_dim * meta_es * 2;

    for (const std::string& mode : o.gqa_modes) {
      for (int budget : o.budgets) {
        QuestParams params;
        params.budget = budget;
        params.semantics = ParseSemantics(o.semantics).value();
        params.gqa = ParseGqaMode(mode).value();
        params.aggregate = ParseGqaAggregate(o.gqa_aggregate).value();
        params.scale = scale;
        PageSelector selector;
        PageList list;
        std::vector<double> dense_s, quest_s, select_s, membw_s, scatter_s;
        const bool scored = context > budget;
        // The scattered probe reads runs of one page's K + V, as many per
        // KV head's region as Quest keeps per list.
        const size_t page_bytes = KvPageElems(type, o.page_size, o.head_dim) * KvElementBytes(type);
        const int kept = PagesToKeep(params, o.page_size, seq.num_pages());
        double quest_bytes = 0;
        // Dense and Quest alternate within one run, so both see the same noise.
        for (int r = 0; r <= o.repeats; ++r) {  // r == 0 warms up
          double t0 = NowSeconds();
          for (int l = 0; l < layers; ++l) {
            AttendPages(q.data() + static_cast<size_t>(l) * o.heads * o.head_dim, o.heads,
                        cache.View(l), dense_list, scale, threads, out.data());
          }
          const double dense_t = NowSeconds() - t0;
          if (r > 0) membw_s.push_back(probe.Pass());
          if (r > 0 && scored) {
            scatter_s.push_back(probe.ScatterPass(page_bytes, seq.num_pages(), kept));
          }
          quest_bytes = 0;
          double select_t = 0;
          t0 = NowSeconds();
          for (int l = 0; l < layers; ++l) {
            const float* ql = q.data() + static_cast<size_t>(l) * o.heads * o.head_dim;
            const PagedKv kv = cache.View(l);
            const double ts = NowSeconds();
            selector.Select(ql, o.heads, kv, seq, params, threads, &list);
            select_t += NowSeconds() - ts;
            AttendPages(ql, o.heads, kv, list, scale, threads, out.data());
            for (int li = 0; li < list.num_lists(); ++li) {
              quest_bytes +=
                  static_cast<double>(list.NumTokens(li, o.page_size)) * token_bytes;
            }
          }
          const double quest_t = NowSeconds() - t0;
          if (r > 0) {
            dense_s.push_back(dense_t);
            quest_s.push_back(quest_t);
            select_s.push_back(select_t);
          }
        }
        const double pages_bytes = quest_bytes / layers;
        quest_bytes = pages_bytes + (scored ? meta_bytes : 0);
        const double membw = Median(membw_s);
        // What this machine allows: dense streaming at the probe's rate, Quest
        // streaming its metadata at that rate and reading its pages at the
        // scattered probe's rate. 1 where Quest is dense (no scoring); 0 where
        // the probe's buffer holds no whole head region (not measured).
        const double scatter = scored ? Median(scatter_s) : 0;
        double speedup_limit = scored ? 0.0 : 1.0;
        double quest_limit_ms = 0;
        if (scored && scatter > 0) {
          quest_limit_ms = (meta_bytes / membw + pages_bytes / scatter) / 1e6;
          speedup_limit = layer_kv_bytes / membw / 1e6 / quest_limit_ms;
        }
        const double dense_ms = Median(dense_s) * 1e3 / layers;
        const double quest_ms = Median(quest_s) * 1e3 / layers;
        const double bound = 1.0 / (1.0 / o.page_size + static_cast<double>(budget) / context);
        nlohmann::json row = {
            {"context", context},
            {"budget", budget},
            {"page_size", o.page_size},
            {"heads", o.heads},
            {"kv_heads", o.kv_heads},
            {"head_dim", o.head_dim},
            {"layers", layers},
            {"kv_type", o.kv_type},
            {"semantics", o.semantics},
            {"gqa_mode", mode},
            {"gqa_aggregate", o.gqa_aggregate},
            {"threads", threads},
            {"repeats", o.repeats},
            {"dense_ms", dense_ms},
            {"quest_ms", quest_ms},
            {"quest_select_ms", Median(select_s) * 1e3 / layers},
            {"speedup", dense_ms / quest_ms},
            {"speedup_bound", scored ? bound : 1.0},
            {"dense_bytes_per_layer", static_cast<double>(layer_kv_bytes)},
            {"quest_bytes_per_layer", quest_bytes},
            {"dense_gbps", layer_kv_bytes / (dense_ms * 1e-3) / 1e9},
            {"quest_gbps", quest_bytes / (quest_ms * 1e-3) / 1e9},
            {"membw_gbps", membw},
            {"scatter_gbps", scatter},
            {"quest_limit_ms", quest_limit_ms},
            {"speedup_limit", speedup_limit},
        };
        progress << "context " << context << " budget " << budget << " " << mode << ": dense "
                 << dense_ms << " ms, quest " << quest_ms << " ms per layer (select "
                 << row["quest_select_ms"].get<double>() << " ms)\n";
        rows.push_back(row);
        for (double eps : o.eps) {
          nlohmann::json crow = row;
          CertifiedRow(cache, seq, q, layers, o, params, eps, threads, &crow);
          progress << "  eps " << eps << ": certified " << crow["certified_ms"].get<double>()
                   << " ms, fixed Quest at the same pages "
                   << crow["quest_same_pages_ms"].get<double>() << " ms, pages read "
                   << crow["pages_read_mean"].get<double>() << "\n";
          rows.push_back(crow);
        }
      }
    }
  }
  return rows;
}

std::string FormatAttentionTable(const nlohmann::json& rows) {
  std::string s = StrFormat(
      "%8s %7s %3s %5s %4s %4s %6s %-14s %3s %9s %9s %7s %6s %6s %8s %8s %7s %7s\n", "context",
      "budget", "S", "heads", "kv", "dim", "layers", "gqa", "thr", "dense_ms", "quest_ms",
      "speedup", "bound", "limit", "dense_GB/s", "quest_GB/s", "membw", "scatter");
  for (const auto& r : rows) {
    s += StrFormat(
        "%8d %7d %3d %5d %4d %4d %6d %-14s %3d %9.3f %9.3f %6.2fx %5.2fx %5.2fx %10.1f %10.1f "
        "%7.1f %7.1f\n",
        r["context"].get<int>(), r["budget"].get<int>(), r["page_size"].get<int>(),
        r["heads"].get<int>(), r["kv_heads"].get<int>(), r["head_dim"].get<int>(),
        r["layers"].get<int>(), r["gqa_mode"].get<std::string>().c_str(), r["threads"].get<int>(),
        r["dense_ms"].get<double>(), r["quest_ms"].get<double>(), r["speedup"].get<double>(),
        r["speedup_bound"].get<double>(), r["speedup_limit"].get<double>(),
        r["dense_gbps"].get<double>(), r["quest_gbps"].get<double>(), r["membw_gbps"].get<double>(),
        r["scatter_gbps"].get<double>());
  }
  return s;
}

}  // namespace quest
