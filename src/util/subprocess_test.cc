// RunProgram passes every argument verbatim: shell syntax in one is inert.
#include "src/util/subprocess.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace quest {
namespace {

TEST(SubprocessTest, ReturnsTheExitCode) {
  EXPECT_EQ(RunProgram({"/bin/true"}).value(), 0);
  EXPECT_EQ(RunProgram({"/bin/false"}).value(), 1);
  EXPECT_EQ(RunProgram({"/nonexistent/program"}).value(), 127);
}

TEST(SubprocessTest, ShellSyntaxInAnArgumentIsNotRun) {
  const std::string marker =
      ::testing::TempDir() + "quest_pwned_" + std::to_string(::getpid());
  std::filesystem::remove(marker);
  // `test -n STRING` is true for any non-empty string: the argument arrives whole.
  for (const std::string& hostile :
       {"q'$(touch " + marker + ")'x", "`touch " + marker + "`", "; touch " + marker}) {
    EXPECT_EQ(RunProgram({"/usr/bin/test", "-n", hostile}).value(), 0) << hostile;
    EXPECT_EQ(RunProgram({"/usr/bin/test", hostile, "=", hostile}).value(), 0) << hostile;
  }
  EXPECT_FALSE(std::filesystem::exists(marker));
}

}  // namespace
}  // namespace quest
