#include "tools/cli/file_tokens.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "src/tokenizer/tokenizer.h"
#include "src/tokenizer/vocab.h"

namespace quest {

Result<std::vector<int32_t>> FileTokens(const Model& model, const std::string& path, int tokens) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error("cannot read --file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  Result<Vocab> vocab = LoadVocab(model.gguf());
  if (!vocab.ok()) return vocab.status();
  Result<Tokenizer> tok = Tokenizer::Create(std::move(*vocab));
  if (!tok.ok()) return tok.status();
  std::vector<int32_t> t = tok->Encode(text.str(), true, false);
  if (static_cast<int64_t>(t.size()) < tokens) {
    return Status::Error(StrFormat("--file '%s' holds %zu tokens, fewer than --tokens %d",
                                   path.c_str(), t.size(), tokens));
  }
  t.resize(tokens);
  return t;
}

}  // namespace quest
