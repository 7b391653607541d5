// LoadCorpus and the default locations of the word list and the essay.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "src/eval/prompt.h"

#ifndef QUEST_DATA_DIR_DEFAULT
#define QUEST_DATA_DIR_DEFAULT "data"
#endif

namespace quest::eval {
namespace {

bool IsCorpusWord(const std::string& w) {
  if (w.size() < 3 || w.size() > 10) return false;
  for (char c : w) {
    if (c < 'a' || c > 'z') return false;
  }
  return true;
}

}  // namespace

std::string DefaultWordsPath() { return "/usr/share/dict/words"; }

std::string DefaultEssayPath() {
  const char* dir = std::getenv("QUEST_DATA_DIR");
  if (dir != nullptr && dir[0] != '\0') return std::string(dir) + "/kjv.txt";
  return std::string(QUEST_DATA_DIR_DEFAULT) + "/kjv.txt";
}

Result<Corpus> LoadCorpus(const std::string& words_path, const std::string& essay_path) {
  Corpus corpus;
  std::ifstream words(words_path);
  if (!words) {
    return Status::Error(
        StrFormat("cannot read word list %s (apt-get install wamerican)", words_path.c_str()));
  }
  std::unordered_set<std::string> seen;
  std::string line;
  while (std::getline(words, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (IsCorpusWord(line) && seen.insert(line).second) corpus.words.push_back(line);
  }
  if (corpus.words.size() < 100) {
    return Status::Error(
        StrFormat("word list %s has %zu lowercase a-z words of length 3..10; "
                  "need at least 100",
                  words_path.c_str(), corpus.words.size()));
  }
  std::ifstream essay(essay_path, std::ios::binary);
  if (!essay) {
    return Status::Error(
        StrFormat("cannot read essay %s (scripts/setup.sh renders it; or set "
                  "QUEST_DATA_DIR)",
                  essay_path.c_str()));
  }
  std::ostringstream text;
  text << essay.rdbuf();
  corpus.essay = text.str();
  if (corpus.essay.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Status::Error(StrFormat("essay %s is empty", essay_path.c_str()));
  }
  return corpus;
}

}  // namespace quest::eval
