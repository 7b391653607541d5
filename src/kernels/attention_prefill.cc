// Prefill attention: causal (optionally sliding-window) softmax attention of a
// chunk of consecutive query tokens over their sequence's paged K/V, all the
// chunk's queries of a KV head processed together so each K/V row is
// converted from f16 once per block of queries, not once per query.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "hwy/aligned_allocator.h"
#include "src/kernels/kernels.h"
#include "src/util/check.h"

// foreach_target.h re-includes this file per target: it must come first.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/attention_prefill.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
#include "src/kernels/load-inl.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Keys per block: one online-softmax step, K and V of the block converted to
// f32 (2 x 64 x head_dim floats, 128 KB at head_dim 256: in L2).
constexpr int kKeyBlock = 64;

// 32 vector registers on AVX-512, 16 elsewhere: sizes of the register tiles.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
constexpr int kLogitKeys = 8;  // keys per logits tile (x 2 row vectors)
constexpr int kPvRows = 4;     // rows per P.V tile
constexpr int kPvVecs = 4;     // head_dim vectors per P.V tile
#else
constexpr int kLogitKeys = 6;
constexpr int kPvRows = 6;
constexpr int kPvVecs = 2;
#endif

// Query rows (query x head of a KV head's group) per task, at most: scratch
// of ~280 KB per thread at head_dim 256 (qt and acc 64 KB each, K and V
// blocks 64 KB each), within L2.
constexpr int kTaskRows = 64;

// Per-thread scratch, sized for one task of rp (padded) query rows.
struct Scratch {
  hwy::AlignedFreeUniquePtr<float[]> qt;      // [D][rp] scaled queries, transposed
  hwy::AlignedFreeUniquePtr<float[]> acc;     // [rp][D] unnormalised outputs
  hwy::AlignedFreeUniquePtr<float[]> st;      // [kKeyBlock][rp] logits, then probabilities
  hwy::AlignedFreeUniquePtr<float[]> kt;      // [D][KeyStride()] keys as f32, channel-major
  hwy::AlignedFreeUniquePtr<float[]> vf;      // [kKeyBlock][D] values as f32
  hwy::AlignedFreeUniquePtr<float[]> m;       // [rp] running max
  hwy::AlignedFreeUniquePtr<float[]> l;       // [rp] running sum
  hwy::AlignedFreeUniquePtr<float[]> corr;    // [rp] rescale of acc for this block
  hwy::AlignedFreeUniquePtr<int32_t[]> qpos;  // [rp] position of each row's query
};

// Row stride of Scratch::kt: a key block plus one vector, so that converting
// a run of keys may write a whole vector past the run.
inline size_t KeyStride() { return kKeyBlock + hn::Lanes(DF()); }

Scratch MakeScratch(size_t rp, size_t D) {
  return {hwy::AllocateAligned<float>(D * rp),
          hwy::AllocateAligned<float>(rp * D),
          hwy::AllocateAligned<float>(kKeyBlock * rp),
          hwy::AllocateAligned<float>(D * KeyStride()),
          hwy::AllocateAligned<float>(kKeyBlock * D),
          hwy::AllocateAligned<float>(rp),
          hwy::AllocateAligned<float>(rp),
          hwy::AllocateAligned<float>(rp),
          hwy::AllocateAligned<int32_t>(rp)};
}

// st[j][r] = sum_d kt[d][j] qt[d][r] for j < len, every row vector of rp
// (kt rows ks floats apart): C keys x RV row vectors of accumulators; each key
// value is broadcast, each query vector loaded once per C keys.
template <int C, int RV>
HWY_INLINE void LogitsTile(const float* HWY_RESTRICT kt, size_t ks, const float* HWY_RESTRICT qt,
                           size_t rp, int D, float* HWY_RESTRICT st) {
  const DF df;
  const size_t N = hn::Lanes(df);
  VF a[C][RV];
  for (int c = 0; c < C; ++c) {
    for (int v = 0; v < RV; ++v) a[c][v] = hn::Zero(df);
  }
  for (int d = 0; d < D; ++d) {
    VF qv[RV];
    for (int v = 0; v < RV; ++v) qv[v] = hn::Load(df, qt + d * rp + v * N);
    for (int c = 0; c < C; ++c) {
      const VF kv = hn::Set(df, kt[d * ks + c]);
      for (int v = 0; v < RV; ++v) a[c][v] = hn::MulAdd(kv, qv[v], a[c][v]);
    }
  }
  for (int c = 0; c < C; ++c) {
    for (int v = 0; v < RV; ++v) hn::Store(a[c][v], df, st + c * rp + v * N);
  }
}

template <int RV>
void LogitsRows(const float* HWY_RESTRICT kt, size_t ks, int len, const float* HWY_RESTRICT qt,
                size_t rp, int D, float* HWY_RESTRICT st) {
  int j = 0;
  for (; j + kLogitKeys <= len; j += kLogitKeys) {
    LogitsTile<kLogitKeys, RV>(kt + j, ks, qt, rp, D, st + j * rp);
  }
  for (; j + 4 <= len; j += 4) LogitsTile<4, RV>(kt + j, ks, qt, rp, D, st + j * rp);
  for (; j < len; ++j) LogitsTile<1, RV>(kt + j, ks, qt, rp, D, st + j * rp);
}

// All rows: pairs of row vectors, then a single one.
void Logits(const float* HWY_RESTRICT kt, size_t ks, int len, const float* HWY_RESTRICT qt,
            size_t rp, int D, float* HWY_RESTRICT st) {
  const size_t N = hn::Lanes(DF());
  size_t r = 0;
  for (; r + 2 * N <= rp; r += 2 * N) LogitsRows<2>(kt, ks, len, qt + r, rp, D, st + r);
  if (r < rp) LogitsRows<1>(kt, ks, len, qt + r, rp, D, st + r);
}

// acc[r][..] = acc[r][..] * corr[r] + sum_j st[j][r] vf[j][..] for R rows from
// r0 and every head_dim vector: R rows x V vectors of accumulators.
template <int R, int V>
HWY_INLINE void PvTile(const float* HWY_RESTRICT st, size_t rp, const float* HWY_RESTRICT vf,
                       int len, int D, const float* HWY_RESTRICT corr, float* HWY_RESTRICT acc) {
  const DF df;
  const size_t N = hn::Lanes(df);
  VF a[R][V];
  for (int r = 0; r < R; ++r) {
    const VF c = hn::Set(df, corr[r]);
    for (int v = 0; v < V; ++v) a[r][v] = hn::Mul(hn::Load(df, acc + r * D + v * N), c);
  }
  for (int j = 0; j < len; ++j) {
    VF vv[V];
    for (int v = 0; v < V; ++v) vv[v] = hn::Load(df, vf + j * D + v * N);
    for (int r = 0; r < R; ++r) {
      const VF p = hn::Set(df, st[j * rp + r]);
      for (int v = 0; v < V; ++v) a[r][v] = hn::MulAdd(p, vv[v], a[r][v]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) hn::Store(a[r][v], df, acc + r * D + v * N);
  }
}

template <int R>
void PvRows(const float* HWY_RESTRICT st, size_t rp, const float* HWY_RESTRICT vf, int len, int D,
            const float* HWY_RESTRICT corr, float* HWY_RESTRICT acc) {
  const int N = static_cast<int>(hn::Lanes(DF()));
  int i = 0;
  for (; i + kPvVecs * N <= D; i += kPvVecs * N) {
    PvTile<R, kPvVecs>(st, rp, vf + i, len, D, corr, acc + i);
  }
  for (; i < D; i += N) PvTile<R, 1>(st, rp, vf + i, len, D, corr, acc + i);
}

// Rows [0, rows): kPvRows at a time, then 4, then the rest one by one.
void Pv(const float* HWY_RESTRICT st, size_t rp, int rows, const float* HWY_RESTRICT vf, int len,
        int D, const float* HWY_RESTRICT corr, float* HWY_RESTRICT acc) {
  int r = 0;
  for (; r + kPvRows <= rows; r += kPvRows) {
    PvRows<kPvRows>(st + r, rp, vf, len, D, corr + r, acc + r * D);
  }
  for (; r + 4 <= rows; r += 4) PvRows<4>(st + r, rp, vf, len, D, corr + r, acc + r * D);
  for (; r < rows; ++r) PvRows<1>(st + r, rp, vf, len, D, corr + r, acc + r * D);
}

// SoftmaxBlock where every key of the block is visible to every row.
void SoftmaxVisibleBlock(float* HWY_RESTRICT st, size_t rp, int len, float* HWY_RESTRICT m,
                         float* HWY_RESTRICT l, float* HWY_RESTRICT corr) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const VF neg_inf = hn::Set(df, -std::numeric_limits<float>::infinity());
  const VF lowest = hn::Set(df, -100.0f);
  for (size_t r = 0; r < rp; r += N) {
    VF bmax = neg_inf;
    for (int j = 0; j < len; ++j) bmax = hn::Max(bmax, hn::Load(df, st + j * rp + r));
    const VF m_old = hn::Load(df, m + r);
    const VF m_new = hn::Max(m_old, bmax);  // finite: the block has keys
    const VF c = hn::IfThenZeroElse(hn::Eq(m_old, neg_inf),
                                    hn::Exp(df, hn::Max(hn::Sub(m_old, m_new), lowest)));
    VF sum = hn::Zero(df);
    for (int j = 0; j < len; ++j) {
      const VF p = hn::Exp(df, hn::Max(hn::Sub(hn::Load(df, st + j * rp + r), m_new), lowest));
      hn::Store(p, df, st + j * rp + r);
      sum = hn::Add(sum, p);
    }
    hn::Store(m_new, df, m + r);
    hn::Store(hn::MulAdd(hn::Load(df, l + r), c, sum), df, l + r);
    hn::Store(c, df, corr + r);
  }
}

// Masks the block's logits (key positions k0 + j, j < len) to each row's
// causal window, and turns them into probabilities of the online softmax:
// m, l and corr per row, all vectorised across rows. `masked` false: every
// row sees every key of the block, and the masking is skipped (the same
// probabilities; a fifth of a prefill's attention time at head_dim 64).
void SoftmaxBlock(float* HWY_RESTRICT st, size_t rp, int len, int k0, int window, bool masked,
                  const int32_t* HWY_RESTRICT qpos, float* HWY_RESTRICT m, float* HWY_RESTRICT l,
                  float* HWY_RESTRICT corr) {
  if (!masked) return SoftmaxVisibleBlock(st, rp, len, m, l, corr);
  const DF df;
  const hn::RebindToSigned<DF> di;
  const size_t N = hn::Lanes(df);
  const VF neg_inf = hn::Set(df, -std::numeric_limits<float>::infinity());
  const VF lowest = hn::Set(df, -100.0f);  // exp(-100) == 0 in f32 sums: keeps Exp in range
  for (size_t r = 0; r < rp; r += N) {
    const auto qp = hn::Load(di, qpos + r);
    // Valid keys: qp - window < kp <= qp (window 0: no lower bound).
    const auto lo = window > 0 ? hn::Sub(qp, hn::Set(di, window)) : hn::Set(di, -1);
    VF bmax = neg_inf;
    for (int j = 0; j < len; ++j) {
      const auto kp = hn::Set(di, k0 + j);
      const auto valid = hn::RebindMask(df, hn::And(hn::Not(hn::Gt(kp, qp)), hn::Gt(kp, lo)));
      const VF s = hn::IfThenElse(valid, hn::Load(df, st + j * rp + r), neg_inf);
      hn::Store(s, df, st + j * rp + r);
      bmax = hn::Max(bmax, s);
    }
    const VF m_old = hn::Load(df, m + r);
    const VF m_new = hn::Max(m_old, bmax);
    // Rows with no valid key yet keep m = -inf; subtract 0 there instead.
    const VF m_sub = hn::IfThenZeroElse(hn::Eq(m_new, neg_inf), m_new);
    const VF c = hn::IfThenZeroElse(hn::Eq(m_old, neg_inf),
                                    hn::Exp(df, hn::Max(hn::Sub(m_old, m_sub), lowest)));
    VF sum = hn::Zero(df);
    for (int j = 0; j < len; ++j) {
      const VF s = hn::Load(df, st + j * rp + r);
      const VF p =
          hn::IfThenZeroElse(hn::Eq(s, neg_inf), hn::Exp(df, hn::Max(hn::Sub(s, m_sub), lowest)));
      hn::Store(p, df, st + j * rp + r);
      sum = hn::Add(sum, p);
    }
    hn::Store(m_new, df, m + r);
    hn::Store(hn::MulAdd(hn::Load(df, l + r), c, sum), df, l + r);
    hn::Store(c, df, corr + r);
  }
}

// One stored V row of D elements -> f32 (q8: times the row's scale).
template <typename T>
HWY_INLINE void RowToF32(const T* HWY_RESTRICT src, int D, float row_scale,
                         float* HWY_RESTRICT dst) {
  const DF df;
  const int N = static_cast<int>(hn::Lanes(df));
  if constexpr (std::is_same_v<T, int8_t>) {
    const VF vs = hn::Set(df, row_scale);
    for (int i = 0; i < D; i += N) hn::Store(hn::Mul(LoadF32(df, src + i), vs), df, dst + i);
  } else {
    (void)row_scale;
    for (int i = 0; i < D; i += N) hn::Store(LoadF32(df, src + i), df, dst + i);
  }
}

// Keys [t, t + run) of a page's channel-major K block (element (t, i) at
// i * S + t) -> dst[i * ks + (0..run)], f32, channel-major too: whole vectors
// per channel, no transpose. A vector may read past the run (at most into the
// page's V block, which follows its K block) and write up to one vector past
// it (ks leaves room; the next run overwrites it). q8: kscale is the page's K
// scales (token t's at [t], padded so a vector from any token stays in the
// page), applied per lane.
template <typename T>
HWY_INLINE void KeysToF32(const T* HWY_RESTRICT block, const float* HWY_RESTRICT kscale, int S,
                          int t, int run, int D, float* HWY_RESTRICT dst, size_t ks) {
  const DF df;
  const int N = static_cast<int>(hn::Lanes(df));
  for (int i = 0; i < D; ++i) {
    const T* HWY_RESTRICT src = block + static_cast<size_t>(i) * S + t;
    for (int x = 0; x < run; x += N) {
      VF k = LoadF32(df, src + x);
      if constexpr (std::is_same_v<T, int8_t>) k = hn::Mul(k, hn::LoadU(df, kscale + t + x));
      hn::StoreU(k, df, dst + i * ks + x);
    }
  }
}

// One task: queries [t0, t0 + nt) of the chunk, the G heads of kv_head.
template <typename T>
void AttendTask(const float* HWY_RESTRICT q, int num_heads, int pos0, const PagedKv& kv,
                const int32_t* HWY_RESTRICT pages, int window, float scale, int kv_head, int t0,
                int nt, Scratch& sc, float* HWY_RESTRICT out) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const int D = kv.head_dim;
  const int S = kv.page_size;
  const int G = num_heads / kv.num_kv_heads;
  const int rows = nt * G;
  const size_t rp = hwy::RoundUpTo(static_cast<size_t>(rows), N);
  // Row r = query t0 + r / G, head kv_head * G + r % G. Padding rows repeat
  // the last query's position and have q = 0 (finite logits, discarded).
  for (size_t r = 0; r < rp; ++r) {
    const int t = std::min(static_cast<int>(r), rows - 1) / G;
    sc.qpos[r] = pos0 + t0 + t;
    sc.m[r] = -std::numeric_limits<float>::infinity();
    sc.l[r] = 0.0f;
  }
  for (int r = 0; r < rows; ++r) {
    const float* qr = q + (static_cast<size_t>(t0 + r / G) * num_heads + kv_head * G + r % G) * D;
    for (int d = 0; d < D; ++d) sc.qt[d * rp + r] = qr[d] * scale;
  }
  for (size_t r = rows; r < rp; ++r) {
    for (int d = 0; d < D; ++d) sc.qt[d * rp + r] = 0.0f;
  }
  std::fill(sc.acc.get(), sc.acc.get() + rp * D, 0.0f);

  const int k_end = pos0 + t0 + nt;  // exclusive
  const int k_begin = window > 0 ? std::max(0, pos0 + t0 - window + 1) : 0;
  const T* k_base = static_cast<const T*>(kv.k);
  const T* v_base = static_cast<const T*>(kv.v);
  const size_t ks = KeyStride();
  for (int k0 = k_begin; k0 < k_end; k0 += kKeyBlock) {
    const int len = std::min(kKeyBlock, k_end - k0);
    for (int j = 0; j < len;) {  // runs of keys within a page
      const int p = k0 + j;
      const int t = p % S;
      const int run = std::min(S - t, len - j);
      const size_t off = kv.RowOffset(pages[p / S], kv_head);
      // q8 scales: [KvScaleStride] for K, then as many for V.
      const float* kscale =
          kv.type == KvType::kQ8 ? kv.KScales(pages[p / S], kv_head) : nullptr;
      KeysToF32(k_base + off, kscale, S, t, run, D, sc.kt.get() + j, ks);
      for (int r = 0; r < run; ++r) {
        const float vscale = kscale == nullptr ? 1.0f : kscale[KvScaleStride(S) + t + r];
        RowToF32(v_base + off + static_cast<size_t>(t + r) * D, D, vscale,
                 sc.vf.get() + (j + r) * D);
      }
      j += run;
    }
    Logits(sc.kt.get(), ks, len, sc.qt.get(), rp, D, sc.st.get());
    // Masked where a row's causal window ends or starts inside the block.
    const bool masked = k0 + len - 1 > pos0 + t0 || (window > 0 && k0 <= k_end - 1 - window);
    SoftmaxBlock(sc.st.get(), rp, len, k0, window, masked, sc.qpos.get(), sc.m.get(), sc.l.get(),
                 sc.corr.get());
    Pv(sc.st.get(), rp, rows, sc.vf.get(), len, D, sc.corr.get(), sc.acc.get());
  }
  for (int r = 0; r < rows; ++r) {
    float* o = out + (static_cast<size_t>(t0 + r / G) * num_heads + kv_head * G + r % G) * D;
    const VF inv = hn::Set(df, 1.0f / sc.l[r]);  // l >= 1: each query sees its own key
    for (int d = 0; d < D; d += static_cast<int>(N)) {
      hn::StoreU(hn::Mul(hn::Load(df, sc.acc.get() + r * D + d), inv), df, o + d);
    }
  }
}

void AttendCausalImpl(const float* q, int n, int num_heads, int pos0, const PagedKv& kv,
                      const int32_t* pages, int window, float scale, int num_threads, float* out) {
  const size_t N = hn::Lanes(DF());
  const int G = num_heads / kv.num_kv_heads;
  // Queries per task: kTaskRows rows reuse each converted K/V row enough that
  // the f16 -> f32 conversion is a few % of the task (at 16 rows it was ~25%
  // of a Gemma 3 prefill's attention, AVX2); fewer where the chunk would not
  // give each thread four tasks to balance.
  const int nt = std::max(
      1, std::min(kTaskRows / G, n * kv.num_kv_heads / (4 * std::max(1, num_threads))));
  const int blocks = (n + nt - 1) / nt;
  const int tasks = kv.num_kv_heads * blocks;
  const size_t rp = hwy::RoundUpTo(static_cast<size_t>(nt * G), N);
#pragma omp parallel num_threads(num_threads) if (num_threads > 1 && tasks > 1)
  {
    Scratch sc = MakeScratch(rp, kv.head_dim);
    // Later blocks see more keys: hand them out first.
#pragma omp for schedule(dynamic, 1)
    for (int i = 0; i < tasks; ++i) {
      const int h = i % kv.num_kv_heads;
      const int b = blocks - 1 - i / kv.num_kv_heads;
      const int t0 = b * nt;
      const int cnt = std::min(nt, n - t0);
      if (kv.type == KvType::kF16) {
        AttendTask<uint16_t>(q, num_heads, pos0, kv, pages, window, scale, h, t0, cnt, sc, out);
      } else if (kv.type == KvType::kQ8) {
        AttendTask<int8_t>(q, num_heads, pos0, kv, pages, window, scale, h, t0, cnt, sc, out);
      } else {
        AttendTask<float>(q, num_heads, pos0, kv, pages, window, scale, h, t0, cnt, sc, out);
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quest {

HWY_EXPORT(AttendCausalImpl);

void AttendCausal(const float* q, int n, int num_heads, int pos0, const PagedKv& kv,
                  const int32_t* pages, int window, float scale, int num_threads, float* out) {
  QE_CHECK(n > 0 && pos0 >= 0 && window >= 0, "n %d pos0 %d window %d", n, pos0, window);
  QE_CHECK(kv.num_kv_heads > 0 && num_heads % kv.num_kv_heads == 0, "heads %d kv_heads %d",
           num_heads, kv.num_kv_heads);
  QE_CHECK(kv.head_dim > 0 && kv.head_dim % kHeadDimMultiple == 0, "head_dim %d", kv.head_dim);
  HWY_DYNAMIC_DISPATCH(AttendCausalImpl)
  (q, n, num_heads, pos0, kv, pages, window, scale, std::max(1, num_threads), out);
}

}  // namespace quest
#endif  // HWY_ONCE
