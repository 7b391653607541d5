// Evaluation samples and their text sources: the Prompt a harness prefills and
// decodes, the Corpus (word list + long essay) the generators draw from, and
// where those files live by default.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/util/check.h"

namespace quest::eval {

// One evaluation sample. context is prefilled densely; question is then decoded
// token by token with the method active; the answer is generated greedily.
struct Prompt {
  std::string task;                   // "passkey", "niah_single_number", ...
  std::vector<int32_t> context;       // starts with BOS if the vocab adds one
  std::vector<int32_t> question;      // >= 1 token
  std::vector<std::string> expected;  // strings the answer must contain
  int max_new_tokens = 12;
  // Token index in context where the needle placed at `depth` starts (for the
  // multi-needle tasks: the first needle generated, i.e. the asked one); -1 for
  // tasks without needles (cwe, fwe).
  int needle_token = -1;
  double depth = 0;  // asked depth in [0,1]
};

// Text sources: words from /usr/share/dict/words (lowercase a-z words of length
// 3..10, deduplicated, in file order) and a long public-domain essay (the King
// James Bible rendered by scripts/setup.sh).
struct Corpus {
  std::vector<std::string> words;
  std::string essay;
};

// Errors name the file that cannot be read, or say that it holds too few
// usable words (< 100) or no text.
Result<Corpus> LoadCorpus(const std::string& words_path, const std::string& essay_path);
std::string DefaultWordsPath();  // "/usr/share/dict/words"
// $QUEST_DATA_DIR/kjv.txt if QUEST_DATA_DIR is set, else <repo>/data/kjv.txt.
std::string DefaultEssayPath();

}  // namespace quest::eval
