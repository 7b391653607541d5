// The quest subcommands. Each Add* registers its flags on the parent app and
// returns the subcommand and the function that runs it after parsing.
#pragma once

#include <functional>
#include <vector>

#include "CLI/CLI.hpp"

namespace quest {

inline constexpr int kExitBadInput = 2;
inline constexpr int kExitOutOfMemory = 3;

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command AddBenchAttentionCommand(CLI::App* bench);
Command AddGenerateCommand(CLI::App* app);
Command AddServeCommand(CLI::App* app);
Command AddInfoCommand(CLI::App* app);
Command AddMakeModelCommand(CLI::App* app);
Command AddBenchDecodeCommand(CLI::App* bench);
Command AddBenchPrefillCommand(CLI::App* bench);
Command AddBenchRecallCommand(CLI::App* bench);
Command AddBenchSelectCommand(CLI::App* bench);
std::vector<Command> AddEvalCommands(CLI::App* app);

}  // namespace quest
