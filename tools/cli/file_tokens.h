// The first tokens of a text file under a model's own tokenizer: the prompts
// of the benchmarks that run on real text (bench select, bench recall).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/engine/model.h"
#include "src/util/check.h"

namespace quest {

// The first `tokens` tokens of `path` (with BOS); an error naming the file if
// it cannot be read or holds fewer tokens.
Result<std::vector<int32_t>> FileTokens(const Model& model, const std::string& path, int tokens);

}  // namespace quest
