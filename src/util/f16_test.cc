// The scalar f16 conversions agree bit for bit with the SIMD conversions.
#include "src/util/f16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "src/kernels/kernels.h"
#include "src/kernels/reference.h"
#include "src/kv/kv_test_util.h"

namespace quest {
namespace {

TEST(F16, EveryHalfRoundTripsThroughFloat) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = F16ToF32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(F32ToF16(f), h) << "half bits " << h;
  }
}

TEST(F16, KnownValues) {
  EXPECT_EQ(F16ToF32(0x3C00), 1.0f);
  EXPECT_EQ(F16ToF32(0xC000), -2.0f);
  EXPECT_EQ(F16ToF32(0x7BFF), 65504.0f);
  EXPECT_EQ(F16ToF32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(F32ToF16(1e6f), 0x7C00);  // overflow to +inf
  EXPECT_EQ(F32ToF16(-0.0f), 0x8000);
  EXPECT_EQ(F32ToF16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie to even
}

TEST(F16, ScalarMatchesSimdConversionOnEveryTarget) {
  std::mt19937 rng(7);
  std::vector<float> x = testing::RandomFloats(rng, 4099, -70000, 70000);
  std::uniform_real_distribution<float> tiny(-1e-4f, 1e-4f);
  for (size_t i = 0; i < x.size(); i += 3) x[i] = tiny(rng);  // subnormal halves
  x[0] = 0;
  x[1] = -0.0f;
  testing::ForEachTarget([&](const char* target) {
    std::vector<uint16_t> simd(x.size()), scalar(x.size());
    ConvertToKv(x.data(), x.size(), KvType::kF16, simd.data());
    ref::ConvertToKv(x.data(), x.size(), KvType::kF16, scalar.data());
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(simd[i], scalar[i]) << target << " x=" << x[i];
    }
  });
}

}  // namespace
}  // namespace quest
