// The evaluation data API in one include: prompts and corpus, passkey and RULER
// generators, scorers, statistics and result files (namespace quest::eval).
#pragma once

#include "src/eval/passkey.h"
#include "src/eval/prompt.h"
#include "src/eval/result_writer.h"
#include "src/eval/ruler.h"
#include "src/eval/scoring.h"
#include "src/eval/stats.h"
