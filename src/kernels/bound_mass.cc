// The certificate's inner pass: the most unnormalised softmax mass each page
// can hold, exp(scale * U - m) per token, from the pages' logit upper bounds.
// SIMD (Highway, runtime dispatch); the scalar twin is ref::ExpOfBounds.
#include <algorithm>

#include "src/kernels/kernels.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/bound_mass.cc"
// clang-format off
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void ExpOfBoundsImpl(const float* HWY_RESTRICT u, int n, float scale, float m,
                     float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  const auto vscale = hn::Set(df, scale);
  const auto vm = hn::Set(df, m);
  // Highway's Exp is valid up to +104; exp(80) already makes the tail share 1
  // in double for any normaliser a context can reach, so clamping there keeps
  // the certificate's answer (the share) unchanged.
  const auto hi = hn::Set(df, kMaxBoundExponent);
  const auto lo = hn::Set(df, -kMaxBoundExponent);
  int i = 0;
  for (; i + N <= n; i += N) {
    auto x = hn::MulSub(vscale, hn::LoadU(df, u + i), vm);
    x = hn::Min(hn::Max(x, lo), hi);
    hn::StoreU(hn::Exp(df, x), df, out + i);
  }
  const hn::CappedTag<float, 1> d1;
  for (; i < n; ++i) {
    const float x = std::min(std::max(scale * u[i] - m, -kMaxBoundExponent), kMaxBoundExponent);
    out[i] = hn::GetLane(hn::Exp(d1, hn::Set(d1, x)));
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quest {

HWY_EXPORT(ExpOfBoundsImpl);

void ExpOfBounds(const float* u, int n, float scale, float m, float* out) {
  HWY_DYNAMIC_DISPATCH(ExpOfBoundsImpl)(u, n, scale, m, out);
}

}  // namespace quest
#endif  // HWY_ONCE
