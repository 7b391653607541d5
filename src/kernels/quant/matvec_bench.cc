// Google Benchmark for the weight kernels: MatVec weight-read bandwidth per
// type at a decode shape (cold: the rotated matrices total ~3x the 32 MB L3),
// and MatMul GFLOP/s at a chunked-prefill batch.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "src/kernels/quant/matvec.h"
#include "src/util/f16.h"

namespace quest {
namespace {

const GgmlType kTypes[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16, GgmlType::kQ4_0,
                           GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ8_0,
                           GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K};

// Byte offsets of the f16 scales in a block, set to a sane finite value.
std::vector<int> ScaleOffsets(GgmlType t) {
  switch (t) {
    case GgmlType::kQ4_0:
    case GgmlType::kQ5_0:
    case GgmlType::kQ8_0:
      return {0};
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_1:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
      return {0, 2};
    case GgmlType::kQ6_K:
      return {208};
    default:
      return {};
  }
}

// bytes of random blocks of `type` (a whole number of blocks), finite values.
std::vector<uint8_t> RandomWeights(GgmlType type, size_t bytes, uint64_t seed) {
  std::vector<uint8_t> w(bytes);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i + 8 <= bytes; i += 8) {  // xorshift64: fast enough for 100 MB
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    std::memcpy(&w[i], &s, 8);
  }
  const GgmlTypeTraits* t = GetGgmlTypeTraits(static_cast<uint32_t>(type));
  const uint16_t scale = F32ToF16(0.01f);
  if (type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16) {
    // Plain values: clear the top exponent bit, so every value is finite.
    const size_t n = bytes / t->type_size;
    for (size_t i = 0; i < n; ++i) w[i * t->type_size + t->type_size - 1] &= 0xBF;
    return w;
  }
  for (size_t b = 0; b < bytes / t->type_size; ++b) {
    for (int off : ScaleOffsets(type)) std::memcpy(&w[b * t->type_size + off], &scale, 2);
  }
  return w;
}

// Times MatVec of 2048 x 8192 weights of `type` (a decode FFN shape), or
// MatVecQ4_0x8 over the same Q4_0 rows repacked; enough matrices that one pass
// over them is ~96 MB, well above the L3.
void RunMatVec(benchmark::State& state, GgmlType type, bool repacked, int threads) {
  const int64_t rows = 2048, cols = 8192;
  const size_t bytes = RowBytes(type, cols) * rows;
  const int mats = static_cast<int>((96u << 20) / bytes + 1);
  std::vector<std::vector<uint8_t>> w;
  for (int m = 0; m < mats; ++m) {
    w.push_back(RandomWeights(type, bytes, m + 1));
    if (repacked) {
      std::vector<uint8_t> w8(bytes);
      RepackQ4_0x8(w.back().data(), rows, cols, w8.data(), 1);
      w.back().swap(w8);
    }
  }
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(cols), y(rows);
  for (float& v : x) v = u(rng);
  int m = 0;
  for (auto _ : state) {
    if (repacked) {
      MatVecQ4_0x8(w[m].data(), rows, cols, x.data(), y.data(), threads);
    } else {
      MatVec(type, w[m].data(), rows, cols, x.data(), y.data(), threads);
    }
    benchmark::DoNotOptimize(y.data());
    m = (m + 1) % mats;
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  state.SetLabel(repacked ? "q4_0x8" : GetGgmlTypeTraits(static_cast<uint32_t>(type))->name);
}

// Args: type index, threads.
void BM_MatVec(benchmark::State& state) {
  RunMatVec(state, kTypes[state.range(0)], false, static_cast<int>(state.range(1)));
}
BENCHMARK(BM_MatVec)->ArgsProduct({{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {2}})->UseRealTime();
BENCHMARK(BM_MatVec)->ArgsProduct({{1, 3, 7, 8, 10}, {1}})->UseRealTime();

// Args: threads. Q4_0 rows repacked 8 at a time (the `--repack` decode path).
void BM_MatVecQ4_0Repacked(benchmark::State& state) {
  RunMatVec(state, GgmlType::kQ4_0, true, static_cast<int>(state.range(0)));
}
BENCHMARK(BM_MatVecQ4_0Repacked)->Arg(2)->Arg(1)->UseRealTime();

// The kernels that multiply weights by a batch of rows.
enum class BatchKernel : int { kMatMul = 0, kMatVecBatch = 1, kMatMulUnpacked = 2 };
const char* const kBatchKernelNames[] = {"matmul", "matvec-batch", "matmul-unpacked"};

// Times `kernel` on rows x cols weights of `type` (copies matrices, rotated
// so that they come from DRAM) against a batch of random rows; GFLOP/s.
void RunMatMul(benchmark::State& state, GgmlType type, int64_t rows, int64_t cols, int64_t batch,
               int threads, int copies, BatchKernel kernel = BatchKernel::kMatMul) {
  const size_t bytes = RowBytes(type, cols) * rows;
  std::vector<std::vector<uint8_t>> w;
  for (int m = 0; m < copies; ++m) w.push_back(RandomWeights(type, bytes, m + 1));
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(batch * cols), y(batch * rows);
  for (float& v : x) v = u(rng);
  int m = 0;
  for (auto _ : state) {
    if (kernel == BatchKernel::kMatVecBatch) {
      MatVecBatch(type, w[m].data(), rows, cols, x.data(), batch, y.data(), threads);
    } else if (kernel == BatchKernel::kMatMulUnpacked) {
      MatMulUnpacked(type, w[m].data(), rows, cols, x.data(), batch, y.data(), threads);
    } else {
      MatMul(type, w[m].data(), rows, cols, x.data(), batch, y.data(), threads);
    }
    benchmark::DoNotOptimize(y.data());
    m = (m + 1) % copies;
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * rows * cols * batch * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// Args: type index, threads. 2048 x 2048 weights (rotated over 4 matrices),
// batch 64: a prefill chunk through an attention projection.
void BM_MatMul(benchmark::State& state) {
  const GgmlType type = kTypes[state.range(0)];
  RunMatMul(state, type, 2048, 2048, 64, static_cast<int>(state.range(1)), 4);
  state.SetLabel(GetGgmlTypeTraits(static_cast<uint32_t>(type))->name);
}
BENCHMARK(BM_MatMul)->ArgsProduct({{0, 1, 3, 7, 8, 10}, {1, 2}})->UseRealTime();

// Args: type index, batch, kernel (BatchKernel). The decode step of a small
// batch of sequences: 2048 x 2048 weights rotated over 8 matrices, 2 threads.
// Where BatchPrefersMatVec comes from.
void BM_DecodeBatch(benchmark::State& state) {
  const GgmlType type = kTypes[state.range(0)];
  RunMatMul(state, type, 2048, 2048, state.range(1), 2, 8,
            static_cast<BatchKernel>(state.range(2)));
  state.SetLabel(std::string(GetGgmlTypeTraits(static_cast<uint32_t>(type))->name) + " " +
                 kBatchKernelNames[state.range(2)]);
}
BENCHMARK(BM_DecodeBatch)
    ->ArgsProduct({{1, 3, 4, 5, 7, 8, 10}, {2, 4, 8, 12, 16, 32}, {0, 1, 2}})
    ->UseRealTime();

// Args: batch, kernel (BatchKernel). Gemma 3 270M's tied output matrix
// (262144 x 640 Q8_0, 178 MB: the largest product of its decode step), 2
// threads.
void BM_DecodeBatchGemmaOutput(benchmark::State& state) {
  RunMatMul(state, GgmlType::kQ8_0, 262144, 640, state.range(0), 2, 1,
            static_cast<BatchKernel>(state.range(1)));
  state.SetLabel(std::string("q8_0 ") + kBatchKernelNames[state.range(1)]);
}
BENCHMARK(BM_DecodeBatchGemmaOutput)
    ->ArgsProduct({{1, 2, 4, 8, 12, 16, 32, 64}, {0, 1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Args: rows, cols, threads, batch. f16 weights against a prefill chunk (256
// tokens by default) or a smaller batch (where MatMul's two forms cross): the
// Llama-3.2-1B projections (q/o 2048 x 2048, gate/up 8192 x 2048, down
// 2048 x 8192), weights rotated over 2 matrices so they come from DRAM.
void BM_MatMulPrefill(benchmark::State& state) {
  RunMatMul(state, GgmlType::kF16, state.range(0), state.range(1), state.range(3),
            static_cast<int>(state.range(2)), 2);
}
BENCHMARK(BM_MatMulPrefill)
    ->Args({2048, 2048, 2, 256})
    ->Args({8192, 2048, 2, 256})
    ->Args({2048, 8192, 2, 256})
    ->Args({2048, 8192, 1, 256})
    ->Args({2048, 2048, 2, 64})
    ->Args({2048, 2048, 2, 96})
    ->Args({2048, 2048, 2, 128})
    ->Args({2048, 2048, 2, 192})
    ->UseRealTime();

}  // namespace
}  // namespace quest

BENCHMARK_MAIN();
