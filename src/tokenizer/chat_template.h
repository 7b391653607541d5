// Chat prompt formatting: renders the model file's own chat template
// (tokenizer.chat_template, a Jinja template) with the conversation, as
// transformers' apply_chat_template and llama.cpp do.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/tokenizer/jinja/template.h"
#include "src/util/check.h"

namespace quest {

class GgufFile;
struct Vocab;

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

class ChatTemplate {
 public:
  // Parses `source` (a tokenizer.chat_template string). An empty source falls
  // back on the built-in Gemma 3 template for a "gemma*" `architecture`
  // (those files ship without one); otherwise it is an error naming the
  // architecture. A template that does not parse is an error naming its line
  // and column. `bos_text` and `eos_text` are the texts of the vocabulary's
  // bos and eos tokens (templates write them as bos_token and eos_token).
  static Result<ChatTemplate> Create(std::string_view source, std::string_view architecture,
                                     std::string bos_text, std::string eos_text);
  // Reads tokenizer.chat_template and general.architecture from `gguf`.
  static Result<ChatTemplate> FromGguf(const GgufFile& gguf, const Vocab& vocab);

  // The prompt text. Encode it with add_special=false, parse_special=true: it
  // already holds every special token the template writes (a bos included).
  // Errors: a role other than system/user/assistant, or a template that fails
  // on this conversation (its raise_exception, an undefined value misused),
  // with the template's line and column.
  Result<std::string> Apply(const std::vector<ChatMessage>& messages,
                            bool add_generation_prompt) const;

  // strftime_now()'s time for templates that print today's date (Llama 3.x);
  // 0, the default, is the current time. Tests fix it.
  void set_now(std::time_t now) { options_.now = now; }

 private:
  ChatTemplate() = default;
  jinja::Template template_;
  jinja::RenderOptions options_;
  std::string bos_text_;
  std::string eos_text_;
};

}  // namespace quest
