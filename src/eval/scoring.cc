// ScorePasskey and ScoreRecall.
#include "src/eval/scoring.h"

#include <algorithm>
#include <cctype>

namespace quest::eval {
namespace {

std::string StripZeros(std::string s) {
  const size_t i = s.find_first_not_of('0');
  return i == std::string::npos ? "0" : s.substr(i);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

double ScorePasskey(const std::string& answer, const std::string& expected) {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto begin = std::find_if(answer.begin(), answer.end(), is_digit);
  if (begin == answer.end() || expected.empty()) return 0;
  if (!std::all_of(expected.begin(), expected.end(), is_digit)) return 0;
  const auto end = std::find_if_not(begin, answer.end(), is_digit);
  return StripZeros(std::string(begin, end)) == StripZeros(expected) ? 1 : 0;
}

double ScoreRecall(const std::string& answer, const std::vector<std::string>& expected) {
  if (expected.empty()) return 0;
  const std::string lower = Lower(answer);
  int hits = 0;
  for (const std::string& e : expected) {
    const bool exact = std::any_of(e.begin(), e.end(), [](char c) { return c >= '0' && c <= '9'; });
    hits += exact ? answer.find(e) != std::string::npos : lower.find(Lower(e)) != std::string::npos;
  }
  return static_cast<double>(hits) / static_cast<double>(expected.size());
}

}  // namespace quest::eval
