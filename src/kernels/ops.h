// Elementwise and per-vector transformer ops: RMSNorm, RoPE, activations.
// Plain scalar loops for now: decode time is spent in the weight matvecs and in
// attention, not here (each of these touches d_model floats per token).
#pragma once

#include <cstdint>

namespace quest {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]. out may alias x.
void RmsNorm(const float* x, const float* w, int n, float eps, float* out);

// Rotates the first rope_dim channels of one head vector in place for
// position pos. adjacent_pairs: pairs (2i, 2i+1) (llama GGUFs); otherwise
// (i, i + rope_dim/2) (Gemma, "NeoX"). theta_i = pos * scale * base^(-2i/rope_dim)
// / freq_factors[i] (llama 3 frequency factors; nullptr for none).
void Rope(float* x, int rope_dim, bool adjacent_pairs, int64_t pos, float base, float scale,
          const float* freq_factors);

// gate[i] = act(gate[i]) * up[i], act = SiLU (llama) or tanh-approximated GELU (Gemma).
void SiluMul(float* gate, const float* up, int n);
void GeluMul(float* gate, const float* up, int n);

}  // namespace quest
