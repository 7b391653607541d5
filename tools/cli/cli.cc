// MakeCli: the subcommands of this build on one CLI11 app.
#include "tools/cli/cli.h"

namespace quest {

Cli MakeCli() {
  Cli cli;
  cli.app = std::make_unique<CLI::App>(
      "quest: query-aware sparse (Quest) decode attention for long-context LLMs");
  CLI::App& app = *cli.app;
  app.require_subcommand(1);
  CLI::App* bench = app.add_subcommand("bench", "benchmarks");
  bench->require_subcommand(1);
  cli.commands.push_back(AddBenchAttentionCommand(bench));
  cli.commands.push_back(AddBenchSelectCommand(bench));
#ifdef QUEST_HAVE_MODEL_RUNTIME
  cli.commands.push_back(AddGenerateCommand(&app));
  cli.commands.push_back(AddServeCommand(&app));
  cli.commands.push_back(AddInfoCommand(&app));
  cli.commands.push_back(AddMakeModelCommand(&app));
  cli.commands.push_back(AddBenchDecodeCommand(bench));
  cli.commands.push_back(AddBenchPrefillCommand(bench));
  cli.commands.push_back(AddBenchRecallCommand(bench));
#ifdef QUEST_HAVE_EVAL
  for (Command& c : AddEvalCommands(&app)) cli.commands.push_back(std::move(c));
#endif
#endif
  return cli;
}

}  // namespace quest
