// RULER-like synthetic long-context tasks, generated locally after the RULER
// paper's task descriptions: needle-in-a-haystack variants, variable tracking,
// common and frequent word extraction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/eval/prompt.h"
#include "src/tokenizer/tokenizer.h"
#include "src/util/check.h"

namespace quest::eval {

// The task names MakeRuler accepts, in a fixed order:
//  niah_single_number  noise haystack (the passkey filler), one needle
//                      "One of the special magic numbers for <key> is: <7 digits>."
//  niah_single_word    same with a word value
//  niah_single_uuid    same with a uuid value
//  niah_essay_number   essay haystack, number value
//  niah_multikey       essay haystack, 4 needles with distinct keys, one asked
//  niah_multivalue     essay haystack, 4 needles with one key, all 4 values expected
//  niah_multiquery     essay haystack, 4 needles with distinct keys, all asked
//  vt                  noise haystack with "VAR ABCDE = 12345." and 4 hops
//                      "VAR FGHIJ = ABCDE." in order; expected = the 5 names
//  cwe                 numbered word list: 10 words occur c times (30 at long
//                      lengths, fewer at short ones), the rest u < c times;
//                      expected = the 10 common words
//  fwe                 random 6-letter coded words with Zipf (alpha 2)
//                      frequencies; expected = the 3 most frequent (strictly
//                      more frequent than every other word)
// Keys are "word-word" pairs, word values come from corpus.words.
std::vector<std::string> RulerTasks();

// One sample of `task`, deterministic given (task, seed). Needle tasks put the
// asked needle (the first for multivalue/multiquery, the first assignment for vt)
// at `depth`, extra needles at random depths (vt: at random depths after it, in
// chain order). Every expected string occurs in the context exactly as often as
// the task says (values once; vt names twice, the last once; cwe common words
// c times). length - 16 <= context.size() + question.size() <= length.
// Errors: unknown task (listing the known ones), depth outside [0,1], length
// too small for the task, a corpus without words or (for essay tasks) essay.
Result<Prompt> MakeRuler(const std::string& task, const Tokenizer& tok, const Corpus& corpus,
                         int length, double depth, uint64_t seed);

}  // namespace quest::eval
