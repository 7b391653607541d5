// A loaded model: the mapped GGUF file, its hyperparameters and weight views.
// Immutable once loaded; any number of Sessions can share it.
#pragma once

#include <memory>
#include <string>

#include "src/gguf/gguf.h"
#include "src/model/config.h"
#include "src/model/weights.h"

namespace quest {

struct LoadOptions {
  // Repack the Q4_0 matrices for the decode MatVec (RepackWeights): faster
  // decode, at the cost of a copy of those weights in memory.
  bool repack = false;
  int threads = 0;  // for the repacking; 0: all OpenMP threads
};

class Model {
 public:
  static Result<std::unique_ptr<Model>> Load(const std::string& path,
                                             const LoadOptions& options = {});
  const GgufFile& gguf() const { return gguf_; }
  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }

 private:
  Model(GgufFile gguf, ModelConfig config, ModelWeights weights)
      : gguf_(std::move(gguf)), config_(std::move(config)), weights_(std::move(weights)) {}
  GgufFile gguf_;
  ModelConfig config_;
  ModelWeights weights_;
};

// The default model's path: $QUEST_MODEL, else models/gemma-3-270m-q4_k_m.gguf
// in the repository that holds this executable (installed by `make setup`),
// else the same under the working directory.
std::string DefaultModelPath();

}  // namespace quest
