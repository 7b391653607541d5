// ResolveThreads: bounded by the processors available, errors name the flag.
#include "src/util/threads.h"

#include <gtest/gtest.h>

namespace quest {
namespace {

TEST(ThreadsTest, ZeroMeansEveryAvailableProcessorAtMost) {
  Result<int> t = ResolveThreads(0);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_GE(*t, 1);
  EXPECT_LE(*t, AvailableProcessors());
}

TEST(ThreadsTest, ExplicitCountsUpToTheProcessorsAreKept) {
  EXPECT_EQ(ResolveThreads(1).value(), 1);
  const int n = AvailableProcessors();
  EXPECT_EQ(ResolveThreads(n).value(), n);
}

TEST(ThreadsTest, MoreThanTheProcessorsIsRefusedNamingTheFlag) {
  for (int bad : {AvailableProcessors() + 1, 10000, 100000, 2147483647}) {
    Result<int> t = ResolveThreads(bad, "--threads");
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.status().message().find("--threads " + std::to_string(bad)), std::string::npos)
        << t.status().message();
    EXPECT_NE(t.status().message().find("processors"), std::string::npos);
  }
}

TEST(ThreadsTest, NegativeIsRefused) {
  Result<int> t = ResolveThreads(-1, "threads");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("threads -1"), std::string::npos);
}

}  // namespace
}  // namespace quest
