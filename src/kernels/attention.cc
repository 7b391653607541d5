// Decode attention over a PageList (Quest and dense) or a TokenList (eviction
// baselines): exact softmax, one query token, GQA. The page path splits lists
// into page chunks ("flash-decoding"), runs them on OpenMP threads with an
// online softmax each, and merges the partial (max, sum, acc) states exactly.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "src/kernels/kernels.h"
#include "src/util/check.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/attention.cc"
// clang-format off
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
#include "src/kernels/load-inl.h"
#include "src/kernels/reduce-inl.h"
// clang-format on

#ifndef QUEST_KERNELS_ATTENTION_ONCE_
#define QUEST_KERNELS_ATTENTION_ONCE_
namespace quest {
// Running softmax state of one query head over part of its keys.
struct SoftmaxState {
  float m;  // max logit seen
  float l;  // sum of exp(logit - m)
};

// Pages per online-softmax update: a batch of pages gets one max / exp /
// rescale per query head instead of one per page (with D = 64 and GQA that
// bookkeeping, a horizontal max and sum and a scalar exp, cost as much as the
// page's FMAs), up to kBatchTokens tokens and kBatchBytes of K/V. The byte cap
// is for DRAM: the batch and the next one, prefetched into L1 while this one
// is computed, must both fit the 32 KB L1D. Four 8 KB pages (D = 128, f16)
// per batch evicted their own V blocks before use: the 32K dense step took
// 17-22 ms against 13.5-17 ms with one page per batch (the in-cache kernel
// loses 3-15% by it, the DRAM one gains 20-30%).
constexpr int kBatchTokens = 64;
constexpr size_t kBatchBytes = 8 << 10;
constexpr int kMaxBatch = 16;  // kBatchTokens / smallest page size (4)

// Pages per batch at page size S, page_bytes of K + V per page.
inline int PagesPerBatch(int S, size_t page_bytes) {
  const int by_bytes = static_cast<int>(kBatchBytes / std::max<size_t>(1, page_bytes));
  return std::max(1, std::min({kMaxBatch, kBatchTokens / S, by_bytes}));
}
}  // namespace quest
#endif

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The pages of one batch: where each starts (row offset into K and V) and how
// many tokens it holds (only a chunk's last page is partial).
struct PageBatch {
  int n = 0;
  int tokens = 0;
  size_t off[kMaxBatch];
  int len[kMaxBatch];
};

// Brings the next batch's K/V blocks into L2 while the current batch is
// computed: selected pages are separate 8 KB runs that the hardware prefetcher
// would find only after their first misses. The prefetches are spread over the
// compute loop, a few lines per step: issued as one burst they fill the miss
// queue and stall the core (measured: 10.5 -> 13+ GB/s on scattered pages).
class Prefetcher {
 public:
  // pages[0..n) each start page_bytes of K block then V block.
  Prefetcher(const char* const* pages, int n, size_t page_bytes, int steps)
      : pages_(pages),
        n_(n),
        page_bytes_(page_bytes),
        step_lines_(std::max<size_t>(1, (n * page_bytes / 64 + steps - 1) / std::max(1, steps))) {
    if (n_ > 0) {
      cur_ = pages_[0];
      end_ = cur_ + page_bytes_;
    }
  }
  HWY_INLINE void Step() { Lines(step_lines_); }
  HWY_INLINE void Rest() { Lines(~size_t{0}); }

 private:
  // The next `lines` lines, a tight loop per page (the state lives in locals:
  // updated through the object per line, it cost ~9% of the in-cache GQA
  // kernel's time).
  HWY_INLINE void Lines(size_t lines) {
    const char* cur = cur_;
    while (lines > 0 && cur != nullptr) {
      const size_t k = std::min(lines, static_cast<size_t>(end_ - cur) / 64);
      for (size_t i = 0; i < k; ++i) __builtin_prefetch(cur + 64 * i, 0, 2);  // prefetcht1: L2
      cur += 64 * k;
      lines -= k;
      if (cur >= end_) {
        if (++page_ < n_) {
          cur = pages_[page_];
          end_ = cur + page_bytes_;
        } else {
          cur = nullptr;
        }
      }
    }
    cur_ = cur;
  }
  const char* const* pages_;
  int n_;
  size_t page_bytes_;
  size_t step_lines_;
  int page_ = 0;
  const char* cur_ = nullptr;  // next line to prefetch; nullptr when done
  const char* end_ = nullptr;  // end of the current page
};

// Logits of kG query heads (rows of q, D floats apart) over the len tokens of
// one page's channel-major K block kt (element (t, i) at i * S + t):
// s[g * s_stride + t] = scale * q_g . k_t. Tokens fill the vector lanes (a
// page of S tokens is S / N vectors; one partly used vector when S < N), and
// each query element is broadcast against one channel of the page's tokens,
// so the sums come out per token with no horizontal reduction (token-major K
// needed one transposed reduction per N (head, token) pairs: as many
// shuffles and adds as FMAs for GQA at head_dim 64). kU chains per head hide
// the FMA latency. A vector may read past the page's tokens (a partial page,
// or S < N: into the next channel, at most into the page's V block, which
// follows the K block); those lanes are never stored. q8 (TK = int8_t):
// kscale[t] is token t's K scale, applied to its logit (a lane of the sum;
// the scales are padded so that the vector stays within the page).
template <int kG, typename TK>
HWY_INLINE void LogitsPage(const float* HWY_RESTRICT q, const TK* HWY_RESTRICT kt,
                           const float* HWY_RESTRICT kscale, int S, int len, int D, float scale,
                           float* HWY_RESTRICT s, int s_stride, Prefetcher& pf) {
  using DF = hn::ScalableTag<float>;
  const DF df;
  const int N = static_cast<int>(hn::Lanes(df));
  constexpr int kU = kG == 1 ? 4 : 2;  // D % 16 == 0: a multiple of kU
  const auto vscale = hn::Set(df, scale);
  HWY_ALIGN float part[hwy::kMaxVectorSize / sizeof(float)];
  for (int t0 = 0; t0 < len; t0 += N) {
    hn::Vec<DF> a[kG][kU];
    for (int g = 0; g < kG; ++g) {
      for (int u = 0; u < kU; ++u) a[g][u] = hn::Zero(df);
    }
    const TK* HWY_RESTRICT col = kt + t0;
    for (int i = 0; i < D; i += kU) {
      if (i % 16 == 0) pf.Step();
      for (int u = 0; u < kU; ++u) {
        const auto k = LoadF32(df, col + static_cast<size_t>(i + u) * S);
        for (int g = 0; g < kG; ++g) {
          a[g][u] = hn::MulAdd(hn::Set(df, q[g * D + i + u]), k, a[g][u]);
        }
      }
    }
    auto vs = vscale;
    if constexpr (std::is_same_v<TK, int8_t>) vs = hn::Mul(vs, hn::LoadU(df, kscale + t0));
    for (int g = 0; g < kG; ++g) {
      auto sum = a[g][0];
      for (int u = 1; u < kU; ++u) sum = hn::Add(sum, a[g][u]);
      sum = hn::Mul(sum, vs);
      float* HWY_RESTRICT sg = s + g * s_stride + t0;
      if (t0 + N <= len) {
        hn::StoreU(sum, df, sg);
      } else {
        hn::Store(sum, df, part);
        std::copy(part, part + (len - t0), sg);
      }
    }
  }
}

// Logits of G query heads over one page: tiles of up to 4 heads, so that each
// K vector is converted once per tile. Only the first tile steps the
// prefetcher (BatchSteps counts its steps).
template <typename TK>
HWY_INLINE void LogitsHeads(const float* HWY_RESTRICT q, int G, const TK* HWY_RESTRICT kt,
                            const float* HWY_RESTRICT kscale, int S, int len, int D, float scale,
                            float* HWY_RESTRICT s, int s_stride, Prefetcher& pf) {
  Prefetcher none(nullptr, 0, 0, 1);
  for (int g = 0; g < G; g += 4) {
    Prefetcher& p = g == 0 ? pf : none;
    const float* qg = q + g * D;
    float* sg = s + g * s_stride;
    switch (std::min(4, G - g)) {
      case 1:
        LogitsPage<1>(qg, kt, kscale, S, len, D, scale, sg, s_stride, p);
        break;
      case 2:
        LogitsPage<2>(qg, kt, kscale, S, len, D, scale, sg, s_stride, p);
        break;
      case 3:
        LogitsPage<3>(qg, kt, kscale, S, len, D, scale, sg, s_stride, p);
        break;
      default:
        LogitsPage<4>(qg, kt, kscale, S, len, D, scale, sg, s_stride, p);
        break;
    }
  }
}

// q8: the K scales of the page whose K block starts at page_k (after its K
// and V blocks); nullptr for f16 / f32, which have none. Its V scales follow
// at + KvScaleStride(S).
template <typename T>
HWY_INLINE const float* PageKScales(const T* page_k, int S, int D) {
  if constexpr (std::is_same_v<T, int8_t>) {
    return reinterpret_cast<const float*>(page_k + 2 * static_cast<size_t>(S) * D);
  } else {
    (void)page_k;
    (void)S;
    (void)D;
    return nullptr;
  }
}

// q8: p[t] *= vscale[t] for the len softmax weights of one page, so that the V
// accumulation reads the int8 rows unscaled (one multiply per token instead of
// one per element). After the softmax update: l sums the unscaled weights.
HWY_INLINE void ScaleWeights(float* HWY_RESTRICT p, const float* HWY_RESTRICT vscale, int len) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  int t = 0;
  for (; t + N <= len; t += N) {
    hn::StoreU(hn::Mul(hn::LoadU(df, p + t), hn::LoadU(df, vscale + t)), df, p + t);
  }
  for (; t < len; ++t) p[t] *= vscale[t];
}

// V rows per prefetcher step in the whole-row AccumulateV.
constexpr int kVRowsPerStep = 4;

// Vectors of a V row that the whole-row AccumulateV keeps in registers for
// head dim kD (0: use the blocked loop).
template <class DF, int kD>
constexpr int WholeRowVecs() {
  constexpr int n = static_cast<int>(hn::MaxLanes(DF()));
  return (kD != 0 && !HWY_HAVE_SCALABLE && kD % n == 0 && kD / n <= 16) ? kD / n : 0;
}

// Prefetcher steps one batch takes: the first query head's (or head tile's)
// logits loop iterations and the V blocks (or rows), so that the next batch's
// lines are spread evenly over them (a leftover burst in Rest() stalls the
// core).
template <class DF>
int BatchSteps(const PageBatch& batch, int D, int G, bool whole_v_rows) {
  const int N = static_cast<int>(hn::Lanes(DF()));
  int steps = G == 1 ? (whole_v_rows ? 0 : D / (4 * N)) : D / (2 * N);
  for (int b = 0; b < batch.n; ++b) {
    const int len = batch.len[b];
    if (G == 1 && whole_v_rows) steps += (len + kVRowsPerStep - 1) / kVRowsPerStep;
    steps += (len + N - 1) / N * (D / 16);  // LogitsPage, first head tile
  }
  return std::max(1, steps);
}

// acc[0..D) = acc * corr + sum_t p[t] * v[t][0..D) over the batch's pages
// (page b's weights at p + b * S), v rows f32 or f16. With kVecs = D / N
// known (the common head dims), all of acc stays in registers and each V row
// is read whole, in address order (which the hardware prefetcher follows;
// docs/DESIGN.md has the measurements); otherwise
// blocks of four vectors stay in registers across all the batch's tokens.
template <int kVecs, typename TV>
HWY_INLINE void AccumulateV(const float* HWY_RESTRICT p, const TV* HWY_RESTRICT v_base,
                            const PageBatch& batch, int S, int D, float corr,
                            float* HWY_RESTRICT acc, Prefetcher& pf) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  const auto vcorr = hn::Set(df, corr);
  if constexpr (kVecs > 0) {
    hn::Vec<decltype(df)> a[kVecs];
    for (int x = 0; x < kVecs; ++x) a[x] = hn::LoadU(df, acc + x * N);
    if (corr != 1.0f) {  // 1 (exactly) while the running max holds: SoftmaxUpdate
      for (int x = 0; x < kVecs; ++x) a[x] = hn::Mul(a[x], vcorr);
    }
    for (int b = 0; b < batch.n; ++b) {
      const TV* HWY_RESTRICT v = v_base + batch.off[b];
      const float* HWY_RESTRICT pb = p + b * S;
      for (int t = 0; t < batch.len[b]; ++t) {
        if (t % kVRowsPerStep == 0) pf.Step();
        const auto pt = hn::Set(df, pb[t]);
        const TV* HWY_RESTRICT vt = v + static_cast<size_t>(t) * D;
        for (int x = 0; x < kVecs; ++x) a[x] = hn::MulAdd(pt, LoadF32(df, vt + x * N), a[x]);
      }
    }
    for (int x = 0; x < kVecs; ++x) hn::StoreU(a[x], df, acc + x * N);
    return;
  }
  int i = 0;
  for (; i + 4 * N <= D; i += 4 * N) {
    pf.Step();
    auto a0 = hn::Mul(hn::LoadU(df, acc + i), vcorr);
    auto a1 = hn::Mul(hn::LoadU(df, acc + i + N), vcorr);
    auto a2 = hn::Mul(hn::LoadU(df, acc + i + 2 * N), vcorr);
    auto a3 = hn::Mul(hn::LoadU(df, acc + i + 3 * N), vcorr);
    for (int b = 0; b < batch.n; ++b) {
      const TV* HWY_RESTRICT v = v_base + batch.off[b] + i;
      const float* HWY_RESTRICT pb = p + b * S;
      for (int t = 0; t < batch.len[b]; ++t) {
        const auto pt = hn::Set(df, pb[t]);
        const TV* HWY_RESTRICT vt = v + static_cast<size_t>(t) * D;
        a0 = hn::MulAdd(pt, LoadF32(df, vt), a0);
        a1 = hn::MulAdd(pt, LoadF32(df, vt + N), a1);
        a2 = hn::MulAdd(pt, LoadF32(df, vt + 2 * N), a2);
        a3 = hn::MulAdd(pt, LoadF32(df, vt + 3 * N), a3);
      }
    }
    hn::StoreU(a0, df, acc + i);
    hn::StoreU(a1, df, acc + i + N);
    hn::StoreU(a2, df, acc + i + 2 * N);
    hn::StoreU(a3, df, acc + i + 3 * N);
  }
  for (; i < D; i += N) {
    auto a0 = hn::Mul(hn::LoadU(df, acc + i), vcorr);
    for (int b = 0; b < batch.n; ++b) {
      const TV* HWY_RESTRICT v = v_base + batch.off[b] + i;
      for (int t = 0; t < batch.len[b]; ++t) {
        a0 = hn::MulAdd(hn::Set(df, p[b * S + t]), LoadF32(df, v + static_cast<size_t>(t) * D), a0);
      }
    }
    hn::StoreU(a0, df, acc + i);
  }
}

// x[i] = exp(x[i] - m) in place; returns the sum.
HWY_INLINE float ExpSubInPlace(float* HWY_RESTRICT x, int n, float m) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  const auto vm = hn::Set(df, m);
  auto sum = hn::Zero(df);
  int i = 0;
  for (; i + N <= n; i += N) {
    const auto e = hn::Exp(df, hn::Sub(hn::LoadU(df, x + i), vm));
    hn::StoreU(e, df, x + i);
    sum = hn::Add(sum, e);
  }
  float s = hn::GetLane(hn::SumOfLanes(df, sum));
  const hn::CappedTag<float, 1> d1;
  for (; i < n; ++i) {
    const float e = hn::GetLane(hn::Exp(d1, hn::Set(d1, x[i] - m)));
    x[i] = e;
    s += e;
  }
  return s;
}

// GQA: acc_g = acc_g * corr[g] + sum_t p_g[t] v_t for GB heads over the
// batch's pages; each V vector is loaded (and converted) once for all GB
// heads. Page b's weights for head g: p + g * p_stride + b * S. One vector
// of V per step, so that each weight feeds a single FMA and the compiler
// folds its broadcast into the FMA as a memory operand (with two vectors per
// step, a vbroadcastss per head and token took a slot of the FP pipes that
// the FMAs and conversions saturate).
template <int GB, typename TV>
HWY_INLINE void AccumulateVTile(const float* HWY_RESTRICT p, int p_stride,
                                const TV* HWY_RESTRICT v_base, const PageBatch& batch, int S, int D,
                                const float* HWY_RESTRICT corr, float* HWY_RESTRICT acc,
                                Prefetcher& pf) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  for (int i = 0; i < D; i += N) {  // D % 16 == 0: whole vectors
    if (i % (2 * N) == 0) pf.Step();
    hn::Vec<decltype(df)> a[GB];
    for (int g = 0; g < GB; ++g) {
      a[g] = hn::LoadU(df, acc + g * D + i);
      if (corr[g] != 1.0f) a[g] = hn::Mul(a[g], hn::Set(df, corr[g]));
    }
    for (int b = 0; b < batch.n; ++b) {
      const TV* HWY_RESTRICT v = v_base + batch.off[b] + i;
      const float* HWY_RESTRICT pb = p + b * S;
      for (int t = 0; t < batch.len[b]; ++t) {
        const auto vt = LoadF32(df, v + static_cast<size_t>(t) * D);
        for (int g = 0; g < GB; ++g) {
          a[g] = hn::MulAdd(hn::Set(df, pb[g * p_stride + t]), vt, a[g]);
        }
      }
    }
    for (int g = 0; g < GB; ++g) hn::StoreU(a[g], df, acc + g * D + i);
  }
}

// rows x D elements of T -> f32 (or a pointer to the rows themselves for f32).
template <typename T>
HWY_INLINE const float* RowsAsF32(const T* HWY_RESTRICT src, int n, float* HWY_RESTRICT tmp) {
  if constexpr (std::is_same_v<T, float>) {
    (void)n;
    (void)tmp;
    return src;
  } else {
    const hn::ScalableTag<float> df;
    const int N = static_cast<int>(hn::Lanes(df));
    for (int i = 0; i < n; i += N) hn::StoreU(LoadF32(df, src + i), df, tmp + i);
    return tmp;
  }
}

// Online-softmax update of one query head with the batch's logits s[0..n):
// s becomes exp(s - m_new); returns the factor that rescales the old state.
HWY_INLINE float SoftmaxUpdate(float* HWY_RESTRICT s, int n, SoftmaxState& state) {
  // Past the first batches the running max mostly holds: then the new max is
  // the old one and the factor exactly 1, so the horizontal max, the scalar
  // exp and the rescale are skipped with the same result, bit for bit
  // (BM_AttendPages in cache, 1 thread, alternating with the code before:
  // one query head +0-6%, four heads x 64 / 128 +2-8%).
  if (!AnyAbove(s, n, state.m)) {
    state.l += ExpSubInPlace(s, n, state.m);
    return 1.0f;
  }
  const float m_new = std::max(state.m, MaxOf(s, n));
  const float corr = std::exp(state.m - m_new);  // 0 on the first batch (m = -inf)
  state.l = state.l * corr + ExpSubInPlace(s, n, m_new);
  state.m = m_new;
  return corr;
}

// kG query heads of one KV head (1, or 4 with GQA), one page per softmax step,
// the heads' output accumulators in registers across the whole chunk instead
// of loaded, rescaled and stored back per batch, and no batch bookkeeping. V
// rows are read whole, in address order, each vector converted once for the
// kG heads. Used where the accumulators fit (kG * kVecs <= 16 vectors) and
// the batched path would take one page per batch (one head) or tiles of
// columns (four heads). One head of 128 (the paper's shape): in cache +3-8%
// (BM_AttendPages), and from DRAM the tighter loop runs ahead into the next
// page's misses: the dense step read 48-59 GB/s (108-112% of the stream
// probe) against 31-39 (79-103%), six runs alternating with the batched
// path. Four heads of 64 (the 1B shape): in cache 5-10% slower than the
// batched column tiles, from DRAM (16 layers at 32K, dense, one process
// alternating the two paths) 32-44 ms per token against 36-46, faster in 7 of
// 8 rounds. kVecs = D / N.
template <typename T, int kG, int kVecs>
HWY_INLINE void AttendPagesResident(const float* HWY_RESTRICT q, const PagedKv& kv, int kv_head,
                                    const int32_t* HWY_RESTRICT pages, int num_pages, int last_len,
                                    float scale, SoftmaxState* HWY_RESTRICT state,
                                    float* HWY_RESTRICT acc, float* raw, size_t raw_stride,
                                    float* HWY_RESTRICT s) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  const int D = kVecs * N;
  const int S = kv.page_size;
  const size_t page_bytes = kv.PageElems() * sizeof(T);
  const T* k_base = static_cast<const T*>(kv.k);
  const T* v_base = static_cast<const T*>(kv.v);
  hn::Vec<decltype(df)> a[kG][kVecs];
  SoftmaxState st[kG];  // locals, so that they stay in registers too
  for (int g = 0; g < kG; ++g) {
    for (int x = 0; x < kVecs; ++x) a[g][x] = hn::LoadU(df, acc + g * D + x * N);
    st[g] = state[g];
  }
  for (int j = 0; j < num_pages; ++j) {
    const size_t off = kv.RowOffset(pages[j], kv_head);
    const int len = j + 1 == num_pages ? last_len : S;
    // The next page into L2 unless it follows this one (AttendChunk).
    const char* next =
        j + 1 < num_pages
            ? reinterpret_cast<const char*>(k_base + kv.RowOffset(pages[j + 1], kv_head))
            : nullptr;
    const bool prefetch =
        next != nullptr && next != reinterpret_cast<const char*>(k_base + off) + page_bytes;
    const int steps = (len + kVRowsPerStep - 1) / kVRowsPerStep + (len + N - 1) / N * (D / 16);
    Prefetcher pf(&next, prefetch ? 1 : 0, page_bytes, steps);
    const float* kscale = PageKScales(k_base + off, S, D);
    LogitsPage<kG>(q, k_base + off, kscale, S, len, D, scale, s, S, pf);
    for (int g = 0; g < kG; ++g) {
      float* sg = s + g * S;
      if (raw != nullptr) {
        std::copy(sg, sg + len, raw + g * raw_stride + static_cast<size_t>(j) * S);
      }
      const float corr = SoftmaxUpdate(sg, len, st[g]);
      if (corr != 1.0f) {
        for (int x = 0; x < kVecs; ++x) a[g][x] = hn::Mul(a[g][x], hn::Set(df, corr));
      }
      if (kscale != nullptr) ScaleWeights(sg, kscale + KvScaleStride(S), len);
    }
    const T* HWY_RESTRICT v = v_base + off;
    for (int t = 0; t < len; ++t) {
      if (t % kVRowsPerStep == 0) pf.Step();
      const T* HWY_RESTRICT vt = v + static_cast<size_t>(t) * D;
      hn::Vec<decltype(df)> p[kG];
      for (int g = 0; g < kG; ++g) p[g] = hn::Set(df, s[g * S + t]);
      for (int x = 0; x < kVecs; ++x) {
        const auto vx = LoadF32(df, vt + x * N);
        for (int g = 0; g < kG; ++g) a[g][x] = hn::MulAdd(p[g], vx, a[g][x]);
      }
    }
    pf.Rest();
  }
  for (int g = 0; g < kG; ++g) {
    for (int x = 0; x < kVecs; ++x) hn::StoreU(a[g][x], df, acc + g * D + x * N);
    state[g] = st[g];
  }
}

// Online softmax over the pages [pages, pages + num_pages) of one KV head for
// G query heads (rows of q), a batch of pages at a time: logits of every head,
// one softmax update per head, then V (for G >= 2 in tiles of up to 4 heads,
// so each V vector is converted once per tile). Updates state[g] and
// acc[g * D ..]. If raw is set, writes each token's scaled logit to
// raw[g * raw_stride + token]. kD: the head dimension when it is one of the
// common ones (0: kv.head_dim), so that the inlined loops unroll with constant
// row offsets instead of spending registers (and moves) on a runtime offset
// per row.
template <typename T, int kD>
void AttendChunk(const float* HWY_RESTRICT q, int G, const PagedKv& kv, int kv_head,
                 const int32_t* HWY_RESTRICT pages, int num_pages, int last_len, float scale,
                 SoftmaxState* HWY_RESTRICT state, float* HWY_RESTRICT acc, float* raw,
                 size_t raw_stride, float* HWY_RESTRICT scratch) {
  const int D = kD != 0 ? kD : kv.head_dim;
  const int S = kv.page_size;
  const size_t page_bytes = kv.PageElems() * sizeof(T);  // K block + V block (+ q8 scales)
  const int B = PagesPerBatch(S, page_bytes);
  const int BS = B * S;
  float* HWY_RESTRICT s = scratch;              // [G][B * S] logits, then weights
  float* HWY_RESTRICT corr = scratch + G * BS;  // [G] softmax rescale factors
  const T* k_base = static_cast<const T*>(kv.k);
  const T* v_base = static_cast<const T*>(kv.v);
  using DF = hn::ScalableTag<float>;
  constexpr int kWholeRowVecs = WholeRowVecs<DF, kD>();
  // The register-resident loop where it applies (AttendPagesResident).
  if constexpr (kWholeRowVecs > 0 && kWholeRowVecs <= 8) {
    if (G == 1 && B == 1) {
      AttendPagesResident<T, 1, kWholeRowVecs>(q, kv, kv_head, pages, num_pages, last_len, scale,
                                               state, acc, raw, raw_stride, s);
      return;
    }
  }
  if constexpr (kWholeRowVecs > 0 && kWholeRowVecs <= 4) {
    if (G == 4) {
      AttendPagesResident<T, 4, kWholeRowVecs>(q, kv, kv_head, pages, num_pages, last_len, scale,
                                               state, acc, raw, raw_stride, s);
      return;
    }
  }
  const char* next[kMaxBatch];
  for (int j0 = 0; j0 < num_pages; j0 += B) {
    PageBatch batch;
    batch.n = std::min(B, num_pages - j0);
    for (int b = 0; b < batch.n; ++b) {
      batch.off[b] = kv.RowOffset(pages[j0 + b], kv_head);
      batch.len[b] = j0 + b + 1 == num_pages ? last_len : S;
      batch.tokens += batch.len[b];
    }
    // Spread the next batch's prefetch over this batch's steps (those of the
    // first query head's logits and V blocks).
    const int num_next = std::min(B, std::max(0, num_pages - j0 - B));
    for (int b = 0; b < num_next; ++b) {
      next[b] = reinterpret_cast<const char*>(k_base + kv.RowOffset(pages[j0 + B + b], kv_head));
    }
    // The next batch goes to L2 only (T1), where it does not evict the
    // current batch from L1 and holds no L1 miss buffers (measured: T0 made
    // Quest's scattered pages 20% slower, and the GQA tiles' dense step at the
    // 1B shape 4.75-4.88 ms against 2.33-3.20 with T1). A batch that
    // continues the current one needs no prefetch where the kernel reads K and
    // V rows in address order (one query head: the hardware prefetcher
    // streams them, and software prefetches on top cost 5-10%); the GQA V
    // tiles read columns across rows, which the hardware prefetcher misses
    // (without any prefetch their dense step was 30-40% slower, measured with
    // token-major K, whose GQA logits also read across rows).
    const bool contiguous =
        num_next > 0 &&
        next[0] == reinterpret_cast<const char*>(k_base + batch.off[batch.n - 1]) + page_bytes;
    const bool hw_streams = contiguous && G == 1;
    Prefetcher pf(next, hw_streams ? 0 : num_next, page_bytes,
                  BatchSteps<DF>(batch, D, G, kWholeRowVecs > 0));

    for (int b = 0; b < batch.n; ++b) {
      const T* k = k_base + batch.off[b];
      LogitsHeads(q, G, k, PageKScales(k, S, D), S, batch.len[b], D, scale, s + b * S, BS, pf);
    }
    for (int g = 0; g < G; ++g) {
      float* sg = s + g * BS;
      if (raw != nullptr) {
        std::copy(sg, sg + batch.tokens, raw + g * raw_stride + static_cast<size_t>(j0) * S);
      }
      corr[g] = SoftmaxUpdate(sg, batch.tokens, state[g]);
      if constexpr (std::is_same_v<T, int8_t>) {
        for (int b = 0; b < batch.n; ++b) {
          const float* vscale = PageKScales(k_base + batch.off[b], S, D) + KvScaleStride(S);
          ScaleWeights(sg + b * S, vscale, batch.len[b]);
        }
      }
    }
    if (G == 1) {
      AccumulateV<kWholeRowVecs>(s, v_base, batch, S, D, corr[0], acc, pf);
    } else {
      for (int g0 = 0; g0 < G; g0 += 4) {
        const float* sg = s + g0 * BS;
        float* ag = acc + g0 * D;
        switch (std::min(4, G - g0)) {
          case 1:
            AccumulateVTile<1>(sg, BS, v_base, batch, S, D, corr + g0, ag, pf);
            break;
          case 2:
            AccumulateVTile<2>(sg, BS, v_base, batch, S, D, corr + g0, ag, pf);
            break;
          case 3:
            AccumulateVTile<3>(sg, BS, v_base, batch, S, D, corr + g0, ag, pf);
            break;
          default:
            AccumulateVTile<4>(sg, BS, v_base, batch, S, D, corr + g0, ag, pf);
            break;
        }
      }
    }
    pf.Rest();
  }
}

void AttendChunkImpl(const float* q, int G, const PagedKv& kv, int kv_head, const int32_t* pages,
                     int num_pages, int last_len, float scale, SoftmaxState* state, float* acc,
                     float* raw, size_t raw_stride, float* scratch) {
  const auto run = [&](auto type_tag, auto dim_tag) {
    using T = decltype(type_tag);
    AttendChunk<T, decltype(dim_tag)::value>(q, G, kv, kv_head, pages, num_pages, last_len, scale,
                                             state, acc, raw, raw_stride, scratch);
  };
  const auto with_dim = [&](auto type_tag) {
    switch (kv.head_dim) {
      case 64:
        return run(type_tag, std::integral_constant<int, 64>());
      case 128:
        return run(type_tag, std::integral_constant<int, 128>());
      case 256:
        return run(type_tag, std::integral_constant<int, 256>());
      default:
        return run(type_tag, std::integral_constant<int, 0>());
    }
  };
  if (kv.type == KvType::kF16) {
    with_dim(uint16_t());
  } else if (kv.type == KvType::kQ8) {
    with_dim(int8_t());
  } else {
    with_dim(float());
  }
}

// Softmax attention of G query heads over n arbitrary token slots of kv_head.
// logits: [G][n] scratch; returns per-head probabilities in logits if asked.
template <typename T>
void AttendSlots(const float* HWY_RESTRICT q, int G, const PagedKv& kv, int kv_head,
                 const int32_t* HWY_RESTRICT slots, int n, float scale, float* HWY_RESTRICT out,
                 float* HWY_RESTRICT logits, float* HWY_RESTRICT row) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  const int D = kv.head_dim;
  const int S = kv.page_size;
  const T* k_base = static_cast<const T*>(kv.k);
  const T* v_base = static_cast<const T*>(kv.v);
  // Logits over runs of consecutive slots within a page (the recent window,
  // kept pages): one LogitsPage call per run, its tokens in vector lanes.
  Prefetcher none(nullptr, 0, 0, 1);
  for (int t = 0; t < n;) {
    const int32_t slot = slots[t];
    int run = 1;
    while (t + run < n && slots[t + run] == slot + run && (slot + run) % S != 0) ++run;
    const T* HWY_RESTRICT kt = k_base + kv.KOffset(slot / S, kv_head, slot % S, 0);
    const float* ks = PageKScales(k_base + kv.RowOffset(slot / S, kv_head), S, D);
    LogitsHeads(q, G, kt, ks == nullptr ? nullptr : ks + slot % S, S, run, D, scale, logits + t,
                n, none);
    t += run;
  }
  for (int g = 0; g < G; ++g) {
    float* lg = logits + g * n;
    const float sum = ExpSubInPlace(lg, n, MaxOf(lg, n));
    for (int t = 0; t < n; ++t) lg[t] /= sum;
  }
  for (int g = 0; g < G; ++g) {
    for (int i = 0; i < D; i += N) hn::StoreU(hn::Zero(df), df, out + g * D + i);
  }
  for (int t = 0; t < n; ++t) {
    const int32_t page = slots[t] / S;
    const float* vf = RowsAsF32(v_base + kv.VOffset(page, kv_head, slots[t] % S, 0), D, row);
    const float* ks = PageKScales(k_base + kv.RowOffset(page, kv_head), S, D);
    const float vscale = ks == nullptr ? 1.0f : ks[KvScaleStride(S) + slots[t] % S];
    for (int g = 0; g < G; ++g) {
      const auto p = hn::Set(df, logits[g * n + t] * vscale);
      float* o = out + g * D;
      for (int i = 0; i < D; i += N) {
        hn::StoreU(hn::MulAdd(p, hn::LoadU(df, vf + i), hn::LoadU(df, o + i)), df, o + i);
      }
    }
  }
}

void AttendSlotsImpl(const float* q, int G, const PagedKv& kv, int kv_head, const int32_t* slots,
                     int n, float scale, float* out, float* logits, float* row) {
  if (kv.type == KvType::kF16) {
    AttendSlots<uint16_t>(q, G, kv, kv_head, slots, n, scale, out, logits, row);
  } else if (kv.type == KvType::kQ8) {
    AttendSlots<int8_t>(q, G, kv, kv_head, slots, n, scale, out, logits, row);
  } else {
    AttendSlots<float>(q, G, kv, kv_head, slots, n, scale, out, logits, row);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quest {

HWY_EXPORT(AttendChunkImpl);
HWY_EXPORT(AttendSlotsImpl);

namespace {

// Which query heads a list serves: shared lists serve the G heads of a KV
// head, per-head lists serve one head.
struct ListHeads {
  int first_head;
  int num_heads;
  int kv_head;
};

ListHeads HeadsOfList(int list, int num_lists, int num_heads, int num_kv_heads) {
  const int G = num_heads / num_kv_heads;
  if (num_lists == num_kv_heads) return {list * G, G, list};
  return {list, 1, list / G};
}

void CheckShapes(int num_heads, const PagedKv& kv, int num_lists) {
  QE_CHECK(kv.num_kv_heads > 0 && num_heads % kv.num_kv_heads == 0, "heads %d kv_heads %d",
           num_heads, kv.num_kv_heads);
  QE_CHECK(kv.head_dim > 0 && kv.head_dim % kHeadDimMultiple == 0, "head_dim %d", kv.head_dim);
  QE_CHECK(num_lists == kv.num_kv_heads || num_lists == num_heads,
           "%d lists for %d heads / %d kv heads", num_lists, num_heads, kv.num_kv_heads);
}

struct Chunk {
  int list;
  int begin;  // into indices
  int end;
};

// Per-chunk softmax states of every list, computed on num_threads threads.
struct ChunkStates {
  std::vector<Chunk> chunks;
  int max_g = 0;
  std::vector<SoftmaxState> states;  // [chunk][max_g]
  std::vector<float> accs;           // [chunk][max_g][head_dim], unnormalised
  std::vector<size_t> raw_offset;    // [num_lists + 1] into raw_logits
  std::vector<float> raw_logits;     // [list][heads of the list][tokens], if asked
};

void RunChunks(const float* q, int num_heads, const PagedKv& kv, const PageList& pages,
               float scale, int num_threads, bool keep_logits, ChunkStates* cs) {
  const int num_lists = pages.num_lists();
  CheckShapes(num_heads, kv, num_lists);
  const int D = kv.head_dim;
  const int S = kv.page_size;
  num_threads = std::max(1, num_threads);

  // Chunks of at least kMinChunk pages, about 8 per thread in all, so that one
  // KV head (Gemma 3) still spreads over every thread, and many heads balance.
  constexpr int kMinChunk = 8;
  const int total = pages.indptr.back();
  const int chunk_pages = std::max(kMinChunk, (total + num_threads * 8 - 1) / (num_threads * 8));
  std::vector<Chunk>& chunks = cs->chunks;
  chunks.clear();
  for (int l = 0; l < num_lists; ++l) {
    for (int b = pages.indptr[l]; b < pages.indptr[l + 1]; b += chunk_pages) {
      chunks.push_back({l, b, std::min(b + chunk_pages, pages.indptr[l + 1])});
    }
  }
  const int max_g = num_heads / kv.num_kv_heads;
  cs->max_g = max_g;
  const int num_chunks = static_cast<int>(chunks.size());
  cs->states.assign(static_cast<size_t>(num_chunks) * max_g, SoftmaxState{});
  cs->accs.assign(static_cast<size_t>(num_chunks) * max_g * D, 0.0f);

  // Logits of every token read, when probabilities are asked for: one block per
  // list, [heads of the list][tokens of the list], normalised after the merge.
  cs->raw_offset.assign(num_lists + 1, 0);
  if (keep_logits) {
    for (int l = 0; l < num_lists; ++l) {
      const ListHeads lh = HeadsOfList(l, num_lists, num_heads, kv.num_kv_heads);
      cs->raw_offset[l + 1] =
          cs->raw_offset[l] + static_cast<size_t>(lh.num_heads) * pages.NumTokens(l, S);
    }
  }
  cs->raw_logits.assign(cs->raw_offset[num_lists], 0.0f);

#pragma omp parallel num_threads(num_threads)
  {
    // AttendChunk's: logits of a batch of pages per head, rescale factors.
    std::vector<float> scratch(
        (PagesPerBatch(S, kv.PageElems() * KvElementBytes(kv.type)) * S + 1) * max_g);
#pragma omp for schedule(dynamic, 1)
    for (int c = 0; c < num_chunks; ++c) {
      const Chunk& ch = chunks[c];
      const ListHeads lh = HeadsOfList(ch.list, num_lists, num_heads, kv.num_kv_heads);
      SoftmaxState* st = &cs->states[static_cast<size_t>(c) * max_g];
      float* acc = &cs->accs[static_cast<size_t>(c) * max_g * D];
      for (int g = 0; g < lh.num_heads; ++g) st[g] = {-std::numeric_limits<float>::infinity(), 0};
      const bool list_end = ch.end == pages.indptr[ch.list + 1];
      const int last_len = list_end ? pages.last_page_len[ch.list] : S;
      float* raw = nullptr;
      const size_t raw_stride = pages.NumTokens(ch.list, S);
      if (keep_logits) {
        raw = cs->raw_logits.data() + cs->raw_offset[ch.list] +
              static_cast<size_t>(ch.begin - pages.indptr[ch.list]) * S;
      }
      HWY_DYNAMIC_DISPATCH(AttendChunkImpl)
      (q + static_cast<size_t>(lh.first_head) * D, lh.num_heads, kv, lh.kv_head,
       pages.indices.data() + ch.begin, ch.end - ch.begin, last_len, scale, st, acc, raw,
       raw_stride, scratch.data());
    }
  }
}

// Merges the chunk states into st: M = max(m, m_c), L = l e^(m - M) +
// sum l_c e^(m_c - M), acc likewise. From the empty state (m = -inf, l = 0,
// acc = 0) this is the plain merge of the chunks, bit for bit.
void MergeChunks(const ChunkStates& cs, int num_lists, int num_heads, int num_kv_heads, int D,
                 AttentionState* st) {
  const int num_chunks = static_cast<int>(cs.chunks.size());
  const int max_g = cs.max_g;
  std::vector<float> new_m(st->m);
  for (int c = 0; c < num_chunks; ++c) {
    const ListHeads lh = HeadsOfList(cs.chunks[c].list, num_lists, num_heads, num_kv_heads);
    for (int g = 0; g < lh.num_heads; ++g) {
      new_m[lh.first_head + g] =
          std::max(new_m[lh.first_head + g], cs.states[static_cast<size_t>(c) * max_g + g].m);
    }
  }
  for (int h = 0; h < num_heads; ++h) {
    if (new_m[h] == st->m[h] || st->m[h] == -std::numeric_limits<float>::infinity()) continue;
    const float w = std::exp(st->m[h] - new_m[h]);
    st->l[h] *= w;
    float* acc = &st->acc[static_cast<size_t>(h) * D];
    for (int i = 0; i < D; ++i) acc[i] *= w;
  }
  st->m = new_m;
  for (int c = 0; c < num_chunks; ++c) {
    const ListHeads lh = HeadsOfList(cs.chunks[c].list, num_lists, num_heads, num_kv_heads);
    for (int g = 0; g < lh.num_heads; ++g) {
      const int h = lh.first_head + g;
      const SoftmaxState& cst = cs.states[static_cast<size_t>(c) * max_g + g];
      const float w = std::exp(cst.m - st->m[h]);
      st->l[h] += cst.l * w;
      const float* acc = &cs.accs[(static_cast<size_t>(c) * max_g + g) * D];
      float* o = &st->acc[static_cast<size_t>(h) * D];
      for (int i = 0; i < D; ++i) o[i] += acc[i] * w;
    }
  }
}

}  // namespace

void AttentionState::Reset(int num_heads, int head_dim) {
  m.assign(num_heads, -std::numeric_limits<float>::infinity());
  l.assign(num_heads, 0.0f);
  acc.assign(static_cast<size_t>(num_heads) * head_dim, 0.0f);
}

void AttendPagesAccumulate(const float* q, int num_heads, const PagedKv& kv, const PageList& pages,
                           float scale, int num_threads, AttentionState* state) {
  ChunkStates cs;
  RunChunks(q, num_heads, kv, pages, scale, num_threads, false, &cs);
  MergeChunks(cs, pages.num_lists(), num_heads, kv.num_kv_heads, kv.head_dim, state);
}

void FinishAttention(const AttentionState& state, int head_dim, float* out) {
  const int num_heads = static_cast<int>(state.l.size());
  for (int h = 0; h < num_heads; ++h) {
    float* o = out + static_cast<size_t>(h) * head_dim;
    const float* acc = &state.acc[static_cast<size_t>(h) * head_dim];
    if (state.l[h] == 0.0f) {  // empty list: output stays zero
      std::fill(o, o + head_dim, 0.0f);
      continue;
    }
    const float inv = 1.0f / state.l[h];
    for (int i = 0; i < head_dim; ++i) o[i] = acc[i] * inv;
  }
}

void AttendPages(const float* q, int num_heads, const PagedKv& kv, const PageList& pages,
                 float scale, int num_threads, float* out, std::vector<std::vector<float>>* probs) {
  ChunkStates cs;
  RunChunks(q, num_heads, kv, pages, scale, num_threads, probs != nullptr, &cs);
  const int num_lists = pages.num_lists();
  const int D = kv.head_dim;
  AttentionState st;
  st.Reset(num_heads, D);
  MergeChunks(cs, num_lists, num_heads, kv.num_kv_heads, D, &st);
  FinishAttention(st, D, out);
  if (probs != nullptr) {
    const int S = kv.page_size;
    probs->assign(num_heads, {});
    for (int l = 0; l < num_lists; ++l) {
      const ListHeads lh = HeadsOfList(l, num_lists, num_heads, kv.num_kv_heads);
      const size_t n = pages.NumTokens(l, S);
      for (int g = 0; g < lh.num_heads; ++g) {
        const int h = lh.first_head + g;
        const float* raw = cs.raw_logits.data() + cs.raw_offset[l] + g * n;
        std::vector<float>& p = (*probs)[h];
        p.resize(n);
        for (size_t t = 0; t < n; ++t) p[t] = std::exp(raw[t] - st.m[h]) / st.l[h];
      }
    }
  }
}

void AttendTokens(const float* q, int num_heads, const PagedKv& kv, const TokenList& tokens,
                  float scale, int num_threads, float* out,
                  std::vector<std::vector<float>>* probs) {
  const int num_lists = tokens.num_lists();
  CheckShapes(num_heads, kv, num_lists);
  const int D = kv.head_dim;
  if (probs != nullptr) probs->assign(num_heads, {});
#pragma omp parallel num_threads(std::max(1, num_threads))
  {
    std::vector<float> logits;
    std::vector<float> row(D);
#pragma omp for schedule(dynamic, 1)
    for (int l = 0; l < num_lists; ++l) {
      const ListHeads lh = HeadsOfList(l, num_lists, num_heads, kv.num_kv_heads);
      const int n = tokens.indptr[l + 1] - tokens.indptr[l];
      float* o = out + static_cast<size_t>(lh.first_head) * D;
      if (n == 0) {
        std::fill(o, o + static_cast<size_t>(lh.num_heads) * D, 0.0f);
        continue;
      }
      logits.resize(static_cast<size_t>(lh.num_heads) * n);
      HWY_DYNAMIC_DISPATCH(AttendSlotsImpl)
      (q + static_cast<size_t>(lh.first_head) * D, lh.num_heads, kv, lh.kv_head,
       tokens.slots.data() + tokens.indptr[l], n, scale, o, logits.data(), row.data());
      if (probs != nullptr) {
        for (int g = 0; g < lh.num_heads; ++g) {
          (*probs)[lh.first_head + g].assign(logits.begin() + g * n, logits.begin() + (g + 1) * n);
        }
      }
    }
  }
}

}  // namespace quest
#endif  // HWY_ONCE
