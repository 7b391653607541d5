// The `quest` command line: subcommands over the engine's layers. Bad flags get
// one line naming the flag and value, and exit code 2.
#include <cstdio>
#include <vector>

#include "tools/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"quest: query-aware sparse (Quest) decode attention for long-context LLMs"};
  app.require_subcommand(1);
  CLI::App* bench = app.add_subcommand("bench", "benchmarks");
  bench->require_subcommand(1);
  std::vector<quest::Command> commands = {
      quest::AddBenchAttentionCommand(bench),
  };
#ifdef QUEST_HAVE_MODEL_RUNTIME
  commands.push_back(quest::AddGenerateCommand(&app));
  commands.push_back(quest::AddServeCommand(&app));
  commands.push_back(quest::AddInfoCommand(&app));
  commands.push_back(quest::AddMakeModelCommand(&app));
  commands.push_back(quest::AddBenchDecodeCommand(bench));
  commands.push_back(quest::AddBenchRecallCommand(bench));
#ifdef QUEST_HAVE_EVAL
  for (quest::Command& c : quest::AddEvalCommands(&app)) commands.push_back(std::move(c));
#endif
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "quest: %s\nRun with --help for usage.\n", e.what());
    return quest::kExitBadInput;
  }
  for (const quest::Command& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  return 0;
}
