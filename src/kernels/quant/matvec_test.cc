// The weight kernels against their scalar twins, and the scalar twins against
// an independent oracle: DequantizeRow / MatVec / MatMul equal the references
// on every compiled SIMD target, for every weight type, odd row counts, several
// row lengths, batches, threads and misaligned pointers; DequantizeRowRef and
// DequantizeRow equal gguf-py's dequantizers on committed fixtures
// (testdata/make_fixtures.py) and hand-computed blocks.
#include "src/kernels/quant/matvec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "src/kv/kv_test_util.h"
#include "src/util/f16.h"

namespace quest {
namespace {

const GgmlType kTypes[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16, GgmlType::kQ4_0,
                           GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ8_0,
                           GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K};

const GgmlTypeTraits& Traits(GgmlType type) {
  return *GetGgmlTypeTraits(static_cast<uint32_t>(type));
}

void PutHalf(uint8_t* p, float v) {
  const uint16_t h = F32ToF16(v);
  std::memcpy(p, &h, 2);
}

// Random rows: random bytes, with every f16 scale (and plain value) set to a
// finite value in a sane range so that sums stay well conditioned.
std::vector<uint8_t> RandomRows(GgmlType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  const GgmlTypeTraits& t = Traits(type);
  std::vector<uint8_t> w(RowBytes(type, cols) * rows);
  for (uint8_t& b : w) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> u(-1, 1);
  const size_t blocks = w.size() / t.type_size;
  for (size_t i = 0; i < blocks; ++i) {
    uint8_t* b = w.data() + i * t.type_size;
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

// Tolerances, |got - want| <= atol + rtol * |want|. Dequantized values differ
// from the reference by at most a rounding of scale * q + bias (FMA vs two
// roundings): atol is relative to the row's largest value. Dot products are
// f32 sums in a different order than the double reference: atol is relative
// to sum_c |w_c x_c|, the scale of the rounding errors. MatVec over block types
// also rounds x per 32 values (|error| <= dx / 2, dx = max |x| / levels, levels
// = MatVecXLevels: 32767, or 127 for Q4_0): that adds sum_c |w_c| dx_c / 2 to
// atol, an exact bound.
constexpr double kDequantRtol = 1e-6, kDequantAtolPerMax = 1e-6;
constexpr double kDotRtol = 1e-5, kDotAtolPerAbsSum = 1e-5;

void ExpectRowNear(const float* got, const float* want, int64_t n, const std::string& what) {
  double max_abs = 0;
  for (int64_t i = 0; i < n; ++i) max_abs = std::max(max_abs, std::fabs(double{want[i]}));
  for (int64_t i = 0; i < n; ++i) {
    const double tol = kDequantAtolPerMax * max_abs + kDequantRtol * std::fabs(want[i]);
    ASSERT_LE(std::fabs(double{got[i]} - want[i]), tol)
        << what << " value " << i << ": got " << got[i] << " want " << want[i];
  }
}

// Reference products and their per-output tolerance for a batch of x rows.
struct Expected {
  std::vector<float> y;     // [batch, rows]
  std::vector<double> tol;  // [batch, rows]
};

Expected ExpectedProducts(GgmlType type, const uint8_t* w, int64_t rows, int64_t cols,
                          const float* x, int64_t batch, int x_levels) {
  Expected e{std::vector<float>(rows * batch), std::vector<double>(rows * batch)};
  MatMulRef(type, w, rows, cols, x, batch, e.y.data());
  // Half the step of the rounded x, per value.
  std::vector<double> half_step(cols * batch, 0.0);
  if (x_levels > 0) {
    for (int64_t c0 = 0; c0 < cols * batch; c0 += 32) {
      double m = 0;
      for (int64_t c = c0; c < c0 + 32; ++c) m = std::max(m, std::fabs(double{x[c]}));
      for (int64_t c = c0; c < c0 + 32; ++c) half_step[c] = 0.5 * 1.001 * m / x_levels;
    }
  }
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    DequantizeRowRef(type, w + r * RowBytes(type, cols), cols, row.data());
    for (int64_t b = 0; b < batch; ++b) {
      double abs_sum = 0, x_error = 0;
      for (int64_t c = 0; c < cols; ++c) {
        abs_sum += std::fabs(double{row[c]} * x[b * cols + c]);
        x_error += std::fabs(double{row[c]}) * half_step[b * cols + c];
      }
      const int64_t i = b * rows + r;
      e.tol[i] = kDotAtolPerAbsSum * abs_sum + x_error + kDotRtol * std::fabs(e.y[i]);
    }
  }
  return e;
}

// Row lengths per type: one block, two, seven, and a model-sized row.
std::vector<int64_t> ColsFor(GgmlType type) {
  const int64_t block = Traits(type).block_size;
  if (block == 1) return {1, 16, 33, 4099};  // plain types: any length, tails too
  return {block, 2 * block, 7 * block, 11 * block, 17 * block, 4096};
}

TEST(MatVec, EqualsReferenceForEveryTypeShapeAndTarget) {
  std::mt19937 rng(3);
  for (GgmlType type : kTypes) {
    for (int64_t cols : ColsFor(type)) {
      for (int64_t rows : {1, 3, 7, 16, 17, 33}) {
        if (cols >= 4096 && rows != 3 && rows != 33) continue;  // keep the suite fast
        // Weights 1 byte off alignment, x 1 float off.
        std::vector<uint8_t> wbuf(RowBytes(type, cols) * rows + 1);
        const std::vector<uint8_t> w = RandomRows(type, rows, cols, rng);
        std::memcpy(wbuf.data() + 1, w.data(), w.size());
        std::vector<float> xbuf = testing::RandomFloats(rng, cols + 1);
        const float* x = xbuf.data() + 1;
        const Expected e = ExpectedProducts(type, w.data(), rows, cols, x, 1, MatVecXLevels(type));
        testing::ForEachTarget([&](const char* target) {
          for (int threads : {1, 2}) {
            std::vector<float> got(rows);
            MatVec(type, wbuf.data() + 1, rows, cols, x, got.data(), threads);
            for (int64_t r = 0; r < rows; ++r) {
              ASSERT_LE(std::fabs(double{got[r]} - e.y[r]), e.tol[r])
                  << Traits(type).name << " " << target << " rows=" << rows << " cols=" << cols
                  << " threads=" << threads << " row " << r << " got " << got[r] << " want "
                  << e.y[r];
            }
          }
        });
      }
    }
  }
}

// x with spread magnitudes (blocks' steps differ) and one block all zero, and
// the same x rounded as MatVec rounds it for Q4_0 (i8 per 32 values).
struct RoundedX {
  std::vector<float> x, rounded;
};
RoundedX XForQ4_0(int64_t cols, std::mt19937& rng) {
  RoundedX r{testing::RandomFloats(rng, cols), std::vector<float>(cols)};
  for (int64_t c = 0; c < cols; ++c) r.x[c] *= std::ldexp(1.0f, static_cast<int>(c / 32 % 7) - 3);
  if (cols >= 64) std::fill(r.x.begin() + 32, r.x.begin() + 64, 0.0f);
  for (int64_t c0 = 0; c0 < cols; c0 += 32) {
    float m = 0;
    for (int64_t c = c0; c < c0 + 32; ++c) m = std::max(m, std::fabs(r.x[c]));
    const float inv = m > 0 ? 127.0f / m : 0.0f;
    for (int64_t c = c0; c < c0 + 32; ++c)
      r.rounded[c] = std::nearbyint(r.x[c] * inv) * (m / 127.0f);
  }
  return r;
}

// matvec(got, threads) on every compiled target and 1 or 2 threads is
// within e.tol of e.y, row by row.
template <class F>
void ExpectOnEveryTarget(const Expected& e, int64_t rows, int64_t cols, const F& matvec) {
  testing::ForEachTarget([&](const char* target) {
    for (int threads : {1, 2}) {
      std::vector<float> got(rows);
      matvec(got.data(), threads);
      for (int64_t r = 0; r < rows; ++r) {
        ASSERT_LE(std::fabs(double{got[r]} - e.y[r]), e.tol[r])
            << target << " rows=" << rows << " cols=" << cols << " threads=" << threads << " row "
            << r << " got " << got[r] << " want " << e.y[r];
      }
    }
  });
}

// Q4_0's 8-bit activations, exactly: the reference over x already rounded the
// way MatVecXLevels says (per 32 values, f32 x * (127 / max |x|) to nearest,
// times max |x| / 127) leaves only the f32 sums' rounding, so a wrong scale,
// nibble order or zero point in any block (paired, unpaired or tail) fails.
TEST(MatVec, Q4_0EqualsReferenceOverRoundedX) {
  std::mt19937 rng(5);
  const GgmlType type = GgmlType::kQ4_0;
  ASSERT_EQ(MatVecXLevels(type), 127);
  for (int64_t cols : ColsFor(type)) {
    for (int64_t rows : {1, 5, 33}) {
      const std::vector<uint8_t> w = RandomRows(type, rows, cols, rng);
      const RoundedX x = XForQ4_0(cols, rng);
      const Expected e = ExpectedProducts(type, w.data(), rows, cols, x.rounded.data(), 1, 0);
      ExpectOnEveryTarget(e, rows, cols, [&](float* got, int threads) {
        MatVec(type, w.data(), rows, cols, x.x.data(), got, threads);
      });
    }
  }
}

// The rows repacked 8 at a time give the products of the rows themselves.
TEST(MatVec, Q4_0RepackedEqualsReferenceOverRoundedX) {
  std::mt19937 rng(6);
  const GgmlType type = GgmlType::kQ4_0;
  EXPECT_FALSE(CanRepackQ4_0x8(type, 0, 64));
  EXPECT_FALSE(CanRepackQ4_0x8(type, 12, 64));
  EXPECT_FALSE(CanRepackQ4_0x8(type, 8, 48));
  EXPECT_FALSE(CanRepackQ4_0x8(GgmlType::kQ4_1, 8, 64));
  for (int64_t cols : ColsFor(type)) {
    for (int64_t rows : {8, 16, 40}) {
      ASSERT_TRUE(CanRepackQ4_0x8(type, rows, cols));
      const std::vector<uint8_t> w = RandomRows(type, rows, cols, rng);
      std::vector<uint8_t> w8(w.size(), 0xAA);
      RepackQ4_0x8(w.data(), rows, cols, w8.data(), 2);
      const RoundedX x = XForQ4_0(cols, rng);
      const Expected e = ExpectedProducts(type, w.data(), rows, cols, x.rounded.data(), 1, 0);
      ExpectOnEveryTarget(e, rows, cols, [&](float* got, int threads) {
        MatVecQ4_0x8(w8.data(), rows, cols, x.x.data(), got, threads);
      });
    }
  }
}

// MatVecBatch is MatVec for each x of the batch, bit for bit (MatVec itself is
// checked against the reference above), so batched decoding gives each
// sequence exactly its own logits.
TEST(MatVecBatch, EqualsMatVecOfEachXBitForBit) {
  std::mt19937 rng(7);
  for (GgmlType type : kTypes) {
    for (int64_t cols : ColsFor(type)) {
      for (int64_t rows : {1, 7, 33}) {
        const std::vector<uint8_t> w = RandomRows(type, rows, cols, rng);
        const std::vector<float> x = testing::RandomFloats(rng, cols * 17);
        testing::ForEachTarget([&](const char* target) {
          for (int threads : {1, 2}) {
            for (int64_t batch : {0, 1, 2, 3, 5, 16}) {
              std::vector<float> got(rows * batch + 1, -7.0f), want(rows);
              MatVecBatch(type, w.data(), rows, cols, x.data(), batch, got.data(), threads);
              for (int64_t b = 0; b < batch; ++b) {
                MatVec(type, w.data(), rows, cols, x.data() + b * cols, want.data(), threads);
                for (int64_t r = 0; r < rows; ++r) {
                  ASSERT_EQ(got[b * rows + r], want[r])
                      << Traits(type).name << " " << target << " rows=" << rows << " cols=" << cols
                      << " batch=" << batch << " b=" << b << " r=" << r;
                }
              }
              ASSERT_EQ(got[rows * batch], -7.0f) << "wrote past the batch";
            }
          }
        });
      }
    }
  }
}

// MatMul and MatMulUnpacked.
TEST(MatMul, EqualsReferenceForEveryTypeBatchAndTarget) {
  std::mt19937 rng(4);
  for (GgmlType type : kTypes) {
    for (int64_t cols : ColsFor(type)) {
      // 33 rows of 4096 span several L2 tiles (12 rows each): threads share them.
      for (int64_t rows : {1, 7, 17, 33}) {
        if (cols >= 4096 && rows != 33) continue;
        const std::vector<uint8_t> w = RandomRows(type, rows, cols, rng);
        const std::vector<float> xbuf = testing::RandomFloats(rng, cols * 100 + 1);
        const float* x = xbuf.data() + 1;
        const Expected e = ExpectedProducts(type, w.data(), rows, cols, x, 100, 0);
        testing::ForEachTarget([&](const char* target) {
          for (int threads : {1, 2}) {
            for (int64_t batch : {1, 3, 8, 17, 64, 100}) {
              std::vector<float> got(rows * batch), unpacked(rows * batch);
              MatMul(type, w.data(), rows, cols, x, batch, got.data(), threads);
              MatMulUnpacked(type, w.data(), rows, cols, x, batch, unpacked.data(), threads);
              // The first `batch` rows of x give y[b * rows + r]: the prefix of e.
              for (int64_t i = 0; i < rows * batch; ++i) {
                ASSERT_LE(std::fabs(double{got[i]} - e.y[i]), e.tol[i])
                    << Traits(type).name << " " << target << " rows=" << rows << " cols=" << cols
                    << " batch=" << batch << " threads=" << threads << " i=" << i << " got "
                    << got[i] << " want " << e.y[i];
                ASSERT_LE(std::fabs(double{unpacked[i]} - e.y[i]), e.tol[i])
                    << "unpacked " << Traits(type).name << " " << target << " rows=" << rows
                    << " cols=" << cols << " batch=" << batch << " threads=" << threads
                    << " i=" << i << " got " << unpacked[i] << " want " << e.y[i];
              }
            }
          }
        });
      }
    }
  }
}

// An empty batch or matrix writes nothing and does not fault.
TEST(MatMul, EmptyBatchOrRowsIsANoOp) {
  std::mt19937 rng(7);
  const std::vector<uint8_t> w = RandomRows(GgmlType::kQ4_0, 4, 64, rng);
  const std::vector<float> x = testing::RandomFloats(rng, 64);
  std::vector<float> y(4, 7.0f);
  MatMul(GgmlType::kQ4_0, w.data(), 4, 64, x.data(), 0, y.data(), 2);
  MatMulUnpacked(GgmlType::kQ4_0, w.data(), 4, 64, x.data(), 0, y.data(), 2);
  MatMul(GgmlType::kQ4_0, w.data(), 0, 64, x.data(), 1, y.data(), 2);
  MatMulUnpacked(GgmlType::kQ4_0, w.data(), 0, 64, x.data(), 1, y.data(), 2);
  EXPECT_EQ(y, std::vector<float>(4, 7.0f));
}

// The server batches prompts of several sequences into one MatMul: each
// sequence's outputs must not depend on what it was batched with. Every
// output of a batch equals, bit for bit, the same row multiplied alone (and
// with 1 or 2 threads, tiles of any size).
TEST(MatMul, EachOutputIsIndependentOfTheBatch) {
  std::mt19937 rng(6);
  for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kQ4_0, GgmlType::kQ4_K}) {
    const int64_t cols = Traits(type).block_size == 1 ? 529 : 3 * 256;
    for (int64_t rows : {5, 40}) {
      const std::vector<uint8_t> w = RandomRows(type, rows, cols, rng);
      const int64_t batch = 97;  // past any batch size a kernel form might switch at
      const std::vector<float> x = testing::RandomFloats(rng, cols * batch);
      testing::ForEachTarget([&](const char* target) {
        std::vector<float> together(rows * batch);
        MatMul(type, w.data(), rows, cols, x.data(), batch, together.data(), 2);
        for (int64_t b = 0; b < batch; ++b) {
          std::vector<float> alone(rows);
          MatMul(type, w.data(), rows, cols, x.data() + b * cols, 1, alone.data(), 1);
          for (int64_t r = 0; r < rows; ++r) {
            ASSERT_EQ(together[b * rows + r], alone[r])
                << Traits(type).name << " " << target << " rows=" << rows << " b=" << b
                << " r=" << r;
          }
        }
      });
    }
  }
}

TEST(DequantizeRow, EqualsReferenceForEveryTypeAndTarget) {
  std::mt19937 rng(5);
  for (GgmlType type : kTypes) {
    for (int64_t cols : ColsFor(type)) {
      const std::vector<uint8_t> w = RandomRows(type, 1, cols, rng);
      std::vector<uint8_t> wbuf(w.size() + 1);
      std::memcpy(wbuf.data() + 1, w.data(), w.size());
      std::vector<float> want(cols);
      DequantizeRowRef(type, w.data(), cols, want.data());
      testing::ForEachTarget([&](const char* target) {
        std::vector<float> got(cols + 1);
        DequantizeRow(type, wbuf.data() + 1, cols, got.data() + 1);  // misaligned out too
        ExpectRowNear(
            got.data() + 1, want.data(), cols,
            std::string(Traits(type).name) + " " + target + " cols=" + std::to_string(cols));
      });
    }
  }
}

// A fixture: one row of `type` and gguf-py's dequantization of it.
struct Fixture {
  GgmlType type;
  int64_t cols = 0;
  std::vector<uint8_t> row;
  std::vector<float> want;
};

Fixture ReadFixture(const std::string& name) {
  const std::string path = std::string(QUEST_QUANT_TESTDATA) + "/" + name + ".bin";
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  Fixture f;
  uint32_t header[3] = {};
  if (bytes.size() < sizeof(header)) {
    ADD_FAILURE() << "cannot read " << path;
    return f;
  }
  std::memcpy(header, bytes.data(), sizeof(header));
  EXPECT_EQ(header[0], 0x58494651u) << path;
  f.type = static_cast<GgmlType>(header[1]);
  f.cols = header[2];
  const size_t row_bytes = RowBytes(f.type, f.cols);
  if (bytes.size() != sizeof(header) + row_bytes + f.cols * sizeof(float)) {
    ADD_FAILURE() << path << ": " << bytes.size() << " bytes, header says " << f.cols
                  << " values of type " << header[1];
    f.cols = 0;
    return f;
  }
  f.row.assign(bytes.begin() + sizeof(header), bytes.begin() + sizeof(header) + row_bytes);
  f.want.resize(f.cols);
  std::memcpy(f.want.data(), bytes.data() + sizeof(header) + row_bytes, f.cols * sizeof(float));
  return f;
}

TEST(DequantizeFixtures, ReferenceAndSimdEqualGgufPy) {
  for (GgmlType type : kTypes) {
    const std::string name = Traits(type).name;
    const Fixture f = ReadFixture(name);
    ASSERT_GT(f.cols, 0) << name;
    ASSERT_EQ(f.type, type) << name;
    std::vector<float> got(f.cols);
    DequantizeRowRef(type, f.row.data(), f.cols, got.data());
    ExpectRowNear(got.data(), f.want.data(), f.cols, name + " reference vs gguf-py");
    testing::ForEachTarget([&](const char* target) {
      std::vector<float> simd(f.cols);
      DequantizeRow(type, f.row.data(), f.cols, simd.data());
      ExpectRowNear(simd.data(), f.want.data(), f.cols, name + " " + target + " vs gguf-py");
    });
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
  EXPECT_TRUE(CheckWeightType(GgmlType::kF16, 7).ok());
  const Status s = CheckWeightType(GgmlType::kQ4_K, 100);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("q4_K"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("100"), std::string::npos) << s.message();
  const Status unsupported = CheckWeightType(GgmlType::kIQ2_XXS, 256);
  ASSERT_FALSE(unsupported.ok());
  EXPECT_NE(unsupported.message().find("iq2_xxs"), std::string::npos) << unsupported.message();
  const Status unknown = CheckWeightType(static_cast<GgmlType>(4), 256);  // removed q4_2
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("(4)"), std::string::npos) << unknown.message();
  EXPECT_FALSE(CheckWeightType(static_cast<GgmlType>(1000), 256).ok());
  EXPECT_FALSE(CheckWeightType(GgmlType::kQ8_0, 0).ok());
}

}  // namespace
}  // namespace quest
