// Model loading and the default model's location.
#include "src/engine/model.h"

#include <omp.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace quest {

Result<std::unique_ptr<Model>> Model::Load(const std::string& path, const LoadOptions& options) {
  Result<GgufFile> gguf = GgufFile::Open(path);
  if (!gguf.ok()) return gguf.status();
  Result<ModelConfig> config = ModelConfig::FromGguf(*gguf);
  if (!config.ok()) return config.status();
  Result<ModelWeights> weights = LoadWeights(*gguf, *config);
  if (!weights.ok()) return weights.status();
  if (options.repack) {
    RepackWeights(&*weights, options.threads > 0 ? options.threads : omp_get_max_threads());
  }
  return std::unique_ptr<Model>(
      new Model(std::move(*gguf), std::move(*config), std::move(*weights)));
}

std::string DefaultModelPath() {
  namespace fs = std::filesystem;
  const char* env = std::getenv("QUEST_MODEL");
  if (env != nullptr && *env != '\0') return env;
  const char* kRelative = "models/gemma-3-270m-q4_k_m.gguf";
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    // build/<preset>/quest -> the repository root is two levels up.
    for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path();
         dir = dir.parent_path()) {
      if (fs::exists(dir / kRelative)) return (dir / kRelative).string();
    }
  }
  return kRelative;
}

}  // namespace quest
