// Quest page scoring: U(p) = sum_i max(q_i * kmax_i, q_i * kmin_i), the upper
// bound of q.k over every key of page p, for several queries sharing a KV head.
// Reads 2 * head_dim metadata elements per page: 1/page_size of the K/V bytes.
#include "src/kernels/kernels.h"
#include "src/util/check.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/quest_score.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "src/kernels/load-inl.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <typename T>
void ScoreT(const float* HWY_RESTRICT q, int num_q, int q_stride, const PagedKv& kv, int kv_head,
            const int32_t* HWY_RESTRICT pages, int num_pages, float* HWY_RESTRICT scores) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  const int D = kv.head_dim;
  const T* kmax_base = static_cast<const T*>(kv.kmax);
  const T* kmin_base = static_cast<const T*>(kv.kmin);
  for (int j = 0; j < num_pages; ++j) {
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
        acc0 = hn::Add(acc0, hn::Max(hn::Mul(q0, LoadF32(df, kmax + i)),
                                     hn::Mul(q0, LoadF32(df, kmin + i))));
        acc1 = hn::Add(acc1, hn::Max(hn::Mul(q1, LoadF32(df, kmax + i + N)),
                                     hn::Mul(q1, LoadF32(df, kmin + i + N))));
      }
      for (; i < D; i += N) {
        const auto q0 = hn::LoadU(df, qg + i);
        acc0 = hn::Add(acc0, hn::Max(hn::Mul(q0, LoadF32(df, kmax + i)),
                                     hn::Mul(q0, LoadF32(df, kmin + i))));
      }
      scores[static_cast<size_t>(g) * num_pages + j] =
          hn::GetLane(hn::SumOfLanes(df, hn::Add(acc0, acc1)));
    }
  }
}

void ScorePagesImpl(const float* q, int num_q, int q_stride, const PagedKv& kv, int kv_head,
                    const int32_t* pages, int num_pages, float* scores) {
  if (kv.type == KvType::kF16) {
    ScoreT<uint16_t>(q, num_q, q_stride, kv, kv_head, pages, num_pages, scores);
  } else {
    ScoreT<float>(q, num_q, q_stride, kv, kv_head, pages, num_pages, scores);
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
  HWY_DYNAMIC_DISPATCH(ScorePagesImpl)(q, num_q, q_stride, kv, kv_head, pages, num_pages, scores);
}

}  // namespace quest
#endif  // HWY_ONCE
