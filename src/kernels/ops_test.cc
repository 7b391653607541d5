// The SIMD transformer ops (ops.h) against their scalar twins (reference.h), on
// every compiled target, odd sizes, misaligned pointers and edge values.
#include "src/kernels/ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "src/kernels/reference.h"
#include "src/kv/kv_test_util.h"

namespace quest {
namespace {

using testing::ForEachTarget;
using testing::RandomFloats;

const int kSizes[] = {1, 3, 7, 15, 16, 17, 33, 127, 128, 1000};

// |a - b| <= atol + rtol * |ref|, per element.
void ExpectClose(const float* got, const float* want, size_t n, float atol, float rtol,
                 const std::string& what) {
  for (size_t i = 0; i < n; ++i) {
    ASSERT_LE(std::fabs(got[i] - want[i]), atol + rtol * std::fabs(want[i]))
        << what << " element " << i << ": got " << got[i] << " want " << want[i];
  }
}

// Copies v to offset 1 of a larger buffer: pointers misaligned for every vector width.
struct Misaligned {
  explicit Misaligned(const std::vector<float>& v) : buf(v.size() + 1) {
    std::copy(v.begin(), v.end(), buf.begin() + 1);
  }
  float* data() { return buf.data() + 1; }
  std::vector<float> buf;
};

TEST(RmsNorm, MatchesReference) {
  std::mt19937 rng(1);
  for (int n : kSizes) {
    const std::vector<float> x = RandomFloats(rng, n, -4, 4);
    const std::vector<float> w = RandomFloats(rng, n, -2, 2);
    std::vector<float> want(n);
    ref::RmsNorm(x.data(), w.data(), n, 1e-6f, want.data());
    ForEachTarget([&](const char* target) {
      Misaligned mx(x), mw(w), out{std::vector<float>(n)};
      RmsNorm(mx.data(), mw.data(), n, 1e-6f, out.data());
      // Both sum squares in double: only the summation order differs.
      ExpectClose(out.data(), want.data(), n, 0, 1e-6f,
                  std::string(target) + " n=" + std::to_string(n));
      RmsNorm(mx.data(), mw.data(), n, 1e-6f, mx.data());  // in place
      ExpectClose(mx.data(), want.data(), n, 0, 1e-6f, std::string(target) + " in place");
    });
  }
}

TEST(RmsNorm, ZeroAndHugeInputs) {
  for (int n : {1, 17, 640}) {
    std::vector<float> w(n, 1.0f);
    ForEachTarget([&](const char* target) {
      std::vector<float> zero(n, 0.0f), out(n, 1.0f);
      RmsNorm(zero.data(), w.data(), n, 1e-6f, out.data());
      for (float v : out) ASSERT_EQ(v, 0.0f) << target;
      // Squares beyond FLT_MAX: the double sum keeps them finite.
      std::vector<float> big(n, 1e30f), want(n);
      RmsNorm(big.data(), w.data(), n, 1e-6f, out.data());
      ref::RmsNorm(big.data(), w.data(), n, 1e-6f, want.data());
      ExpectClose(out.data(), want.data(), n, 0, 1e-6f, target);
      ASSERT_NEAR(out[0], 1.0f, 1e-6f) << target;
    });
  }
}

using GateFn = void (*)(float*, const float*, int);

// SIMD gate vs reference over random inputs in [-lo, hi] with random up.
void CheckGate(GateFn simd, GateFn ref, float atol, float rtol, const char* name) {
  std::mt19937 rng(2);
  for (int n : kSizes) {
    const std::vector<float> g = RandomFloats(rng, n, -8, 8);
    const std::vector<float> u = RandomFloats(rng, n, -3, 3);
    std::vector<float> want = g;
    ref(want.data(), u.data(), n);
    ForEachTarget([&](const char* target) {
      Misaligned mg(g), mu(u);
      simd(mg.data(), mu.data(), n);
      ExpectClose(mg.data(), want.data(), n, atol, rtol,
                  std::string(name) + " " + target + " n=" + std::to_string(n));
    });
  }
}

// Tolerances: the SIMD Exp is within ~1 ulp of libm; the reference's
// 0.5 x (1 + tanhf z) loses up to 0.5 x ulp(1) = 3e-8 |x| by cancellation at
// negative z, hence the absolute term (|x up| <= 24 here).
TEST(SiluMul, MatchesReference) { CheckGate(SiluMul, ref::SiluMul, 1e-6f, 2e-6f, "silu"); }
TEST(GeluMul, MatchesReference) { CheckGate(GeluMul, ref::GeluMul, 2e-6f, 2e-6f, "gelu"); }

// Softmax-sum of GQA page selection: random scores of both signs and large
// spread, odd lengths (empty, one page, vector tails), accumulated twice onto
// a non-zero agg.
TEST(AddSoftmax, MatchesReference) {
  std::mt19937 rng(5);
  for (int n : {0, 1, 3, 15, 16, 17, 33, 127, 2048, 2049}) {
    for (float scale : {0.0625f, 1.0f}) {
      std::vector<float> s1 = RandomFloats(rng, n, -300, 300), s2 = RandomFloats(rng, n, -1, 1);
      std::vector<float> want = RandomFloats(rng, n, 0, 1);
      const std::vector<float> start = want;
      ref::AddSoftmax(s1.data(), n, scale, want.data());
      ref::AddSoftmax(s2.data(), n, scale, want.data());
      ForEachTarget([&](const char* target) {
        std::vector<float> got = start;
        AddSoftmax(s1.data(), n, scale, got.data());
        AddSoftmax(s2.data(), n, scale, got.data());
        for (int j = 0; j < n; ++j) {
          ASSERT_NEAR(got[j], want[j], 1e-6f + 2e-6f * std::abs(want[j]))
              << target << " n=" << n << " scale=" << scale << " j=" << j;
        }
      });
    }
  }
}

TEST(GateOps, EdgeValues) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> g = {0.0f,  -0.0f,  1e-40f, -1e-40f, 1e-7f,  -1e-7f,
                                30.0f, -30.0f, 88.0f,  -88.0f,  100.0f, -100.0f,
                                1e4f,  -1e4f,  3e38f,  -3e38f,  inf};
  const std::vector<float> u(g.size(), 1.5f);
  const GateFn simd[] = {SiluMul, GeluMul};
  const GateFn refs[] = {ref::SiluMul, ref::GeluMul};
  for (int f = 0; f < 2; ++f) {
    std::vector<float> want = g;
    refs[f](want.data(), u.data(), static_cast<int>(g.size()));
    ForEachTarget([&](const char* target) {
      std::vector<float> got = g;
      simd[f](got.data(), u.data(), static_cast<int>(g.size()));
      for (size_t i = 0; i < g.size(); ++i) {
        // Large negative inputs give exactly 0 in the reference and at most
        // |x| e^-88 (underflowing to ~0) here; +inf stays +inf.
        if (std::isinf(want[i])) {
          ASSERT_EQ(got[i], want[i]) << target << " x=" << g[i];
          continue;
        }
        ASSERT_LE(std::fabs(got[i] - want[i]), 1e-30f + 2e-6f * std::fabs(want[i]))
            << (f == 0 ? "silu " : "gelu ") << target << " x=" << g[i] << ": got " << got[i]
            << " want " << want[i];
      }
    });
  }
}

// Every rope_dim/2 of kSizes (odd halves exercise the tails of both layouts),
// both pair layouts, two bases, frequency factors and linear scaling, and
// positions up to 2^20 (past any context here). cos/sin are bitwise the
// reference's (the same double expression); the rotation uses FMA where the
// target has it, so each output may differ from the unfused reference by the
// rounding of one product plus one of the result: < 2 ulp of |x| <= 3 sqrt(2),
// i.e. 1e-6.
TEST(Rope, MatchesReference) {
  std::mt19937 rng(3);
  const int64_t positions[] = {0, 1, 7, 1000, 8191, 131071, 131072, 1 << 20};
  for (int half : kSizes) {
    const int rope_dim = 2 * half;
    const int head_dim = rope_dim + 5;  // channels past rope_dim stay as they are
    const std::vector<float> factors = RandomFloats(rng, half, 1, 8);
    for (bool adjacent : {false, true}) {
      for (float base : {10000.0f, 1e6f}) {
        for (float scale : {1.0f, 0.25f}) {
          for (const float* ff : {static_cast<const float*>(nullptr), factors.data()}) {
            const RopeTable table(rope_dim, adjacent, base, scale, ff);
            std::vector<float> cos(rope_dim), sin(rope_dim);
            for (int64_t pos : positions) {
              const std::vector<float> x = RandomFloats(rng, head_dim, -3, 3);
              std::vector<float> want = x;
              ref::Rope(want.data(), rope_dim, adjacent, pos, base, scale, ff);
              table.Angles(pos, cos.data(), sin.data());
              ForEachTarget([&](const char* target) {
                Misaligned got(x);
                ApplyRope(got.data(), rope_dim, adjacent, cos.data(), sin.data());
                ExpectClose(
                    got.data(), want.data(), rope_dim, 1e-6f, 0,
                    std::string(target) + " rope_dim=" + std::to_string(rope_dim) +
                        " adjacent=" + std::to_string(adjacent) + " base=" + std::to_string(base) +
                        " scale=" + std::to_string(scale) + " ff=" + std::to_string(ff != nullptr) +
                        " pos=" + std::to_string(pos));
                for (int i = rope_dim; i < head_dim; ++i) ASSERT_EQ(got.data()[i], x[i]);
              });
            }
          }
        }
      }
    }
  }
}

// The angles at a long-context position against long double: the double
// product pos * theta keeps cos/sin within float rounding at pos 131072.
TEST(Rope, AnglesAccurateAtLongPositions) {
  const int rope_dim = 256;
  const RopeTable table(rope_dim, false, 1e6f, 1.0f, nullptr);
  std::vector<float> cos(rope_dim), sin(rope_dim);
  for (int64_t pos : {131071, 131072}) {
    table.Angles(pos, cos.data(), sin.data());
    for (int i = 0; i < rope_dim / 2; ++i) {
      const long double theta =
          static_cast<long double>(pos) * std::pow(1e6L, -2.0L * i / rope_dim);
      ASSERT_NEAR(cos[i], static_cast<float>(std::cos(theta)), 1e-6f) << pos << " " << i;
      ASSERT_NEAR(sin[i + rope_dim / 2], static_cast<float>(std::sin(theta)), 1e-6f)
          << pos << " " << i;
      ASSERT_EQ(sin[i], -sin[i + rope_dim / 2]);
    }
  }
}

}  // namespace
}  // namespace quest
