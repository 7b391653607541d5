// Token-exact prompt assembly shared by the passkey and RULER generators: a
// portable seeded RNG, a cached piece encoder, and a haystack builder that fills
// a token budget with sentences and inserts needles at sentence boundaries.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "src/tokenizer/tokenizer.h"
#include "src/util/check.h"

namespace quest::eval {

// Length tolerance of every generator: |context + question - length| <= this.
inline constexpr int kLengthSlack = 16;

// SplitMix64: the same stream on every platform and standard library (the
// std:: distributions are implementation-defined).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [lo, hi] (inclusive), by rejection.
  int64_t Uniform(int64_t lo, int64_t hi);
  double UniformDouble();  // [0, 1)
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Uniform(0, i - 1)]);
  }

 private:
  uint64_t state_;
};

// A seed for one task: mixes the task name into the sample seed so tasks with
// the same seed draw different values.
uint64_t TaskSeed(const std::string& task, uint64_t seed);

// Encodes text pieces separately so that lengths add up exactly. A piece is
// written with its leading separator space (" The grass is green."); the space
// is dropped for the first piece of the context and when the vocabulary adds a
// space prefix itself (SPM add_space_prefix), so the concatenation decodes to
// the concatenated text.
class PieceEncoder {
 public:
  explicit PieceEncoder(const Tokenizer& tok) : tok_(tok) {}
  const std::vector<int32_t>& Encode(const std::string& piece, bool first = false);
  size_t Count(const std::string& piece, bool first = false) { return Encode(piece, first).size(); }
  // [bos] when the vocabulary adds one, else empty.
  std::vector<int32_t> Bos() const;
  const Tokenizer& tokenizer() const { return tok_; }

 private:
  const Tokenizer& tok_;
  std::map<std::pair<bool, std::string>, std::vector<int32_t>> cache_;
};

// A prompt of the form  bos, prefix, haystack with needles, | question.
struct HaystackSpec {
  std::string prefix;                // instruction, first piece of the context (non-empty)
  std::vector<std::string> needles;  // pieces (leading space), needle 0 is the asked one
  std::vector<double> depths;        // [needles] fraction of the haystack's tokens before each
  std::string question;              // piece decoded after the context
  // The haystack's sentences in order (each a piece with its leading space);
  // called as often as the budget needs.
  std::function<std::string()> next_sentence;
};

struct BuiltPrompt {
  std::vector<int32_t> context;
  std::vector<int32_t> question;
  std::vector<int> needle_tokens;  // [needles] start index in context
  std::string text;                // the context's text, pieces concatenated
  std::string question_text;
};

// Fills length - (bos + prefix + needles + question) tokens with whole
// sentences, then single words of the next sentences, and inserts each needle
// at the sentence boundary nearest its depth (needles at one boundary keep
// their order). Errors when the fixed parts do not fit in `length` or the
// filled length misses `length` by more than kLengthSlack.
Result<BuiltPrompt> BuildHaystackPrompt(PieceEncoder& enc, int length, const HaystackSpec& spec);

// Splits text into its words (runs of non-space characters).
std::vector<std::string> SplitWords(const std::string& text);

// Non-overlapping occurrences of `needle` in `text`.
int CountOccurrences(const std::string& text, const std::string& needle);

}  // namespace quest::eval

namespace quest::eval {

// The passkey filler's sentences ("The grass is green.", ...), also RULER's
// noise haystack; NoiseSentences()[i % 5] is the i-th sentence of the filler.
const std::vector<std::string>& NoiseSentences();

}  // namespace quest::eval
