// Quest page scoring: U(p) = sum_i max(q_i * kmax_i, q_i * kmin_i), the upper
// bound of q.k over every key of page p, for several queries sharing a KV head.
// Reads 2 * head_dim metadata elements per page: 1/page_size of the K/V bytes.
#include <algorithm>
#include <type_traits>

#include "src/kernels/kernels.h"
#include "src/util/check.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/quest_score.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "src/kernels/load-inl.h"
#include "src/kernels/reduce-inl.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Bounds of QT queries (rows of q) on PT pages (QT * PT = lanes) whose
// metadata starts at kmax[p] / kmin[p]: each metadata vector is converted once
// for the QT queries, and the QT * PT sums come out of one transposed
// reduction (lane PT h + p). scores[h * score_stride + p] = U of query h on
// page p.
template <int QT, int PT, typename T>
HWY_INLINE void ScoreTile(const float* HWY_RESTRICT q, int q_stride, const T* const* kmax,
                          const T* const* kmin, int D, float* HWY_RESTRICT scores,
                          int score_stride) {
  using DF = hn::ScalableTag<float>;
  const DF df;
  const int N = static_cast<int>(hn::Lanes(df));
  static_assert(QT * PT == static_cast<int>(TransposeLanes<DF>()), "one lane per (query, page)");
  hn::Vec<DF> acc[QT * PT];
  for (int k = 0; k < QT * PT; ++k) acc[k] = hn::Zero(df);
  // Page by page, so that the metadata is read in address order (a
  // column-wise sweep over 16 pages made DRAM-bound selection 2.5x slower).
  for (int p = 0; p < PT; ++p) {
    for (int i = 0; i < D; i += N) {
      const auto hi = LoadF32(df, kmax[p] + i);
      const auto lo = LoadF32(df, kmin[p] + i);
      for (int h = 0; h < QT; ++h) {
        const auto qv = hn::LoadU(df, q + static_cast<size_t>(h) * q_stride + i);
        acc[PT * h + p] = hn::Add(acc[PT * h + p], hn::Max(hn::Mul(qv, hi), hn::Mul(qv, lo)));
      }
    }
  }
  HWY_ALIGN float r[QT * PT];
  hn::Store(SumLanesTransposed(df, acc), df, r);
  for (int h = 0; h < QT; ++h) {
    for (int p = 0; p < PT; ++p) scores[static_cast<size_t>(h) * score_stride + p] = r[PT * h + p];
  }
}

// Stored bits of kmax / kmin as unsigned lanes of the same width.
template <typename T>
using BitsOf = std::conditional_t<sizeof(T) == 2, uint16_t, uint32_t>;

template <class DF, class V>
HWY_INLINE hn::Vec<DF> BitsToF32(DF df, V bits) {
  if constexpr (sizeof(hn::TFromV<V>) == 2) {
    return hn::PromoteTo(df, hn::BitCast(hn::Rebind<hwy::float16_t, DF>(), bits));
  } else {
    return hn::BitCast(df, bits);
  }
}

// One query on PT pages (PT = lanes). For kmax >= kmin, max(q kmax, q kmin)
// is q kmax where q >= 0 and q kmin where q < 0, so each channel's bound is
// chosen on the stored bits (neg[i]: all ones where q_i < 0) before any
// conversion: one f16 conversion and one FMA per channel instead of two
// conversions, two products and a max. The conversion is what limits the
// in-cache rate (vcvtph2ps zmm issues every other cycle on Zen 4).
template <int PT, typename T>
HWY_INLINE void ScoreTileOne(const float* HWY_RESTRICT q, const BitsOf<T>* HWY_RESTRICT neg,
                             const T* const* kmax, const T* const* kmin, int D,
                             float* HWY_RESTRICT scores) {
  using DF = hn::ScalableTag<float>;
  const DF df;
  const hn::Rebind<BitsOf<T>, DF> du;
  const int N = static_cast<int>(hn::Lanes(df));
  static_assert(PT == static_cast<int>(TransposeLanes<DF>()), "one lane per page");
  hn::Vec<DF> acc[PT];
  for (int k = 0; k < PT; ++k) acc[k] = hn::Zero(df);
  for (int p = 0; p < PT; ++p) {
    const BitsOf<T>* HWY_RESTRICT hi = reinterpret_cast<const BitsOf<T>*>(kmax[p]);
    const BitsOf<T>* HWY_RESTRICT lo = reinterpret_cast<const BitsOf<T>*>(kmin[p]);
    for (int i = 0; i < D; i += N) {
      const auto bits =
          hn::IfVecThenElse(hn::Load(du, neg + i), hn::LoadU(du, lo + i), hn::LoadU(du, hi + i));
      acc[p] = hn::MulAdd(hn::LoadU(df, q + i), BitsToF32(df, bits), acc[p]);
    }
  }
  hn::StoreU(SumLanesTransposed(df, acc), df, scores);
}

// Scores pages [first, last) of the list pages[0, num_pages) into
// scores[g * score_stride + j - first]. The tiles are those of the whole list
// (they start at page 0), so a page's summation order, and its score bit for
// bit, does not depend on the range it is scored in.
template <typename T>
void ScoreT(const float* HWY_RESTRICT q, int num_q, int q_stride, const PagedKv& kv, int kv_head,
            const int32_t* HWY_RESTRICT pages, int num_pages, int first, int last,
            float* HWY_RESTRICT scores, int score_stride) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  const int D = kv.head_dim;
  const T* kmax_base = static_cast<const T*>(kv.kmax);
  const T* kmin_base = static_cast<const T*>(kv.kmin);
  int j = first;
  // Pages in groups, queries in tiles: for GQA (num_q a multiple of QT = N/4)
  // QT queries x 4 pages, for one query N pages. The rest (other query counts,
  // the last pages), one page and query at a time below.
  constexpr int kN = static_cast<int>(TransposeLanes<hn::ScalableTag<float>>());
  constexpr int kMaxSignedDim = 512;  // the largest head_dim a KV cache takes
  // The metadata of the n pages from pages[j] on.
  const auto gather = [&](int n, const T** kmax, const T** kmin) {
    for (int p = 0; p < n; ++p) {
      const size_t off = kv.MetaOffset(pages[j + p], kv_head);
      kmax[p] = kmax_base + off;
      kmin[p] = kmin_base + off;
    }
  };
  // Tiles of PT pages from the one holding `first`; one that crosses the
  // range's ends is scored whole into a local buffer and its pages in range
  // copied out.
  HWY_ALIGN float edge[kN * kN];
  const auto copy_edge = [&](float* dst, int rows, int PT) {
    for (int h = 0; h < rows; ++h) {
      for (int p = std::max(j, first); p < std::min(j + PT, last); ++p) {
        dst[static_cast<size_t>(h) * score_stride + p - first] = edge[h * PT + p - j];
      }
    }
  };
  const auto tiles = [&](auto qt_tag, auto pt_tag) {
    constexpr int QT = decltype(qt_tag)::value, PT = decltype(pt_tag)::value;
    static_assert(QT * PT <= kN * kN, "the edge buffer holds one tile");
    for (j = first - first % PT; j < last && j + PT <= num_pages; j += PT) {
      const T* kmax[PT];
      const T* kmin[PT];
      gather(PT, kmax, kmin);
      const bool inside = j >= first && j + PT <= last;
      for (int g = 0; g < num_q; g += QT) {
        const float* qg = q + static_cast<size_t>(g) * q_stride;
        if (inside) {
          ScoreTile<QT, PT>(qg, q_stride, kmax, kmin, D,
                            scores + static_cast<size_t>(g) * score_stride + j - first,
                            score_stride);
        } else {
          ScoreTile<QT, PT>(qg, q_stride, kmax, kmin, D, edge, PT);
          copy_edge(scores + static_cast<size_t>(g) * score_stride, QT, PT);
        }
      }
    }
  };
  if constexpr (kN >= 8) {
    if (num_q == 1 && D <= kMaxSignedDim) {
      HWY_ALIGN BitsOf<T> neg[kMaxSignedDim];
      for (int i = 0; i < D; ++i) neg[i] = q[i] < 0.0f ? static_cast<BitsOf<T>>(~0u) : 0;
      constexpr int kTile = std::max(kN, 1);  // kN is 0 on SCALAR (never here)
      for (j = first - first % kTile; j < last && j + kN <= num_pages; j += kN) {
        const T* kmax[kN];
        const T* kmin[kN];
        gather(kN, kmax, kmin);
        if (j >= first && j + kN <= last) {
          ScoreTileOne<kN>(q, neg, kmax, kmin, D, scores + j - first);
        } else {
          ScoreTileOne<kN>(q, neg, kmax, kmin, D, edge);
          copy_edge(scores, 1, kN);
        }
      }
    } else if (num_q % (kN / 4) == 0) {
      tiles(std::integral_constant<int, kN / 4>(), std::integral_constant<int, 4>());
    }
  }
  for (j = std::max(j, first); j < last; ++j) {
    const size_t off = kv.MetaOffset(pages[j], kv_head);
    const T* HWY_RESTRICT kmax = kmax_base + off;
    const T* HWY_RESTRICT kmin = kmin_base + off;
    // The metadata of a page is a few hundred bytes: it stays in L1 across the
    // num_q queries, so each query re-reads it rather than keeping num_q
    // accumulators alive.
    for (int g = 0; g < num_q; ++g) {
      const float* HWY_RESTRICT qg = q + static_cast<size_t>(g) * q_stride;
      auto acc0 = hn::Zero(df);
      auto acc1 = hn::Zero(df);
      int i = 0;
      for (; i + 2 * N <= D; i += 2 * N) {
        const auto q0 = hn::LoadU(df, qg + i);
        const auto q1 = hn::LoadU(df, qg + i + N);
        acc0 = hn::Add(
            acc0, hn::Max(hn::Mul(q0, LoadF32(df, kmax + i)), hn::Mul(q0, LoadF32(df, kmin + i))));
        acc1 = hn::Add(acc1, hn::Max(hn::Mul(q1, LoadF32(df, kmax + i + N)),
                                     hn::Mul(q1, LoadF32(df, kmin + i + N))));
      }
      for (; i < D; i += N) {
        const auto q0 = hn::LoadU(df, qg + i);
        acc0 = hn::Add(
            acc0, hn::Max(hn::Mul(q0, LoadF32(df, kmax + i)), hn::Mul(q0, LoadF32(df, kmin + i))));
      }
      scores[static_cast<size_t>(g) * score_stride + j - first] =
          hn::GetLane(hn::SumOfLanes(df, hn::Add(acc0, acc1)));
    }
  }
}

void ScorePagesImpl(const float* q, int num_q, int q_stride, const PagedKv& kv, int kv_head,
                    const int32_t* pages, int num_pages, int first, int last, float* scores,
                    int score_stride) {
  if (KvMetaType(kv.type) == KvType::kF16) {
    ScoreT<uint16_t>(q, num_q, q_stride, kv, kv_head, pages, num_pages, first, last, scores,
                     score_stride);
  } else {
    ScoreT<float>(q, num_q, q_stride, kv, kv_head, pages, num_pages, first, last, scores,
                  score_stride);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quest {

HWY_EXPORT(ScorePagesImpl);

void ScorePages(const float* q, int num_q, int q_stride, const PagedKv& kv, int kv_head,
                const int32_t* pages, int num_pages, float* scores) {
  QE_DCHECK(kv.head_dim % kHeadDimMultiple == 0, "head_dim %d", kv.head_dim);
  HWY_DYNAMIC_DISPATCH(ScorePagesImpl)(q, num_q, q_stride, kv, kv_head, pages, num_pages, 0,
                                       num_pages, scores, num_pages);
}

void ScorePagesRange(const float* q, int num_q, int q_stride, const PagedKv& kv, int kv_head,
                     const int32_t* pages, int num_pages, int first, int count, float* scores) {
  QE_DCHECK(kv.head_dim % kHeadDimMultiple == 0, "head_dim %d", kv.head_dim);
  QE_DCHECK(first >= 0 && count >= 0 && first + count <= num_pages, "range [%d, +%d) of %d", first,
            count, num_pages);
  HWY_DYNAMIC_DISPATCH(ScorePagesImpl)(q, num_q, q_stride, kv, kv_head, pages, num_pages, first,
                                       first + count, scores, count);
}

}  // namespace quest
#endif  // HWY_ONCE
