// Q4_K and Q6_K writers: the inverse of the layouts the reference dequantizers
// in src/kernels/quant/quant_reference.cc read.
//
// The fit, per 256-value block: each sub-block's range is covered with no
// clamping. Both block scales are rounded UP to f16 and the 6-bit mins and
// 6/8-bit sub-block scales are rounded UP, so the lowest representable value
// sits at or below the sub-block's minimum and 15 (Q4_K) / 31 (Q6_K) steps
// reach its maximum. A value is then off by at most half its sub-block's step,
// and that step exceeds the exact range / 15 by less than one unit of the
// block scale d (plus, for Q4_K, the min's rounding, under one unit of dmin).
// ggml's quantizers instead search the scale that minimises the weighted
// squared error; this one is simpler and bounded, which is what random
// weights for speed measurements need.
#include "src/model/quantize_k.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "src/util/f16.h"

namespace quest {
namespace {

// The smallest f16 >= v, for 0 <= v <= 65504.
uint16_t F16RoundedUp(float v) {
  uint16_t h = F32ToF16(v);
  if (F16ToF32(h) < v) ++h;  // positive halves: the next bit pattern is the next value
  return h;
}

void PutHalf(uint8_t* p, uint16_t h) { std::memcpy(p, &h, 2); }

// ceil(a / b) as a small integer in [0, hi]; 0 when b is 0 (then a is 0 too).
int CeilRatio(float a, float b, int hi) {
  if (b <= 0) return 0;
  return std::clamp(static_cast<int>(std::ceil(a / b)), 0, hi);
}

}  // namespace

void PackScalesMinsK4(const uint8_t* sc, const uint8_t* m, uint8_t* q) {
  for (int j = 0; j < 4; ++j) {
    q[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    q[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    q[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
  }
}

// Q4_K, 144 bytes: f16 d, f16 dmin, 12 bytes of scales / mins, 128 bytes of
// nibbles; sub-block j (32 values) is d * sc_j * q - dmin * m_j, q in 0..15.
void QuantizeRowQ4_K(const float* x, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / kSuperBlock; ++b, x += kSuperBlock, out += 144) {
    float lo[8], hi[8];  // the offset covers 0 as in ggml: lo <= 0
    float max_neg_lo = 0;
    for (int j = 0; j < 8; ++j) {
      lo[j] = 0;
      hi[j] = x[32 * j];
      for (int i = 0; i < 32; ++i) {
        lo[j] = std::min(lo[j], x[32 * j + i]);
        hi[j] = std::max(hi[j], x[32 * j + i]);
      }
      max_neg_lo = std::max(max_neg_lo, -lo[j]);
    }
    const uint16_t dmin_h = F16RoundedUp(max_neg_lo / 63);
    const float dmin = F16ToF32(dmin_h);
    uint8_t m[8], sc[8];
    float base[8], need[8], max_need = 0;  // base: the lowest value, -dmin * m
    for (int j = 0; j < 8; ++j) {
      m[j] = static_cast<uint8_t>(CeilRatio(-lo[j], dmin, 63));
      base[j] = -dmin * m[j];
      need[j] = (hi[j] - base[j]) / 15;  // the step that reaches the maximum
      max_need = std::max(max_need, need[j]);
    }
    const uint16_t d_h = F16RoundedUp(max_need / 63);
    const float d = F16ToF32(d_h);
    for (int j = 0; j < 8; ++j) sc[j] = static_cast<uint8_t>(CeilRatio(need[j], d, 63));
    PutHalf(out, d_h);
    PutHalf(out + 2, dmin_h);
    PackScalesMinsK4(sc, m, out + 4);
    uint8_t level[kSuperBlock];
    for (int j = 0; j < 8; ++j) {
      const float step = d * sc[j];
      const float inv = step > 0 ? 1 / step : 0;
      for (int i = 0; i < 32; ++i) {
        const int q = static_cast<int>(std::lround((x[32 * j + i] - base[j]) * inv));
        level[32 * j + i] = static_cast<uint8_t>(std::clamp(q, 0, 15));
      }
    }
    // Bytes 32k .. 32k + 31: sub-block 2k in the low nibbles, 2k + 1 in the high.
    uint8_t* qs = out + 16;
    for (int k = 0; k < 4; ++k) {
      for (int l = 0; l < 32; ++l) {
        qs[32 * k + l] = static_cast<uint8_t>(level[64 * k + l] | (level[64 * k + 32 + l] << 4));
      }
    }
  }
}

// Q6_K, 210 bytes: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8
// scales, f16 d; sub-block j (16 values) is d * sc_j * (q - 32), q in 0..63.
// The fit is symmetric: |x| <= 31 steps, so the level 0 (-32) goes unused.
void QuantizeRowQ6_K(const float* x, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / kSuperBlock; ++b, x += kSuperBlock, out += 210) {
    float need[16], max_need = 0;
    for (int j = 0; j < 16; ++j) {
      float amax = 0;
      for (int i = 0; i < 16; ++i) amax = std::max(amax, std::fabs(x[16 * j + i]));
      need[j] = amax / 31;
      max_need = std::max(max_need, need[j]);
    }
    const uint16_t d_h = F16RoundedUp(max_need / 127);
    const float d = F16ToF32(d_h);
    int8_t sc[16];
    uint8_t level[kSuperBlock];
    for (int j = 0; j < 16; ++j) {
      sc[j] = static_cast<int8_t>(CeilRatio(need[j], d, 127));
      const float step = d * sc[j];
      const float inv = step > 0 ? 1 / step : 0;
      for (int i = 0; i < 16; ++i) {
        const int q = static_cast<int>(std::lround(x[16 * j + i] * inv));
        level[16 * j + i] = static_cast<uint8_t>(std::clamp(q, -32, 31) + 32);
      }
    }
    // Each half of 128 values: value l + 32k (k < 4) keeps its low nibble in
    // ql[l + 32 (k & 1)] (low nibble for k < 2, high for k >= 2) and its top 2
    // bits in bits 2k, 2k + 1 of qh[l].
    uint8_t* ql = out;
    uint8_t* qh = out + 128;
    for (int h = 0; h < 2; ++h, ql += 64, qh += 32) {
      const uint8_t* v = level + 128 * h;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((v[l] & 0xF) | ((v[l + 64] & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((v[l + 32] & 0xF) | ((v[l + 96] & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((v[l] >> 4) | ((v[l + 32] >> 4) << 2) |
                                     ((v[l + 64] >> 4) << 4) | ((v[l + 96] >> 4) << 6));
      }
    }
    std::memcpy(out + 192, sc, 16);
    PutHalf(out + 208, d_h);
  }
}

}  // namespace quest
