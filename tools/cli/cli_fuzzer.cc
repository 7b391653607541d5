// libFuzzer target for the CLI's option parsing: the bytes, split at NUL into
// arguments, parsed by the real quest command line (every subcommand and
// flag), then by the shared policy, sampler and thread flags with their
// validation. Parsing may only end in a CLI11 error; a validated policy must
// hold the invariants the engine relies on. Commands are never run.
//
// Build (clang; see src/gguf/gguf_fuzzer.cc for the CMake line) and run:
//   build/fuzz/quest_cli_fuzzer build/fuzz/corpus_cli -max_total_time=600 -max_len=512
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "src/engine/policy_flags.h"
#include "src/kv/kv_cache.h"
#include "src/util/threads.h"
#include "tools/cli/cli.h"
#include "tools/cli/common_flags.h"

namespace {

std::vector<std::string> SplitArgs(const uint8_t* data, size_t size) {
  std::vector<std::string> args = {"quest"};
  std::string cur;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += static_cast<char>(data[i]);
    }
  }
  args.push_back(cur);
  return args;
}

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "cli_fuzzer: %s\n", what);
  std::abort();
}

void ParseQuest(const std::vector<std::string>& args) {
  quest::Cli cli = quest::MakeCli();
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  try {
    cli.app->parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::Error&) {
    return;  // a parse error, or help
  }
  int parsed = 0;
  for (const quest::Command& c : cli.commands) parsed += c.app->parsed();
  if (parsed != 1) Fail("a successful parse must select exactly one command");
}

// The flags every model command shares, validated as the commands do.
void ValidateSharedFlags(const std::vector<std::string>& args) {
  CLI::App app;
  app.allow_extras();
  quest::PolicyFlags policy_flags;
  quest::SamplerOptions sampler;
  int threads = 0;
  quest::AddPolicyFlags(&app, &policy_flags);
  quest::AddSamplerFlags(&app, &sampler);
  app.add_option("--threads", threads);
  std::vector<std::string> rest(args.begin() + 1, args.end());
  std::vector<const char*> argv = {"quest"};
  for (const std::string& a : rest) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::Error&) {
    return;
  }
  (void)sampler.Validate();
  quest::Result<int> t = quest::ResolveThreads(threads);
  if (t.ok() && (*t < 1 || *t > quest::AvailableProcessors())) Fail("thread count out of range");
  quest::Result<quest::AttentionPolicy> p = quest::MakePolicy(policy_flags);
  if (!p.ok()) return;
  const int ps = p->page_size;
  if (p->quest.budget <= 0 || ps < quest::KvCacheConfig::kMinPageSize ||
      ps > quest::KvCacheConfig::kMaxPageSize || (ps & (ps - 1)) != 0 || p->dense_layers < 0 ||
      p->quest.sink_pages < 0 ||
      p->quest.sink_pages > quest::MaxSinkPages(p->quest.budget, ps)) {
    Fail("MakePolicy accepted a policy outside its invariants");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> args = SplitArgs(data, size);
  ParseQuest(args);
  ValidateSharedFlags(args);
  return 0;
}
