// The passkey retrieval prompt of Landmark Attention / Quest: a pass key hidden
// at a depth in repeated filler text, asked for at the end.
#pragma once

#include <cstdint>

#include "src/eval/prompt.h"
#include "src/tokenizer/tokenizer.h"
#include "src/util/check.h"

namespace quest::eval {

// Context: task description, filler "The grass is green. The sky is blue. The
// sun is yellow. Here we go. There and back again." repeated, with the needle
// "The pass key is N. Remember it. N is the pass key." at the filler sentence
// boundary nearest `depth` (fraction of the filler's tokens before it).
// Question: "What is the pass key? The pass key is". N is uniform in 1..50000
// from the seed; expected = {"N"}.
// length - 16 <= context.size() + question.size() <= length. Errors: depth outside [0,1], or length
// too small to hold the description, needle and question.
Result<Prompt> MakePasskey(const Tokenizer& tok, int length, double depth, uint64_t seed);

}  // namespace quest::eval
