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

}  // namespace
}  // namespace quest

BENCHMARK_MAIN();
