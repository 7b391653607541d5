// CheckFitsInMemory: sizes beyond physical memory are refused by name.
#include "src/util/memory.h"

#include <gtest/gtest.h>

#include <cmath>

namespace quest {
namespace {

TEST(MemoryTest, PhysicalMemoryIsKnown) {
  EXPECT_GT(PhysicalMemoryBytes(), uint64_t{1} << 26);
  EXPECT_LT(PhysicalMemoryBytes(), UINT64_MAX);
}

TEST(MemoryTest, SizesWithinMemoryPass) {
  EXPECT_TRUE(CheckFitsInMemory(1e6, "--membw-gb 0.001").ok());
}

TEST(MemoryTest, SizesBeyondMemoryNameTheFlag) {
  const double twice = 2.0 * static_cast<double>(PhysicalMemoryBytes());
  const Status s = CheckFitsInMemory(twice, "--working-set-gb 1000");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("invalid --working-set-gb 1000: needs"), std::string::npos)
      << s.message();
  EXPECT_FALSE(CheckFitsInMemory(INFINITY, "--membw-gb inf").ok());
  EXPECT_FALSE(CheckFitsInMemory(NAN, "--membw-gb nan").ok());
}

}  // namespace
}  // namespace quest
