// Chat prompt formatting for the two model families quest runs: ChatML
// (SmolLM2) and Gemma turns. Not a Jinja engine: the family is recognised in
// the GGUF's tokenizer.chat_template and re-implemented here, output
// byte-identical to what jinja2 renders from that template (see the goldens).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/util/check.h"

namespace quest {

class GgufFile;
struct Vocab;

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

enum class ChatFormat {
  kChatMl,  // <|im_start|>role\n...<|im_end|>\n; optional default system prompt
  kGemma,   // <bos><start_of_turn>user\n...<end_of_turn>\n, assistant -> "model"
};

class ChatTemplate {
 public:
  // Recognises the family of `source` (a tokenizer.chat_template string). An
  // empty source falls back on `architecture` ("gemma3" files ship without a
  // template). Anything else -> an error naming the architecture and template.
  // `bos_text` is the text of the bos token (Gemma's template writes it).
  static Result<ChatTemplate> Create(std::string_view source, std::string_view architecture,
                                     std::string bos_text);
  // Reads tokenizer.chat_template and general.architecture from `gguf`.
  static Result<ChatTemplate> FromGguf(const GgufFile& gguf, const Vocab& vocab);

  // The prompt text. Encode it with add_special=false, parse_special=true: it
  // already holds every special token (Gemma's <bos> included). Errors: an
  // unknown role, or for Gemma roles that do not alternate user/assistant
  // (the template's raise_exception).
  Result<std::string> Apply(const std::vector<ChatMessage>& messages,
                            bool add_generation_prompt) const;

  ChatFormat format() const { return format_; }
  // ChatML's system prompt when the conversation has none ("" for none).
  const std::string& default_system() const { return default_system_; }

 private:
  ChatTemplate() = default;
  ChatFormat format_ = ChatFormat::kChatMl;
  std::string default_system_;
  std::string bos_text_;
};

}  // namespace quest
