// Scorers for generated answers: passkey (first integer) and RULER (recall of
// the expected strings).
#pragma once

#include <string>
#include <vector>

namespace quest::eval {

// 1 if the first integer (run of digits) in `answer` equals `expected` as a
// number (leading zeros ignored), else 0. "12345." and " 12345" score 1 for
// 12345; "123456" and "no key" score 0.
double ScorePasskey(const std::string& answer, const std::string& expected);

// Fraction of `expected` strings contained in `answer`. Strings with a digit
// (numbers, uuids) must match exactly; others (words, vt names) match ignoring
// ASCII case, as RULER's string_match_all does. Empty `expected` scores 0.
double ScoreRecall(const std::string& answer, const std::vector<std::string>& expected);

}  // namespace quest::eval
