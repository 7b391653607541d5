// `quest bench prefill`: time to first token of long prompts, with the FLOPs
// achieved against the FMA peak measured in the same run.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "src/util/check.h"

namespace quest {

struct PrefillBenchOptions {
  std::string model;
  std::vector<int> tokens = {512, 4096, 16384, 32768};
  int threads = 0;
  int reps = 1;           // timed prefills per length (the median is reported)
  int prefill_chunk = 0;  // tokens per forward pass (0: the session's default)
};

Result<nlohmann::json> RunPrefillBench(const PrefillBenchOptions& o, std::ostream& progress);
std::string FormatPrefillTable(const nlohmann::json& rows);

}  // namespace quest
