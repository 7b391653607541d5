// Elementwise and per-vector transformer ops: RMSNorm, RoPE, activations, in
// SIMD (Highway, runtime dispatch). Their scalar twins are ref::RmsNorm,
// ref::Rope, ref::SiluMul and ref::GeluMul (reference.h); ops_test.cc compares.
// A 7.5K-token Gemma 3 270M prefill spent ~23% of its time in the scalar
// versions (libm tanh per FFN element, sincos + pow per head and channel).
#pragma once

#include <cstdint>
#include <vector>

namespace quest {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]. out may alias x. The sum of
// squares is accumulated in double, as in the reference.
void RmsNorm(const float* x, const float* w, int n, float eps, float* out);

// gate[i] = act(gate[i]) * up[i], act = SiLU (llama) or tanh-approximated GELU
// (Gemma). GELU is computed as x * sigmoid(2z) with z = sqrt(2/pi) (x + 0.044715
// x^3), which equals 0.5 x (1 + tanh z) and avoids the cancellation of 1 + tanh z
// for negative z; both use Highway's Exp (about 1 ulp).
void SiluMul(float* gate, const float* up, int n);

// agg[j] += softmax(scale * s)[j] for j < n (nothing for n = 0): how per-KV-head
// Quest selection combines the page bounds of a KV head's G query heads
// (softmax-sum). Scalar libm exp made this a third of GQA selection's time.
void AddSoftmax(const float* s, int n, float scale, float* agg);
void GeluMul(float* gate, const float* up, int n);

// The rotation angles of one RoPE configuration: theta_i(pos) = pos * scale *
// base^(-2i/rope_dim) / freq_factors[i], i < rope_dim/2. The powers are computed
// once; Angles() then costs rope_dim/2 sin/cos per position, shared by every
// q and k head of a token (and by every layer with the same base). Angles are
// formed in double exactly as ref::Rope forms them, so cos/sin are bitwise the
// reference's and positions of 131072 and beyond keep their full precision.
class RopeTable {
 public:
  RopeTable() = default;
  // freq_factors: [rope_dim/2] (llama 3), or nullptr. rope_dim is even.
  RopeTable(int rope_dim, bool adjacent_pairs, float base, float scale, const float* freq_factors);

  int rope_dim() const { return rope_dim_; }
  bool adjacent_pairs() const { return adjacent_pairs_; }

  // cos, sin: [rope_dim] each, per channel j in the layout ApplyRope expects:
  // cos[j] = cos(theta_p), sin[j] = -sin(theta_p) for the first channel of
  // pair p and +sin(theta_p) for the second.
  void Angles(int64_t pos, float* cos, float* sin) const;

 private:
  int rope_dim_ = 0;
  bool adjacent_pairs_ = false;
  float scale_ = 1;
  std::vector<double> power_;   // [rope_dim/2] base^(-2i/rope_dim)
  std::vector<float> factors_;  // [rope_dim/2] freq_factors, or empty
};

// Rotates the first rope_dim channels of one head vector in place:
// x[j] = x[j] * cos[j] + x[partner(j)] * sin[j], partner = the other channel of
// j's pair ((2i, 2i+1) if adjacent_pairs, else (i, i + rope_dim/2)). cos, sin
// as RopeTable::Angles writes them. Within one rounding of ref::Rope (FMA).
void ApplyRope(float* x, int rope_dim, bool adjacent_pairs, const float* cos, const float* sin);

}  // namespace quest
