// The Q4_K / Q6_K writers invert quest's reference dequantizers within half a
// sub-block step plus the rounding of the 6-bit (Q4_K) or 8-bit (Q6_K)
// sub-block scales; the packed Q4_K scales and mins unpack to what was packed.
#include "src/model/quantize_k.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "src/kernels/quant/quant_reference.h"
#include "src/model/quantize.h"
#include "src/util/f16.h"

namespace quest {
namespace {

struct Row {
  std::string name;
  std::vector<float> x;
};

// Odd block counts, and the rows a range fit can get wrong: zeros, constants
// of either sign, one sign only, and sub-blocks 10^6 apart in magnitude.
std::vector<Row> Rows() {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0, 1);
  std::uniform_real_distribution<float> unit(0, 1);
  std::vector<Row> rows;
  for (int blocks : {1, 3, 5}) {
    Row r{"normal x" + std::to_string(blocks), std::vector<float>(256 * blocks)};
    for (float& v : r.x) v = normal(rng);
    rows.push_back(r);
  }
  rows.push_back({"zeros", std::vector<float>(256, 0.0f)});
  rows.push_back({"constant +0.37", std::vector<float>(256, 0.37f)});
  rows.push_back({"constant -2.5", std::vector<float>(256, -2.5f)});
  Row neg{"negative only", std::vector<float>(512)};
  for (float& v : neg.x) v = -0.1f - 3 * unit(rng);
  rows.push_back(neg);
  Row pos{"positive only", std::vector<float>(256)};
  for (float& v : pos.x) v = 5 + unit(rng);
  rows.push_back(pos);
  Row huge{"huge range", std::vector<float>(768)};
  for (size_t i = 0; i < huge.x.size(); ++i) {
    huge.x[i] = normal(rng) * ((i / 32) % 5 == 0 ? 1000.0f : 0.001f);
  }
  rows.push_back(huge);
  Row tiny{"subnormal scales", std::vector<float>(256)};
  for (float& v : tiny.x) v = normal(rng) * 1e-6f;
  rows.push_back(tiny);
  return rows;
}

// A block scale rounded up to f16: at most one f16 unit (relative 2^-10, or
// 2^-24 below the normal range) above the exact value.
float F16Up(float v) { return v * (1 + 0x1p-10f) + 0x1p-24f; }

std::vector<float> RoundTrip(GgmlType type, const std::vector<float>& x) {
  std::vector<uint8_t> q(RowBytes(type, x.size()));
  QuantizeRow(type, x.data(), x.size(), q.data());
  std::vector<float> y(x.size());
  DequantizeRowRef(type, q.data(), x.size(), y.data());
  return y;
}

// Sub-block j of 32: the offset -dmin * m_j covers min(lo_j, 0) with m_j
// rounded up, so the step that reaches hi_j is need_j <= (hi_j - min(lo_j, 0)
// + dmin) / 15; sc_j is rounded up too, so the step is under need_j + d, where
// d <= max need / 63 and dmin <= max(-lo) / 63 (each one f16 unit up). A value
// is then within half a step: |y - x| <= (need_j + d) / 2.
TEST(QuantizeK, Q4_KWithinHalfAStepPlusScaleRounding) {
  for (const Row& r : Rows()) {
    const std::vector<float> y = RoundTrip(GgmlType::kQ4_K, r.x);
    for (size_t b = 0; b < r.x.size(); b += 256) {
      float lo[8], hi[8], max_neg_lo = 0;
      for (int j = 0; j < 8; ++j) {
        const auto [mn, mx] = std::minmax_element(&r.x[b + 32 * j], &r.x[b + 32 * j + 32]);
        lo[j] = std::min(*mn, 0.0f);
        hi[j] = *mx;
        max_neg_lo = std::max(max_neg_lo, -lo[j]);
      }
      const float dmin = F16Up(max_neg_lo / 63);
      float need[8], max_need = 0;
      for (int j = 0; j < 8; ++j) {
        need[j] = (hi[j] - lo[j] + dmin) / 15;
        max_need = std::max(max_need, need[j]);
      }
      const float d = F16Up(max_need / 63);
      for (int j = 0; j < 8; ++j) {
        // f32 arithmetic in the dequantizer: relative 1e-6 of the terms.
        const float eps = 1e-6f * (std::fabs(hi[j]) + 2 * std::fabs(lo[j]) + 63 * dmin);
        const float bound = (need[j] + d) / 2 + eps;
        for (int i = 0; i < 32; ++i) {
          const size_t k = b + 32 * j + i;
          ASSERT_LE(std::fabs(y[k] - r.x[k]), bound) << r.name << " at " << k;
        }
      }
    }
  }
}

// Sub-block j of 16: the symmetric step that reaches max|x| in 31 levels is
// need_j = amax_j / 31; the 8-bit scale is rounded up, so the step is under
// need_j + d with d <= max need / 127 (one f16 unit up).
TEST(QuantizeK, Q6_KWithinHalfAStepPlusScaleRounding) {
  for (const Row& r : Rows()) {
    const std::vector<float> y = RoundTrip(GgmlType::kQ6_K, r.x);
    for (size_t b = 0; b < r.x.size(); b += 256) {
      float need[16], max_need = 0;
      for (int j = 0; j < 16; ++j) {
        float amax = 0;
        for (int i = 0; i < 16; ++i) amax = std::max(amax, std::fabs(r.x[b + 16 * j + i]));
        need[j] = amax / 31;
        max_need = std::max(max_need, need[j]);
      }
      const float d = F16Up(max_need / 127);
      for (int j = 0; j < 16; ++j) {
        const float bound = (need[j] + d) / 2 + 1e-6f * 32 * need[j];
        for (int i = 0; i < 16; ++i) {
          const size_t k = b + 16 * j + i;
          ASSERT_LE(std::fabs(y[k] - r.x[k]), bound) << r.name << " at " << k;
        }
      }
    }
  }
}

// A zero row has zero scales, and comes back exactly.
TEST(QuantizeK, ZerosAreExact) {
  const std::vector<float> zeros(512, 0.0f);
  for (GgmlType t : {GgmlType::kQ4_K, GgmlType::kQ6_K}) {
    for (float v : RoundTrip(t, zeros)) ASSERT_EQ(v, 0.0f);
  }
}

// Every scale / min in 0..63 packed, then unpacked by the reference Q4_K
// dequantizer: with d = dmin = 1, value 0 of sub-block j (level 0) is -m_j and
// value 16 (level 1) is sc_j - m_j.
TEST(QuantizeK, PackedScalesAndMinsUnpackToThemselves) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 64; ++trial) {
    uint8_t sc[8], m[8];
    for (int j = 0; j < 8; ++j) {
      // Cover both ends of the 6-bit range, then random values.
      sc[j] = static_cast<uint8_t>(trial == 0 ? 63 : trial == 1 ? 0 : rng() % 64);
      m[j] = static_cast<uint8_t>(trial == 0 ? 0 : trial == 1 ? 63 : rng() % 64);
    }
    uint8_t block[144] = {};
    const uint16_t one = F32ToF16(1.0f);
    std::memcpy(block, &one, 2);
    std::memcpy(block + 2, &one, 2);
    PackScalesMinsK4(sc, m, block + 4);
    for (int k = 0; k < 4; ++k) {
      for (int l = 16; l < 32; ++l) block[16 + 32 * k + l] = 0x11;  // level 1, both nibbles
    }
    float y[256];
    DequantizeBlockRef(GgmlType::kQ4_K, block, y);
    for (int j = 0; j < 8; ++j) {
      ASSERT_EQ(y[32 * j], -static_cast<float>(m[j])) << "min of sub-block " << j;
      ASSERT_EQ(y[32 * j + 16], static_cast<float>(sc[j] - m[j])) << "scale of sub-block " << j;
    }
  }
}

}  // namespace
}  // namespace quest
