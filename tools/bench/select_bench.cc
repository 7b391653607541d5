// `quest bench select`; see select_bench.h.
#include "tools/bench/select_bench.h"

#include <algorithm>
#include <numeric>
#include <ostream>
#include <random>

#include "src/quest/page_blocks.h"
#include "src/quest/page_select.h"
#include "src/quest/synthetic_keys.h"
#include "src/util/aligned.h"
#include "src/util/f16.h"
#include "src/util/timing.h"

namespace quest {
namespace {

// Page metadata (f16 kmax / kmin, the cache's layout) of `tokens` keys, pages
// in physical order: the selector reads nothing else.
struct Metadata {
  AlignedArray<uint16_t> kmax, kmin;  // [kv_heads][num_pages][head_dim]
  PagedKv view;
  Sequence seq;
};

Metadata BuildMetadata(const SelectBenchOptions& o, int tokens) {
  const int S = o.page_size, D = o.head_dim, H = o.kv_heads;
  const int n = (tokens + S - 1) / S;
  Metadata m;
  m.kmax = AlignedArray<uint16_t>(static_cast<size_t>(H) * n * D);
  m.kmin = AlignedArray<uint16_t>(static_cast<size_t>(H) * n * D);
  m.view.kmax = m.kmax.data();
  m.view.kmin = m.kmin.data();
  m.view.type = KvType::kF16;
  m.view.num_kv_heads = H;
  m.view.num_pages = n;
  m.view.page_size = S;
  m.view.head_dim = D;
  m.seq.pages.resize(n);
  std::iota(m.seq.pages.begin(), m.seq.pages.end(), 0);
  m.seq.length = tokens;
  SyntheticKeys sk;
  sk.num_kv_heads = H;
  sk.head_dim = D;
  sk.seed = o.seed;
  SyntheticKeys::Stream stream(sk);
  std::mt19937 rng(o.seed);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::vector<float> row(static_cast<size_t>(H) * D), hi(row.size()), lo(row.size());
  for (int p = 0; p < n; ++p) {
    std::fill(hi.begin(), hi.end(), -INFINITY);
    std::fill(lo.begin(), lo.end(), INFINITY);
    for (int t = p * S; t < std::min(tokens, (p + 1) * S); ++t) {
      if (o.keys == "structured") {
        stream.Next(row.data());
      } else {
        for (float& x : row) x = uniform(rng);
      }
      for (size_t i = 0; i < row.size(); ++i) {
        const float x = F16ToF32(F32ToF16(row[i]));  // the stored value
        hi[i] = std::max(hi[i], x);
        lo[i] = std::min(lo[i], x);
      }
    }
    for (int h = 0; h < H; ++h) {
      for (int i = 0; i < D; ++i) {
        m.kmax.data()[m.view.MetaOffset(p, h) + i] = F32ToF16(hi[h * D + i]);
        m.kmin.data()[m.view.MetaOffset(p, h) + i] = F32ToF16(lo[h * D + i]);
      }
    }
  }
  return m;
}

std::vector<float> MakeQueries(const SelectBenchOptions& o, int tokens, int step) {
  if (o.keys == "structured") {
    SyntheticKeys sk;
    sk.head_dim = o.head_dim;
    return sk.Queries(o.heads, tokens - 1, o.seed * 7919 + step);
  }
  std::mt19937 rng(o.seed * 7919 + step);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> q(static_cast<size_t>(o.heads) * o.head_dim);
  for (float& x : q) x = normal(rng);
  return q;
}

}  // namespace

Status ValidateSelectBench(const SelectBenchOptions& o) {
  for (int t : o.tokens) {
    if (t <= 0) return Status::Error(StrFormat("invalid --tokens %d: must be > 0", t));
  }
  for (int b : o.block_pages) {
    if (b < 1) return Status::Error(StrFormat("invalid --block-pages %d: must be >= 1", b));
  }
  if (o.keys != "structured" && o.keys != "random") {
    return Status::Error("invalid --keys " + o.keys + ": expected structured or random");
  }
  if (o.kv_heads <= 0 || o.heads <= 0 || o.heads % o.kv_heads != 0) {
    return Status::Error(StrFormat("invalid --heads %d / --kv-heads %d: KV heads must divide heads",
                                   o.heads, o.kv_heads));
  }
  if (o.head_dim <= 0 || o.head_dim % 16 != 0 || o.head_dim > 512) {
    return Status::Error(
        StrFormat("invalid --head-dim %d: a multiple of 16, at most 512", o.head_dim));
  }
  if (o.page_size < 4 || o.page_size > 128 || (o.page_size & (o.page_size - 1)) != 0) {
    return Status::Error(
        StrFormat("invalid --page-size %d: a power of two in 4..128", o.page_size));
  }
  if (o.budget <= 0) return Status::Error(StrFormat("invalid --budget %d: must be > 0", o.budget));
  if (o.steps <= 0) return Status::Error(StrFormat("invalid --steps %d: must be > 0", o.steps));
  if (o.threads <= 0)
    return Status::Error(StrFormat("invalid --threads %d: must be > 0", o.threads));
  return ParseGqaMode(o.gqa).status();
}

Result<nlohmann::json> RunSelectBench(const SelectBenchOptions& o, std::ostream& progress) {
  QE_RETURN_IF_ERROR(ValidateSelectBench(o));
  QuestParams p;
  p.budget = o.budget;
  p.gqa = ParseGqaMode(o.gqa).value();
  p.aggregate = GqaAggregate::kMax;  // softmax-sum needs every page's score
  nlohmann::json rows = nlohmann::json::array();
  for (int tokens : o.tokens) {
    progress << "select: building page metadata of " << tokens << " " << o.keys << " keys\n";
    const Metadata m = BuildMetadata(o, tokens);
    std::vector<PageBlocks> blocks;
    std::vector<double> fold_ms;
    for (int b : o.block_pages) {
      blocks.emplace_back(b);
      const double t0 = NowSeconds();
      blocks.back().Update(m.view, m.seq, o.threads);
      fold_ms.push_back((NowSeconds() - t0) * 1e3);
    }
    const size_t nb = o.block_pages.size();
    std::vector<double> flat_us;
    std::vector<std::vector<double>> two_us(nb);
    std::vector<int64_t> two_bytes(nb), two_pages(nb), two_blocks(nb), mismatches(nb);
    int64_t flat_bytes = 0;
    PageSelector sel;
    PageList flat, two;
    for (int step = 0; step < o.steps; ++step) {
      const std::vector<float> q = MakeQueries(o, tokens, step);
      // Flat and every block size on the same query, in turn, so that they
      // share the machine's noise.
      p.select_path = SelectPath::kFlat;
      double t0 = NowSeconds();
      sel.Select(q.data(), o.heads, m.view, m.seq, p, o.threads, &flat);
      flat_us.push_back((NowSeconds() - t0) * 1e6);
      flat_bytes = sel.last_stats().metadata_bytes;
      p.select_path = SelectPath::kTwoLevel;
      for (size_t b = 0; b < nb; ++b) {
        t0 = NowSeconds();
        sel.Select(q.data(), o.heads, m.view, m.seq, p, o.threads, &two, &blocks[b]);
        two_us[b].push_back((NowSeconds() - t0) * 1e6);
        const SelectStats& s = sel.last_stats();
        two_bytes[b] += s.metadata_bytes;
        two_pages[b] += s.pages_scored;
        two_blocks[b] += s.blocks_scored;
        mismatches[b] += two.indices != flat.indices || two.indptr != flat.indptr;
      }
    }
    const int n = m.seq.num_pages();
    const int lists = p.gqa == GqaMode::kPerKvHead ? o.kv_heads : o.heads;
    for (size_t b = 0; b < nb; ++b) {
      nlohmann::json r;
      r["tokens"] = tokens;
      r["keys"] = o.keys;
      r["block_pages"] = o.block_pages[b];
      r["gqa"] = o.gqa;
      r["budget"] = o.budget;
      r["threads"] = o.threads;
      r["flat_us"] = Median(flat_us);
      r["two_level_us"] = Median(two_us[b]);
      r["speedup"] = Median(flat_us) / Median(two_us[b]);
      r["flat_metadata_mb"] = flat_bytes / 1e6;
      r["two_level_metadata_mb"] = two_bytes[b] / 1e6 / o.steps;
      r["pages_scored_share"] = static_cast<double>(two_pages[b]) / o.steps / lists / n;
      r["blocks_scored"] = static_cast<double>(two_blocks[b]) / o.steps / lists;
      r["fold_ms"] = fold_ms[b];
      r["mismatches"] = mismatches[b];
      progress << r.dump() << "\n";
      rows.push_back(r);
    }
  }
  return rows;
}

}  // namespace quest
