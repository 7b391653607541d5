// The `quest` command line: subcommands over the engine's layers. Bad flags get
// one line naming the flag and value, and exit code 2.
#include <cstdio>
#include <new>

#include "src/util/mapped_file_fault.h"
#include "src/util/threads.h"
#include "tools/cli/cli.h"

int main(int argc, char** argv) {
  quest::PreferPassiveOpenMpWait(argv);  // before anything else runs
  quest::InstallMappedFileFaultHandler();
  quest::Cli cli = quest::MakeCli();
  CLI::App& app = *cli.app;
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
  for (const quest::Command& c : cli.commands) {
    if (!c.app->parsed()) continue;
    // Sizes are checked against memory up front; this catches what slips past
    // (another process took the memory), so it is a message, not an abort.
    try {
      return c.run();
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "quest %s: out of memory\n", c.app->get_name().c_str());
      return quest::kExitOutOfMemory;
    }
  }
  return 0;
}
