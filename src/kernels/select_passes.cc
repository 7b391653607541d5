// SIMD passes of top-k selection (see select_passes.h). Vectors compare against
// the threshold and, where any lane passes (rare: k of n pages), compress the
// passing lanes in a register and store the whole vector (a compressing store
// to memory is microcoded and slow on Zen 4).
#include "src/kernels/select_passes.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/select_passes.cc"
// clang-format off
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::CappedTag<float, 16>;
using DI = hn::RebindToSigned<DF>;

int CountAboveImpl(const float* HWY_RESTRICT x, int n, float t) {
  const DF d;
  const int N = static_cast<int>(hn::Lanes(d));
  const auto vt = hn::Set(d, t);
  size_t count = 0;
  int i = 0;
  for (; i + N <= n; i += N) count += hn::CountTrue(d, hn::Gt(hn::LoadU(d, x + i), vt));
  for (; i < n; ++i) count += x[i] > t;
  return static_cast<int>(count);
}

int CompactAtLeastImpl(const float* HWY_RESTRICT x, int n, float t, float* HWY_RESTRICT out) {
  const DF d;
  const int N = static_cast<int>(hn::Lanes(d));
  const auto vt = hn::Set(d, t);
  int m = 0;
  int i = 0;
  for (; i + N <= n; i += N) {
    const auto v = hn::LoadU(d, x + i);
    const auto keep = hn::Ge(v, vt);
    if (hn::AllFalse(d, keep)) continue;
    hn::StoreU(hn::Compress(v, keep), d, out + m);
    m += static_cast<int>(hn::CountTrue(d, keep));
  }
  for (; i < n; ++i) {
    out[m] = x[i];
    m += x[i] >= t;
  }
  return m;
}

int IndicesAboveImpl(const float* HWY_RESTRICT x, int n, float t, int* ties, int32_t base,
                     int32_t* HWY_RESTRICT out) {
  const DF d;
  const DI di;
  const int N = static_cast<int>(hn::Lanes(d));
  const auto vt = hn::Set(d, t);
  int m = 0;
  int i = 0;
  for (; i + N <= n; i += N) {
    const auto v = hn::LoadU(d, x + i);
    auto keep = hn::Gt(v, vt);
    const auto eq = hn::Eq(v, vt);
    if (*ties > 0 && !hn::AllFalse(d, eq)) {
      const int n_eq = static_cast<int>(hn::CountTrue(d, eq));
      if (n_eq > *ties) {  // only the first *ties of them: lane by lane (rare)
        for (int j = i; j < i + N; ++j) {
          if (x[j] > t || (x[j] == t && *ties > 0 && (--*ties, true))) out[m++] = base + j;
        }
        continue;
      }
      keep = hn::Or(keep, eq);
      *ties -= n_eq;
    }
    if (hn::AllFalse(d, keep)) continue;
    hn::StoreU(hn::Compress(hn::Iota(di, base + i), hn::RebindMask(di, keep)), di, out + m);
    m += static_cast<int>(hn::CountTrue(d, keep));
  }
  for (; i < n; ++i) {
    if (x[i] > t || (x[i] == t && *ties > 0 && (--*ties, true))) out[m++] = base + i;
  }
  return m;
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quest {

HWY_EXPORT(CountAboveImpl);
HWY_EXPORT(CompactAtLeastImpl);
HWY_EXPORT(IndicesAboveImpl);

int CountAbove(const float* x, int n, float t) {
  return HWY_DYNAMIC_DISPATCH(CountAboveImpl)(x, n, t);
}

int CompactAtLeast(const float* x, int n, float t, float* out) {
  return HWY_DYNAMIC_DISPATCH(CompactAtLeastImpl)(x, n, t, out);
}

int IndicesAbove(const float* x, int n, float t, int* ties, int32_t base, int32_t* out) {
  return HWY_DYNAMIC_DISPATCH(IndicesAboveImpl)(x, n, t, ties, base, out);
}

}  // namespace quest
#endif  // HWY_ONCE
