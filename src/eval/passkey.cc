// MakePasskey: the passkey prompt, token-exact through BuildHaystackPrompt.
#include "src/eval/passkey.h"

#include <string>

#include "src/eval/prompt_builder.h"

namespace quest::eval {

Result<Prompt> MakePasskey(const Tokenizer& tok, int length, double depth, uint64_t seed) {
  if (!(depth >= 0 && depth <= 1)) {
    return Status::Error(StrFormat("passkey: depth %g is outside [0, 1]", depth));
  }
  Rng rng(TaskSeed("passkey", seed));
  const std::string key = std::to_string(rng.Uniform(1, 50000));
  PieceEncoder enc(tok);
  HaystackSpec spec;
  spec.prefix =
      "There is an important info hidden inside a lot of irrelevant text. Find it and memorize "
      "them. I will quiz you about the important information there.";
  spec.needles = {" The pass key is " + key + ". Remember it. " + key + " is the pass key."};
  spec.depths = {depth};
  spec.question = " What is the pass key? The pass key is";
  size_t i = 0;
  spec.next_sentence = [&i] { return NoiseSentences()[i++ % NoiseSentences().size()]; };
  Result<BuiltPrompt> built = BuildHaystackPrompt(enc, length, spec);
  if (!built.ok()) return Status::Error("passkey: " + built.status().message());
  Prompt p;
  p.task = "passkey";
  p.context = std::move(built->context);
  p.question = std::move(built->question);
  p.expected = {key};
  p.max_new_tokens = 12;
  p.needle_token = built->needle_tokens[0];
  p.depth = depth;
  return p;
}

}  // namespace quest::eval
