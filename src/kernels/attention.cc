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
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/cache_control.h"
#include "hwy/contrib/math/math-inl.h"
#include "src/kernels/load-inl.h"

#ifndef QUEST_KERNELS_ATTENTION_ONCE_
#define QUEST_KERNELS_ATTENTION_ONCE_
namespace quest {
// Running softmax state of one query head over part of its keys.
struct SoftmaxState {
  float m;  // max logit seen
  float l;  // sum of exp(logit - m)
};
}  // namespace quest
#endif

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Brings the next page's K/V block into cache while the current page is being
// computed: a selected page is a separate 8 KB run that the hardware prefetcher
// would find only after its first misses. The prefetches are spread over the
// compute loop, a few lines per step: issued as one burst they fill the miss
// queue and stall the core (measured: 10.5 -> 13+ GB/s on scattered pages).
class Prefetcher {
 public:
  Prefetcher(const void* p, size_t bytes, int steps)
      : p_(static_cast<const char*>(p)),
        end_(p_ == nullptr ? nullptr : p_ + bytes),
        step_bytes_(p_ == nullptr ? 0 : (bytes / std::max(1, steps) + 63) / 64 * 64) {}
  HWY_INLINE void Step() {
    const char* stop = std::min(end_, p_ + step_bytes_);
    for (; p_ < stop; p_ += 64) hwy::Prefetch(p_);
  }
  HWY_INLINE void Rest() {
    for (; p_ < end_; p_ += 64) hwy::Prefetch(p_);
  }

 private:
  const char* p_;
  const char* end_;
  size_t step_bytes_;
};

// q . k over D elements (D % 16 == 0); k is f32 or f16 (converted in
// registers). Two accumulators hide the FMA latency.
template <typename TK>
HWY_INLINE float Dot(const float* HWY_RESTRICT q, const TK* HWY_RESTRICT k, int D) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  auto s0 = hn::Zero(df);
  auto s1 = hn::Zero(df);
  int i = 0;
  for (; i + 2 * N <= D; i += 2 * N) {
    s0 = hn::MulAdd(hn::LoadU(df, q + i), LoadF32(df, k + i), s0);
    s1 = hn::MulAdd(hn::LoadU(df, q + i + N), LoadF32(df, k + i + N), s1);
  }
  for (; i < D; i += N) s0 = hn::MulAdd(hn::LoadU(df, q + i), LoadF32(df, k + i), s0);
  return hn::GetLane(hn::SumOfLanes(df, hn::Add(s0, s1)));
}

// s[t] = scale * q . k_t for len rows of k: four rows at a time share each
// load of q and give four independent FMA chains.
template <typename TK>
HWY_INLINE void Logits(const float* HWY_RESTRICT q, const TK* HWY_RESTRICT k, int len, int D,
                       float scale, float* HWY_RESTRICT s, Prefetcher& pf) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  int t = 0;
  for (; t + 4 <= len; t += 4) {
    pf.Step();
    const TK* HWY_RESTRICT k0 = k + static_cast<size_t>(t) * D;
    const TK* HWY_RESTRICT k1 = k0 + D;
    const TK* HWY_RESTRICT k2 = k1 + D;
    const TK* HWY_RESTRICT k3 = k2 + D;
    auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
    for (int i = 0; i < D; i += N) {
      const auto qi = hn::LoadU(df, q + i);
      a0 = hn::MulAdd(qi, LoadF32(df, k0 + i), a0);
      a1 = hn::MulAdd(qi, LoadF32(df, k1 + i), a1);
      a2 = hn::MulAdd(qi, LoadF32(df, k2 + i), a2);
      a3 = hn::MulAdd(qi, LoadF32(df, k3 + i), a3);
    }
    s[t] = hn::GetLane(hn::SumOfLanes(df, a0)) * scale;
    s[t + 1] = hn::GetLane(hn::SumOfLanes(df, a1)) * scale;
    s[t + 2] = hn::GetLane(hn::SumOfLanes(df, a2)) * scale;
    s[t + 3] = hn::GetLane(hn::SumOfLanes(df, a3)) * scale;
  }
  for (; t < len; ++t) s[t] = Dot(q, k + static_cast<size_t>(t) * D, D) * scale;
}

// acc[0..D) = acc * corr + sum_t p[t] * v[t][0..D), v rows f32 or f16. Blocks
// of four vectors stay in registers across the page's tokens.
template <typename TV>
HWY_INLINE void AccumulateV(const float* HWY_RESTRICT p, const TV* HWY_RESTRICT v, int len,
                            int D, float corr, float* HWY_RESTRICT acc, Prefetcher& pf) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  const auto vcorr = hn::Set(df, corr);
  int i = 0;
  for (; i + 4 * N <= D; i += 4 * N) {
    pf.Step();
    auto a0 = hn::Mul(hn::LoadU(df, acc + i), vcorr);
    auto a1 = hn::Mul(hn::LoadU(df, acc + i + N), vcorr);
    auto a2 = hn::Mul(hn::LoadU(df, acc + i + 2 * N), vcorr);
    auto a3 = hn::Mul(hn::LoadU(df, acc + i + 3 * N), vcorr);
    for (int t = 0; t < len; ++t) {
      const auto pt = hn::Set(df, p[t]);
      const TV* HWY_RESTRICT vt = v + static_cast<size_t>(t) * D + i;
      a0 = hn::MulAdd(pt, LoadF32(df, vt), a0);
      a1 = hn::MulAdd(pt, LoadF32(df, vt + N), a1);
      a2 = hn::MulAdd(pt, LoadF32(df, vt + 2 * N), a2);
      a3 = hn::MulAdd(pt, LoadF32(df, vt + 3 * N), a3);
    }
    hn::StoreU(a0, df, acc + i);
    hn::StoreU(a1, df, acc + i + N);
    hn::StoreU(a2, df, acc + i + 2 * N);
    hn::StoreU(a3, df, acc + i + 3 * N);
  }
  for (; i < D; i += N) {
    auto a0 = hn::Mul(hn::LoadU(df, acc + i), vcorr);
    for (int t = 0; t < len; ++t) {
      a0 = hn::MulAdd(hn::Set(df, p[t]), LoadF32(df, v + static_cast<size_t>(t) * D + i), a0);
    }
    hn::StoreU(a0, df, acc + i);
  }
}

// Returns max(x[0..n)).
HWY_INLINE float MaxOf(const float* HWY_RESTRICT x, int n) {
  float m = -std::numeric_limits<float>::infinity();
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  int i = 0;
  if (n >= N) {
    auto vm = hn::LoadU(df, x);
    for (i = N; i + N <= n; i += N) vm = hn::Max(vm, hn::LoadU(df, x + i));
    m = hn::GetLane(hn::MaxOfLanes(df, vm));
  }
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
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

// GQA: logits of GB query heads (rows of q) against len keys, two keys at a
// time, so each key vector is loaded (and converted from f16) once for all GB
// heads. s[g * s_stride + t] = scale * q_g . k_t.
template <int GB, typename TK>
HWY_INLINE void LogitsTile(const float* HWY_RESTRICT q, const TK* HWY_RESTRICT k, int len, int D,
                           float scale, float* HWY_RESTRICT s, int s_stride, Prefetcher& pf) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  int t = 0;
  for (; t + 2 <= len; t += 2) {
    pf.Step();
    const TK* HWY_RESTRICT k0 = k + static_cast<size_t>(t) * D;
    const TK* HWY_RESTRICT k1 = k0 + D;
    hn::Vec<decltype(df)> a0[GB], a1[GB];
    for (int g = 0; g < GB; ++g) a0[g] = a1[g] = hn::Zero(df);
    for (int i = 0; i < D; i += N) {
      const auto kv0 = LoadF32(df, k0 + i);
      const auto kv1 = LoadF32(df, k1 + i);
      for (int g = 0; g < GB; ++g) {
        const auto qv = hn::LoadU(df, q + g * D + i);
        a0[g] = hn::MulAdd(qv, kv0, a0[g]);
        a1[g] = hn::MulAdd(qv, kv1, a1[g]);
      }
    }
    for (int g = 0; g < GB; ++g) {
      s[g * s_stride + t] = hn::GetLane(hn::SumOfLanes(df, a0[g])) * scale;
      s[g * s_stride + t + 1] = hn::GetLane(hn::SumOfLanes(df, a1[g])) * scale;
    }
  }
  for (; t < len; ++t) {
    for (int g = 0; g < GB; ++g) {
      s[g * s_stride + t] = Dot(q + g * D, k + static_cast<size_t>(t) * D, D) * scale;
    }
  }
}

// GQA: acc_g = acc_g * corr[g] + sum_t p_g[t] v_t for GB heads; each V vector
// is loaded (and converted) once for all GB heads. p_g = p + g * p_stride.
template <int GB, typename TV>
HWY_INLINE void AccumulateVTile(const float* HWY_RESTRICT p, int p_stride,
                                const TV* HWY_RESTRICT v, int len, int D,
                                const float* HWY_RESTRICT corr, float* HWY_RESTRICT acc,
                                Prefetcher& pf) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  for (int i = 0; i < D; i += 2 * N) {  // D % 16 == 0 and 2N <= 16 on AVX2
    pf.Step();
    const bool two = i + 2 * N <= D;
    hn::Vec<decltype(df)> a0[GB], a1[GB];
    for (int g = 0; g < GB; ++g) {
      const auto c = hn::Set(df, corr[g]);
      a0[g] = hn::Mul(hn::LoadU(df, acc + g * D + i), c);
      a1[g] = two ? hn::Mul(hn::LoadU(df, acc + g * D + i + N), c) : hn::Zero(df);
    }
    for (int t = 0; t < len; ++t) {
      const TV* HWY_RESTRICT vt = v + static_cast<size_t>(t) * D + i;
      const auto v0 = LoadF32(df, vt);
      const auto v1 = two ? LoadF32(df, vt + N) : hn::Zero(df);
      for (int g = 0; g < GB; ++g) {
        const auto pg = hn::Set(df, p[g * p_stride + t]);
        a0[g] = hn::MulAdd(pg, v0, a0[g]);
        a1[g] = hn::MulAdd(pg, v1, a1[g]);
      }
    }
    for (int g = 0; g < GB; ++g) {
      hn::StoreU(a0[g], df, acc + g * D + i);
      if (two) hn::StoreU(a1[g], df, acc + g * D + i + N);
    }
  }
}

// One page for G >= 2 query heads sharing its KV head: logits of all heads,
// their online-softmax updates, then V for all heads, in tiles of up to 4
// heads. s: [G][S] scratch.
template <typename TK, typename TV>
HWY_INLINE void AttendPageGroup(const float* HWY_RESTRICT q, int G, const TK* HWY_RESTRICT k,
                                const TV* HWY_RESTRICT v, int len, int D, int S, float scale,
                                SoftmaxState* HWY_RESTRICT state, float* HWY_RESTRICT acc,
                                float* raw, size_t raw_stride, float* HWY_RESTRICT s,
                                float* HWY_RESTRICT corr, Prefetcher& pf) {
  for (int g0 = 0; g0 < G; g0 += 4) {
    const float* qg = q + g0 * D;
    float* sg = s + g0 * S;
    switch (std::min(4, G - g0)) {
      case 1: LogitsTile<1>(qg, k, len, D, scale, sg, S, pf); break;
      case 2: LogitsTile<2>(qg, k, len, D, scale, sg, S, pf); break;
      case 3: LogitsTile<3>(qg, k, len, D, scale, sg, S, pf); break;
      default: LogitsTile<4>(qg, k, len, D, scale, sg, S, pf); break;
    }
  }
  for (int g = 0; g < G; ++g) {
    float* sg = s + g * S;
    if (raw != nullptr) std::copy(sg, sg + len, raw + g * raw_stride);
    const float m_new = std::max(state[g].m, MaxOf(sg, len));
    corr[g] = std::exp(state[g].m - m_new);  // 0 on the first page (m = -inf)
    state[g].l = state[g].l * corr[g] + ExpSubInPlace(sg, len, m_new);
    state[g].m = m_new;
  }
  for (int g0 = 0; g0 < G; g0 += 4) {
    const float* sg = s + g0 * S;
    float* ag = acc + g0 * D;
    switch (std::min(4, G - g0)) {
      case 1: AccumulateVTile<1>(sg, S, v, len, D, corr + g0, ag, pf); break;
      case 2: AccumulateVTile<2>(sg, S, v, len, D, corr + g0, ag, pf); break;
      case 3: AccumulateVTile<3>(sg, S, v, len, D, corr + g0, ag, pf); break;
      default: AccumulateVTile<4>(sg, S, v, len, D, corr + g0, ag, pf); break;
    }
  }
  pf.Rest();
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

// One page for G query heads: logits, online-softmax update, V accumulation.
// K and V rows are TK / TV: the stored type, or f32 after conversion.
template <typename TK, typename TV>
HWY_INLINE void AttendPage(const float* HWY_RESTRICT q, int G, const TK* HWY_RESTRICT k,
                           const TV* HWY_RESTRICT v, int len, int D, float scale,
                           SoftmaxState* HWY_RESTRICT state, float* HWY_RESTRICT acc, float* raw,
                           size_t raw_stride, float* HWY_RESTRICT s, Prefetcher& pf) {
  for (int g = 0; g < G; ++g) {
    const float* HWY_RESTRICT qg = q + g * D;
    Logits(qg, k, len, D, scale, s, pf);
    if (raw != nullptr) std::copy(s, s + len, raw + g * raw_stride);
    const float m_new = std::max(state[g].m, MaxOf(s, len));
    const float corr = std::exp(state[g].m - m_new);  // 0 on the first page (m = -inf)
    const float psum = ExpSubInPlace(s, len, m_new);
    state[g].l = state[g].l * corr + psum;
    state[g].m = m_new;
    AccumulateV(s, v, len, D, corr, acc + g * D, pf);
  }
  pf.Rest();
}

// Online softmax over the pages [pages, pages + num_pages) of one KV head for
// G query heads (rows of q). Updates state[g] and acc[g * D ..]. If raw is set,
// writes each token's scaled logit to raw[g * raw_stride + token].
template <typename T>
void AttendChunk(const float* HWY_RESTRICT q, int G, const PagedKv& kv, int kv_head,
                 const int32_t* HWY_RESTRICT pages, int num_pages, int last_len, float scale,
                 SoftmaxState* HWY_RESTRICT state, float* HWY_RESTRICT acc, float* raw,
                 size_t raw_stride, float* HWY_RESTRICT scratch) {
  const int D = kv.head_dim;
  const int S = kv.page_size;
  float* HWY_RESTRICT s = scratch;             // [G][S] logits
  float* HWY_RESTRICT corr = scratch + G * S;  // [G] softmax rescale factors
  const T* k_base = static_cast<const T*>(kv.k);
  const T* v_base = static_cast<const T*>(kv.v);
  const size_t block_bytes = static_cast<size_t>(S) * D * sizeof(T);
  const hn::ScalableTag<float> df;
  for (int j = 0; j < num_pages; ++j) {
    const int len = j + 1 == num_pages ? last_len : S;
    const size_t off = kv.RowOffset(pages[j], kv_head);
    // Spread the next page's prefetch over this page's steps (K groups of 4
    // tokens and V blocks of 4 vectors, for the first query head).
    Prefetcher pf(j + 1 < num_pages ? k_base + kv.RowOffset(pages[j + 1], kv_head) : nullptr,
                  2 * block_bytes, len / 4 + D / (4 * static_cast<int>(hn::Lanes(df))));
    float* raw_j = raw == nullptr ? nullptr : raw + static_cast<size_t>(j) * S;
    if (G == 1) {
      AttendPage(q, 1, k_base + off, v_base + off, len, D, scale, state, acc, raw_j, raw_stride, s,
                 pf);
    } else {
      AttendPageGroup(q, G, k_base + off, v_base + off, len, D, S, scale, state, acc, raw_j,
                      raw_stride, s, corr, pf);
    }
  }
}

void AttendChunkImpl(const float* q, int G, const PagedKv& kv, int kv_head, const int32_t* pages,
                     int num_pages, int last_len, float scale, SoftmaxState* state, float* acc,
                     float* raw, size_t raw_stride, float* scratch) {
  if (kv.type == KvType::kF16) {
    AttendChunk<uint16_t>(q, G, kv, kv_head, pages, num_pages, last_len, scale, state, acc, raw,
                          raw_stride, scratch);
  } else {
    AttendChunk<float>(q, G, kv, kv_head, pages, num_pages, last_len, scale, state, acc, raw,
                       raw_stride, scratch);
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
  auto row_offset = [&](int32_t slot) {
    return kv.RowOffset(slot / S, kv_head) + static_cast<size_t>(slot % S) * D;
  };
  for (int t = 0; t < n; ++t) {
    const float* kf = RowsAsF32(k_base + row_offset(slots[t]), D, row);
    for (int g = 0; g < G; ++g) logits[g * n + t] = Dot(q + g * D, kf, D) * scale;
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
    const float* vf = RowsAsF32(v_base + row_offset(slots[t]), D, row);
    for (int g = 0; g < G; ++g) {
      const auto p = hn::Set(df, logits[g * n + t]);
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

}  // namespace

void AttendPages(const float* q, int num_heads, const PagedKv& kv, const PageList& pages,
                 float scale, int num_threads, float* out,
                 std::vector<std::vector<float>>* probs) {
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
  std::vector<Chunk> chunks;
  for (int l = 0; l < num_lists; ++l) {
    for (int b = pages.indptr[l]; b < pages.indptr[l + 1]; b += chunk_pages) {
      chunks.push_back({l, b, std::min(b + chunk_pages, pages.indptr[l + 1])});
    }
  }
  const int max_g = num_heads / kv.num_kv_heads;
  const int num_chunks = static_cast<int>(chunks.size());
  std::vector<SoftmaxState> states(static_cast<size_t>(num_chunks) * max_g);
  std::vector<float> accs(static_cast<size_t>(num_chunks) * max_g * D);

  // Logits of every token read, when probabilities are asked for: one block per
  // list, [heads of the list][tokens of the list], normalised after the merge.
  std::vector<size_t> raw_offset(num_lists + 1, 0);
  if (probs != nullptr) {
    for (int l = 0; l < num_lists; ++l) {
      const ListHeads lh = HeadsOfList(l, num_lists, num_heads, kv.num_kv_heads);
      raw_offset[l + 1] = raw_offset[l] + static_cast<size_t>(lh.num_heads) * pages.NumTokens(l, S);
    }
  }
  std::vector<float> raw_logits(raw_offset[num_lists]);

#pragma omp parallel num_threads(num_threads)
  {
    std::vector<float> scratch((S + 1) * max_g);
#pragma omp for schedule(dynamic, 1)
    for (int c = 0; c < num_chunks; ++c) {
      const Chunk& ch = chunks[c];
      const ListHeads lh = HeadsOfList(ch.list, num_lists, num_heads, kv.num_kv_heads);
      SoftmaxState* st = &states[static_cast<size_t>(c) * max_g];
      float* acc = &accs[static_cast<size_t>(c) * max_g * D];
      for (int g = 0; g < lh.num_heads; ++g) st[g] = {-std::numeric_limits<float>::infinity(), 0};
      const bool list_end = ch.end == pages.indptr[ch.list + 1];
      const int last_len = list_end ? pages.last_page_len[ch.list] : S;
      float* raw = nullptr;
      const size_t raw_stride = pages.NumTokens(ch.list, S);
      if (probs != nullptr) {
        raw = raw_logits.data() + raw_offset[ch.list] +
              static_cast<size_t>(ch.begin - pages.indptr[ch.list]) * S;
      }
      HWY_DYNAMIC_DISPATCH(AttendChunkImpl)
      (q + static_cast<size_t>(lh.first_head) * D, lh.num_heads, kv, lh.kv_head,
       pages.indices.data() + ch.begin, ch.end - ch.begin, last_len, scale, st, acc, raw,
       raw_stride, scratch.data());
    }
  }

  // Merge the chunks of each list: M = max m_c, L = sum l_c e^(m_c - M),
  // out = sum acc_c e^(m_c - M) / L.
  std::vector<float> final_m(num_heads, -std::numeric_limits<float>::infinity());
  std::vector<float> final_l(num_heads, 0.0f);
  std::fill(out, out + static_cast<size_t>(num_heads) * D, 0.0f);
  for (int c = 0; c < num_chunks; ++c) {
    const ListHeads lh = HeadsOfList(chunks[c].list, num_lists, num_heads, kv.num_kv_heads);
    for (int g = 0; g < lh.num_heads; ++g) {
      final_m[lh.first_head + g] =
          std::max(final_m[lh.first_head + g], states[static_cast<size_t>(c) * max_g + g].m);
    }
  }
  for (int c = 0; c < num_chunks; ++c) {
    const ListHeads lh = HeadsOfList(chunks[c].list, num_lists, num_heads, kv.num_kv_heads);
    for (int g = 0; g < lh.num_heads; ++g) {
      const int h = lh.first_head + g;
      const SoftmaxState& st = states[static_cast<size_t>(c) * max_g + g];
      const float w = std::exp(st.m - final_m[h]);
      final_l[h] += st.l * w;
      const float* acc = &accs[(static_cast<size_t>(c) * max_g + g) * D];
      float* o = out + static_cast<size_t>(h) * D;
      for (int i = 0; i < D; ++i) o[i] += acc[i] * w;
    }
  }
  for (int h = 0; h < num_heads; ++h) {
    if (final_l[h] == 0.0f) continue;  // empty list: output stays zero
    const float inv = 1.0f / final_l[h];
    float* o = out + static_cast<size_t>(h) * D;
    for (int i = 0; i < D; ++i) o[i] *= inv;
  }
  if (probs != nullptr) {
    probs->assign(num_heads, {});
    for (int l = 0; l < num_lists; ++l) {
      const ListHeads lh = HeadsOfList(l, num_lists, num_heads, kv.num_kv_heads);
      const size_t n = pages.NumTokens(l, S);
      for (int g = 0; g < lh.num_heads; ++g) {
        const int h = lh.first_head + g;
        const float* raw = raw_logits.data() + raw_offset[l] + g * n;
        std::vector<float>& p = (*probs)[h];
        p.resize(n);
        for (size_t t = 0; t < n; ++t) p[t] = std::exp(raw[t] - final_m[h]) / final_l[h];
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
