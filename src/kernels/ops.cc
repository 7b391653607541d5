// Scalar transformer ops (see ops.h for why they are scalar).
#include "src/kernels/ops.h"

#include <cmath>

namespace quest {

void RmsNorm(const float* x, const float* w, int n, float eps, float* out) {
  double ss = 0;
  for (int i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float inv = static_cast<float>(1.0 / std::sqrt(ss / n + eps));
  for (int i = 0; i < n; ++i) out[i] = x[i] * inv * w[i];
}

void Rope(float* x, int rope_dim, bool adjacent_pairs, int64_t pos, float base, float scale,
          const float* freq_factors) {
  const int half = rope_dim / 2;
  for (int i = 0; i < half; ++i) {
    double theta = static_cast<double>(pos) * scale *
                   std::pow(static_cast<double>(base), -2.0 * i / rope_dim);
    if (freq_factors != nullptr) theta /= freq_factors[i];
    const float c = static_cast<float>(std::cos(theta));
    const float s = static_cast<float>(std::sin(theta));
    const int a = adjacent_pairs ? 2 * i : i;
    const int b = adjacent_pairs ? 2 * i + 1 : i + half;
    const float x0 = x[a];
    const float x1 = x[b];
    x[a] = x0 * c - x1 * s;
    x[b] = x0 * s + x1 * c;
  }
}

void SiluMul(float* gate, const float* up, int n) {
  for (int i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void GeluMul(float* gate, const float* up, int n) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  for (int i = 0; i < n; ++i) {
    const float x = gate[i];
    gate[i] = 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x))) * up[i];
  }
}

}  // namespace quest
