// Google Benchmark over the individual decode kernels (scoring, top-K,
// attention) on a grid of shapes; reports bytes/s since decode is memory-bound.
// The KV working set here fits in cache by design: `quest bench attention`
// measures the cold, DRAM-bound case.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "src/kernels/kernels.h"
#include "src/kv/kv_test_util.h"
#include "src/quest/page_select.h"

namespace quest {
namespace {

testing::RandomCache MakeCache(int tokens, int kv_heads, int head_dim) {
  KvCacheConfig c;
  c.num_kv_heads = kv_heads;
  c.head_dim = head_dim;
  c.page_size = 16;
  return testing::RandomCache::Make(c, tokens, 42);
}

// Args: tokens, head_dim, query heads sharing the KV head (G; GQA scores G
// queries on each page's metadata). One KV head.
void BM_ScorePages(benchmark::State& state) {
  const int tokens = state.range(0), D = state.range(1), G = state.range(2);
  auto r = MakeCache(tokens, 1, D);
  std::mt19937 rng(1);
  std::vector<float> q = testing::RandomFloats(rng, G * D);
  std::vector<float> scores(static_cast<size_t>(G) * r.seq.num_pages());
  for (auto _ : state) {
    ScorePages(q.data(), G, D, r.cache.View(0), 0, r.seq.pages.data(), r.seq.num_pages(),
               scores.data());
    benchmark::DoNotOptimize(scores.data());
  }
  state.SetBytesProcessed(state.iterations() * r.seq.num_pages() * D * 2 * 2);
}
BENCHMARK(BM_ScorePages)->ArgsProduct({{4096, 32768}, {64, 128, 256}, {1, 4}});

// Args: pages, k.
void BM_SelectTopK(benchmark::State& state) {
  const int n = state.range(0), k = state.range(1);
  std::mt19937 rng(2);
  std::vector<float> s = testing::RandomFloats(rng, n);
  std::vector<int32_t> out;
  for (auto _ : state) {
    SelectTopK(s.data(), n, k, /*sink=*/0, /*forced=*/-1, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_SelectTopK)->ArgsProduct({{256, 2048, 8192}, {16, 128}});

// Args: tokens, head_dim, query heads per KV head (G), threads. One KV head.
void BM_AttendPages(benchmark::State& state) {
  const int tokens = state.range(0), D = state.range(1), G = state.range(2),
            threads = state.range(3);
  auto r = MakeCache(tokens, 1, D);
  std::mt19937 rng(3);
  std::vector<float> q = testing::RandomFloats(rng, G * D), out(G * D);
  const PageList list = DensePageList(r.seq, 16, 1);
  for (auto _ : state) {
    AttendPages(q.data(), G, r.cache.View(0), list, 1.0f / std::sqrt(D), threads, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(tokens) * D * 2 * 2);
}
BENCHMARK(BM_AttendPages)
    ->ArgsProduct({{1024, 16384}, {64, 128, 256}, {1, 4}, {1, 2}})
    ->UseRealTime();

// Prefill attention of one chunk of n queries after `context` earlier tokens,
// f16 K/V, on Gemma 3's global-layer shape (4 query heads on one KV head,
// head_dim 256) or Llama 3.2 1B's (32 on 8, head_dim 64). Args: context, n,
// threads, shape (0 Gemma, 1 Llama). Reports GFLOP/s of the causal logits and
// P.V products (2 x 2 x D flops per query head and visible key).
void BM_AttendCausal(benchmark::State& state) {
  const int context = state.range(0), n = state.range(1), threads = state.range(2);
  const bool llama = state.range(3) == 1;
  const int heads = llama ? 32 : 4, kv_heads = llama ? 8 : 1, D = llama ? 64 : 256;
  auto r = MakeCache(context + n, kv_heads, D);
  std::mt19937 rng(4);
  std::vector<float> q = testing::RandomFloats(rng, static_cast<size_t>(n) * heads * D, -1, 1);
  std::vector<float> out(q.size());
  for (auto _ : state) {
    AttendCausal(q.data(), n, heads, context, r.cache.View(0), r.seq.pages.data(), /*window=*/0,
                 1.0f / std::sqrt(static_cast<float>(D)), threads, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  const double keys = static_cast<double>(n) * context + 0.5 * n * (n + 1.0);
  state.counters["GFLOP/s"] = benchmark::Counter(
      4.0 * heads * D * keys * state.iterations() * 1e-9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AttendCausal)->ArgsProduct({{4096}, {256}, {1, 2}, {0, 1}})->UseRealTime();

}  // namespace
}  // namespace quest

BENCHMARK_MAIN();
