// `quest bench select`: Quest's page selection alone, the flat scan against
// two-level selection (page blocks), at long context on page metadata built
// from synthetic keys: time per layer, metadata bytes read, and whether the
// two select the same pages.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "src/util/check.h"

namespace quest {

struct SelectBenchOptions {
  std::vector<int> tokens = {32768, 131072, 1048576};
  std::vector<int> block_pages = {4, 8, 16, 64};
  std::string keys = "structured";  // structured | random
  int heads = 32;                   // the Llama 3.2 1B shape
  int kv_heads = 8;
  int head_dim = 64;
  int page_size = 16;
  int budget = 2048;
  std::string gqa = "per-kv-head";
  int steps = 8;  // decode queries timed (median reported)
  int threads = 1;
  unsigned seed = 1;
};

// Names the first invalid flag and its value.
Status ValidateSelectBench(const SelectBenchOptions& o);

// One JSON object per (tokens, block_pages); progress lines go to `progress`.
Result<nlohmann::json> RunSelectBench(const SelectBenchOptions& o, std::ostream& progress);

}  // namespace quest
