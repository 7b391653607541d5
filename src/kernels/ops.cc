// SIMD transformer ops (RMSNorm, SiLU/GELU gating, RoPE) and the RoPE angle
// table. Scalar twins in reference.cc; see ops.h for the numerical choices.
#include "src/kernels/ops.h"

#include <cmath>

#include "src/util/check.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/ops.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// After highway.h (kept in its own block so include sorting leaves the order).
#include "hwy/contrib/math/math-inl.h"
#include "src/kernels/reduce-inl.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void RmsNormImpl(const float* HWY_RESTRICT x, const float* HWY_RESTRICT w, int n, float eps,
                 float* out) {
  // Sum of squares in double: half a float vector promoted per step (the
  // reference's accumulation, so the scale matches it to the last bit almost
  // always). 640 channels are 80 steps: negligible next to the matvecs.
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> dfh;
  const int Nd = static_cast<int>(hn::Lanes(dd));
  auto s0 = hn::Zero(dd);
  auto s1 = hn::Zero(dd);
  int i = 0;
  for (; i + 2 * Nd <= n; i += 2 * Nd) {
    const auto a = hn::PromoteTo(dd, hn::LoadU(dfh, x + i));
    const auto b = hn::PromoteTo(dd, hn::LoadU(dfh, x + i + Nd));
    s0 = hn::MulAdd(a, a, s0);
    s1 = hn::MulAdd(b, b, s1);
  }
  double ss = hn::GetLane(hn::SumOfLanes(dd, hn::Add(s0, s1)));
  for (; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float inv = static_cast<float>(1.0 / std::sqrt(ss / n + eps));

  // out = (x * inv) * w, the reference's order of roundings.
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  const auto vinv = hn::Set(df, inv);
  i = 0;
  for (; i + N <= n; i += N) {
    hn::StoreU(hn::Mul(hn::Mul(hn::LoadU(df, x + i), vinv), hn::LoadU(df, w + i)), df, out + i);
  }
  for (; i < n; ++i) out[i] = x[i] * inv * w[i];
}

// gate * sigmoid(kx) * up: kx = gate gives SiLU. The exponent is clamped to
// 100, inside Exp's valid range (+104) and past float overflow (88.7), so a
// large negative gate gives x / inf = -0 as the reference does.
template <class D, class V>
HWY_INLINE V SigmoidGate(D d, V x, V kx, V up) {
  const V e = hn::Exp(d, hn::Min(hn::Neg(kx), hn::Set(d, 100.0f)));
  return hn::Mul(hn::Div(x, hn::Add(hn::Set(d, 1.0f), e)), up);
}

template <class D, class V>
HWY_INLINE V Gelu(D d, V x, V up) {
  // 2z = 2 sqrt(2/pi) (x + 0.044715 x^3) = x (a + b x^2).
  constexpr float kA = 2.0f * 0.7978845608028654f;
  constexpr float kB = kA * 0.044715f;
  const V kx = hn::Mul(x, hn::MulAdd(hn::Mul(x, x), hn::Set(d, kB), hn::Set(d, kA)));
  return SigmoidGate(d, x, kx, up);
}

template <class D, class V>
HWY_INLINE V Silu(D d, V x, V up) {
  return SigmoidGate(d, x, x, up);
}

// The tail runs the same vector math on one lane, so every element of a row
// gets the same rounding whatever its index.
#define QUEST_GATE_LOOP(ACT)                                     \
  const hn::ScalableTag<float> df;                               \
  const int N = static_cast<int>(hn::Lanes(df));                 \
  int i = 0;                                                     \
  for (; i + N <= n; i += N) {                                   \
    const auto x = hn::LoadU(df, gate + i);                      \
    hn::StoreU(ACT(df, x, hn::LoadU(df, up + i)), df, gate + i); \
  }                                                              \
  const hn::CappedTag<float, 1> d1;                              \
  for (; i < n; ++i) {                                           \
    const auto x = hn::LoadU(d1, gate + i);                      \
    hn::StoreU(ACT(d1, x, hn::LoadU(d1, up + i)), d1, gate + i); \
  }

void SiluMulImpl(float* HWY_RESTRICT gate, const float* HWY_RESTRICT up, int n) {
  QUEST_GATE_LOOP(Silu)
}

void GeluMulImpl(float* HWY_RESTRICT gate, const float* HWY_RESTRICT up, int n) {
  QUEST_GATE_LOOP(Gelu)
}
#undef QUEST_GATE_LOOP

void AddSoftmaxImpl(const float* HWY_RESTRICT s, int n, float scale, float* HWY_RESTRICT agg) {
  if (n <= 0) return;
  const hn::ScalableTag<float> df;
  const hn::CappedTag<float, 1> d1;
  const int N = static_cast<int>(hn::Lanes(df));
  const float m = MaxOf(s, n);
  int i = 0;
  // e_j = exp(scale * s_j - scale * m), computed twice (sum, then add) rather
  // than stored: n is a few thousand pages and the second pass stays in L1.
  const float sm = scale * m;
  auto vsum = hn::Zero(df);
  float tail = 0.0f;
  for (i = 0; i + N <= n; i += N) {
    vsum = hn::Add(
        vsum, hn::Exp(df, hn::MulSub(hn::Set(df, scale), hn::LoadU(df, s + i), hn::Set(df, sm))));
  }
  for (int k = i; k < n; ++k) {
    tail += hn::GetLane(hn::Exp(d1, hn::Set(d1, scale * s[k] - sm)));
  }
  const float inv = 1.0f / (hn::GetLane(hn::SumOfLanes(df, vsum)) + tail);
  const auto vinv = hn::Set(df, inv);
  for (i = 0; i + N <= n; i += N) {
    const auto e =
        hn::Exp(df, hn::MulSub(hn::Set(df, scale), hn::LoadU(df, s + i), hn::Set(df, sm)));
    hn::StoreU(hn::MulAdd(e, vinv, hn::LoadU(df, agg + i)), df, agg + i);
  }
  for (; i < n; ++i) agg[i] += hn::GetLane(hn::Exp(d1, hn::Set(d1, scale * s[i] - sm))) * inv;
}

// x0 * c + x1 * s with one FMA (the compiler fuses the scalar tails too on
// FMA targets): within one product's rounding of the unfused ref::Rope.
void ApplyRopeImpl(float* HWY_RESTRICT x, int rope_dim, bool adjacent_pairs,
                   const float* HWY_RESTRICT cos, const float* HWY_RESTRICT sin) {
  const hn::ScalableTag<float> df;
  const int N = static_cast<int>(hn::Lanes(df));
  int i = 0;
  if (adjacent_pairs) {
    // Pairs are neighbouring lanes: x * cos + Reverse2(x) * sin. N is even on
    // every target but SCALAR, where the pair loop below does all.
    if (N % 2 == 0) {
      for (; i + N <= rope_dim; i += N) {
        const auto v = hn::LoadU(df, x + i);
        hn::StoreU(hn::MulAdd(v, hn::LoadU(df, cos + i),
                              hn::Mul(hn::Reverse2(df, v), hn::LoadU(df, sin + i))),
                   df, x + i);
      }
    }
    for (; i < rope_dim; i += 2) {
      const float x0 = x[i];
      const float x1 = x[i + 1];
      x[i] = x0 * cos[i] + x1 * sin[i];
      x[i + 1] = x1 * cos[i + 1] + x0 * sin[i + 1];
    }
    return;
  }
  const int half = rope_dim / 2;
  for (; i + N <= half; i += N) {
    const auto x0 = hn::LoadU(df, x + i);
    const auto x1 = hn::LoadU(df, x + half + i);
    hn::StoreU(hn::MulAdd(x0, hn::LoadU(df, cos + i), hn::Mul(x1, hn::LoadU(df, sin + i))), df,
               x + i);
    hn::StoreU(
        hn::MulAdd(x1, hn::LoadU(df, cos + half + i), hn::Mul(x0, hn::LoadU(df, sin + half + i))),
        df, x + half + i);
  }
  for (; i < half; ++i) {
    const float x0 = x[i];
    const float x1 = x[half + i];
    x[i] = x0 * cos[i] + x1 * sin[i];
    x[half + i] = x1 * cos[half + i] + x0 * sin[half + i];
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quest {

HWY_EXPORT(RmsNormImpl);
HWY_EXPORT(SiluMulImpl);
HWY_EXPORT(GeluMulImpl);
HWY_EXPORT(AddSoftmaxImpl);
HWY_EXPORT(ApplyRopeImpl);

void RmsNorm(const float* x, const float* w, int n, float eps, float* out) {
  HWY_DYNAMIC_DISPATCH(RmsNormImpl)(x, w, n, eps, out);
}

void SiluMul(float* gate, const float* up, int n) {
  HWY_DYNAMIC_DISPATCH(SiluMulImpl)(gate, up, n);
}

void GeluMul(float* gate, const float* up, int n) {
  HWY_DYNAMIC_DISPATCH(GeluMulImpl)(gate, up, n);
}

void AddSoftmax(const float* s, int n, float scale, float* agg) {
  HWY_DYNAMIC_DISPATCH(AddSoftmaxImpl)(s, n, scale, agg);
}

void ApplyRope(float* x, int rope_dim, bool adjacent_pairs, const float* cos, const float* sin) {
  HWY_DYNAMIC_DISPATCH(ApplyRopeImpl)(x, rope_dim, adjacent_pairs, cos, sin);
}

RopeTable::RopeTable(int rope_dim, bool adjacent_pairs, float base, float scale,
                     const float* freq_factors)
    : rope_dim_(rope_dim), adjacent_pairs_(adjacent_pairs), scale_(scale) {
  QE_CHECK(rope_dim > 0 && rope_dim % 2 == 0, "rope_dim %d must be even and positive", rope_dim);
  const int half = rope_dim / 2;
  power_.resize(half);
  for (int i = 0; i < half; ++i) {
    power_[i] = std::pow(static_cast<double>(base), -2.0 * i / rope_dim);
  }
  if (freq_factors != nullptr) factors_.assign(freq_factors, freq_factors + half);
}

void RopeTable::Angles(int64_t pos, float* cos, float* sin) const {
  const int half = rope_dim_ / 2;
  for (int i = 0; i < half; ++i) {
    // The reference's expression, operation for operation.
    double theta = static_cast<double>(pos) * scale_ * power_[i];
    if (!factors_.empty()) theta /= factors_[i];
    const float c = static_cast<float>(std::cos(theta));
    const float s = static_cast<float>(std::sin(theta));
    const int a = adjacent_pairs_ ? 2 * i : i;
    const int b = adjacent_pairs_ ? 2 * i + 1 : i + half;
    cos[a] = c;
    cos[b] = c;
    sin[a] = -s;
    sin[b] = s;
  }
}

}  // namespace quest
#endif  // HWY_ONCE
