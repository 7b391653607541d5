// The quest command line assembled: every subcommand registered on one app,
// and the parse-then-run step of main(). Shared by main() and the option
// parsing fuzzer (cli_fuzzer.cc).
#pragma once

#include <memory>
#include <vector>

#include "tools/cli/commands.h"

namespace quest {

struct Cli {
  std::unique_ptr<CLI::App> app;
  std::vector<Command> commands;
};

Cli MakeCli();

}  // namespace quest
