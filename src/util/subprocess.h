// Runs a program with an argument vector (fork + execv), never through a
// shell, so no user string (a path, an --out directory) is ever parsed as a
// command line.
#pragma once

#include <string>
#include <vector>

#include "src/util/check.h"

namespace quest {

// Runs argv[0] (a path) with argv and waits; its stdout goes to our stderr
// when `stdout_to_stderr`. Returns the exit code (128 + signal if killed), or
// an error naming the program when it cannot be started.
Result<int> RunProgram(const std::vector<std::string>& argv, bool stdout_to_stderr = false);

}  // namespace quest
