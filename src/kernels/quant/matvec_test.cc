// MatVec / MatMul equal their scalar references on every compiled target, for
// every weight type, odd row counts, several row lengths, batches and threads;
// the reference dequantizers agree with hand-computed blocks.
#include "src/kernels/quant/matvec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "src/kv/kv_test_util.h"
#include "src/util/f16.h"

namespace quest {
namespace {

const GgmlType kTypes[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16, GgmlType::kQ4_0,
                           GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ8_0,
                           GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K};

void PutHalf(uint8_t* p, float v) {
  const uint16_t h = F32ToF16(v);
  std::memcpy(p, &h, 2);
}

// Random rows: random bytes, with every f16 scale (and plain values) set to a
// finite value in a sane range so that sums stay well conditioned.
std::vector<uint8_t> RandomRows(GgmlType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  const GgmlTypeTraits* t = GetGgmlTypeTraits(static_cast<uint32_t>(type));
  std::vector<uint8_t> w(RowBytes(type, cols) * rows);
  for (uint8_t& b : w) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> u(-1, 1);
  const size_t blocks = w.size() / t->type_size;
  for (size_t i = 0; i < blocks; ++i) {
    uint8_t* b = w.data() + i * t->type_size;
    switch (type) {
      case GgmlType::kF32: {
        const float v = u(rng);
        std::memcpy(b, &v, 4);
        break;
      }
      case GgmlType::kF16:
        PutHalf(b, u(rng));
        break;
      case GgmlType::kBF16: {
        const float v = u(rng);
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        const uint16_t h = bits >> 16;
        std::memcpy(b, &h, 2);
        break;
      }
      case GgmlType::kQ4_1:
      case GgmlType::kQ5_1:
      case GgmlType::kQ4_K:
      case GgmlType::kQ5_K:
        PutHalf(b, 0.05f * u(rng));
        PutHalf(b + 2, 0.05f * u(rng));
        break;
      case GgmlType::kQ6_K:
        PutHalf(b + 208, 0.01f * u(rng));
        break;
      default:  // Q4_0, Q5_0, Q8_0: d first
        PutHalf(b, 0.05f * u(rng));
        break;
    }
  }
  return w;
}

TEST(MatVec, EqualsReferenceForEveryTypeAndTarget) {
  std::mt19937 rng(3);
  for (GgmlType type : kTypes) {
    const GgmlTypeTraits* t = GetGgmlTypeTraits(static_cast<uint32_t>(type));
    for (int64_t rows : {1, 3, 7, 16, 17, 33}) {
      for (int64_t blocks : {1, 2, 7}) {
        const int64_t cols = blocks * std::max<int64_t>(t->block_size, 32);
        const std::vector<uint8_t> w = RandomRows(type, rows, cols, rng);
        const std::vector<float> x = testing::RandomFloats(rng, cols * 17);
        std::vector<float> want(rows * 17);
        MatMulRef(type, w.data(), rows, cols, x.data(), 17, want.data());
        // f32 sums of cols terms: the tolerance scales with sum |w x|.
        std::vector<double> tol(rows * 17);
        std::vector<float> row(cols);
        for (int64_t r = 0; r < rows; ++r) {
          DequantizeRowRef(type, w.data() + r * RowBytes(type, cols), cols, row.data());
          for (int64_t b = 0; b < 17; ++b) {
            double a = 0;
            for (int64_t c = 0; c < cols; ++c) a += std::fabs(row[c] * x[b * cols + c]);
            tol[b * rows + r] = 1e-6 + 1e-5 * a;
          }
        }
        testing::ForEachTarget([&](const char* target) {
          for (int threads : {1, 2}) {
            std::vector<float> got(rows);
            MatVec(type, w.data(), rows, cols, x.data(), got.data(), threads);
            for (int64_t r = 0; r < rows; ++r) {
              ASSERT_NEAR(got[r], want[r], tol[r])
                  << t->name << " " << target << " rows=" << rows << " cols=" << cols;
            }
            for (int64_t batch : {1, 3, 17}) {
              std::vector<float> gotm(rows * batch);
              MatMul(type, w.data(), rows, cols, x.data(), batch, gotm.data(), threads);
              for (int64_t i = 0; i < rows * batch; ++i) {
                ASSERT_NEAR(gotm[i], want[i], tol[i])
                    << t->name << " matmul batch " << batch;
              }
            }
          }
        });
      }
    }
  }
}

// Hand-built blocks with known values, one per format family.
TEST(DequantizeRef, KnownBlocks) {
  std::vector<float> y(256);
  {  // Q8_0: d = 0.5, q = -3, 0, 7, ...
    uint8_t b[34] = {};
    PutHalf(b, 0.5f);
    b[2] = static_cast<uint8_t>(-3);
    b[4] = 7;
    DequantizeRowRef(GgmlType::kQ8_0, b, 32, y.data());
    EXPECT_EQ(y[0], -1.5f);
    EXPECT_EQ(y[1], 0.0f);
    EXPECT_EQ(y[2], 3.5f);
  }
  {  // Q4_0: byte 0 = 0xF1 -> value 0 is (1 - 8) d, value 16 is (15 - 8) d
    uint8_t b[18] = {};
    PutHalf(b, 2.0f);
    b[2] = 0xF1;
    DequantizeRowRef(GgmlType::kQ4_0, b, 32, y.data());
    EXPECT_EQ(y[0], -14.0f);
    EXPECT_EQ(y[16], 14.0f);
    EXPECT_EQ(y[1], -16.0f);
  }
  {  // Q5_0: high bit of value 3 and of value 19 set
    uint8_t b[22] = {};
    PutHalf(b, 1.0f);
    const uint32_t qh = (1u << 3) | (1u << 19);
    std::memcpy(b + 2, &qh, 4);
    b[6 + 3] = 0x21;  // value 3: low nibble 1; value 19: 2
    DequantizeRowRef(GgmlType::kQ5_0, b, 32, y.data());
    EXPECT_EQ(y[3], 1 + 16 - 16);
    EXPECT_EQ(y[19], 2 + 16 - 16);
    EXPECT_EQ(y[0], -16.0f);
  }
  {  // Q4_K: d = 1, dmin = 1, sub-block 0 scale 2 min 3, sub-block 1 scale 5 min 1
    uint8_t b[144] = {};
    PutHalf(b, 1.0f);
    PutHalf(b + 2, 1.0f);
    b[4 + 0] = 2;  // scale j=0
    b[4 + 1] = 5;  // scale j=1
    b[4 + 4] = 3;  // min j=0
    b[4 + 5] = 1;  // min j=1
    b[16] = 0x74;  // value 0: 4, value 32: 7
    DequantizeRowRef(GgmlType::kQ4_K, b, 256, y.data());
    EXPECT_EQ(y[0], 2 * 4 - 3);
    EXPECT_EQ(y[32], 5 * 7 - 1);
    EXPECT_EQ(y[1], -3.0f);
  }
  {  // Q6_K: d = 1, scale[0] = 2; value 0 = (low 5 | high 1 << 4) - 32 = -11
    uint8_t b[210] = {};
    PutHalf(b + 208, 1.0f);
    b[192] = 2;
    b[0] = 5;
    b[128] = 1;
    DequantizeRowRef(GgmlType::kQ6_K, b, 256, y.data());
    EXPECT_EQ(y[0], 2 * (5 + 16 - 32));
  }
}

TEST(CheckWeightType, NamesTypeAndRowLength) {
  EXPECT_TRUE(CheckWeightType(GgmlType::kQ4_K, 512).ok());
  const Status s = CheckWeightType(GgmlType::kQ4_K, 100);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("q4_K"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("100"), std::string::npos);
  EXPECT_FALSE(CheckWeightType(GgmlType::kIQ2_XXS, 256).ok());
}

}  // namespace
}  // namespace quest
