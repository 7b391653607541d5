// ChatML and Gemma prompt rendering, and recognising which a template is.
#include "src/tokenizer/chat_template.h"

#include "src/gguf/gguf.h"
#include "src/tokenizer/vocab.h"

namespace quest {
namespace {

// Jinja's `trim` (Python str.strip()) for the ASCII whitespace Python strips.
std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\v\f\x1c\x1d\x1e\x1f";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

Status CheckRole(const ChatMessage& m, size_t i) {
  if (m.role == "system" || m.role == "user" || m.role == "assistant") return Status();
  return Status::Error(StrFormat(
      "messages[%zu].role: \"%s\" is not one of system, user, assistant", i, m.role.c_str()));
}

}  // namespace

Result<ChatTemplate> ChatTemplate::Create(std::string_view source, std::string_view architecture,
                                          std::string bos_text) {
  ChatTemplate t;
  t.bos_text_ = std::move(bos_text);
  if (source.find("<|im_start|>") != std::string_view::npos) {
    t.format_ = ChatFormat::kChatMl;
    // SmolLM2 writes a system turn when the first message is not one:
    //   {% if loop.first and messages[0]['role'] != 'system' %}
    //   {{ '<|im_start|>system\nYou are ...<|im_end|>\n' }}{% endif %}
    constexpr std::string_view kOpen = "'<|im_start|>system\n";
    const size_t open = source.find(kOpen);
    if (source.find("!= 'system'") != std::string_view::npos && open != std::string_view::npos) {
      const size_t begin = open + kOpen.size();
      const size_t end = source.find("<|im_end|>", begin);
      if (end != std::string_view::npos) t.default_system_ = source.substr(begin, end - begin);
    }
    return t;
  }
  if (source.find("<start_of_turn>") != std::string_view::npos ||
      (source.empty() && architecture.substr(0, 5) == "gemma")) {
    t.format_ = ChatFormat::kGemma;
    return t;
  }
  return Status::Error(StrFormat(
      "tokenizer.chat_template: unrecognised chat template for architecture \"%s\" (known: "
      "ChatML with <|im_start|>, Gemma with <start_of_turn>); template starts \"%s\"",
      std::string(architecture).c_str(), std::string(source.substr(0, 80)).c_str()));
}

Result<ChatTemplate> ChatTemplate::FromGguf(const GgufFile& gguf, const Vocab& vocab) {
  std::string source;
  if (gguf.Has("tokenizer.chat_template")) {
    Result<std::string> s = gguf.GetString("tokenizer.chat_template");
    if (!s.ok()) return s.status();
    source = std::move(*s);
  }
  std::string architecture;
  if (gguf.Has("general.architecture")) {
    Result<std::string> a = gguf.GetString("general.architecture");
    if (!a.ok()) return a.status();
    architecture = std::move(*a);
  }
  std::string bos = vocab.bos >= 0 ? vocab.tokens[vocab.bos] : "";
  return Create(source, architecture, std::move(bos));
}

Result<std::string> ChatTemplate::Apply(const std::vector<ChatMessage>& messages,
                                        bool add_generation_prompt) const {
  for (size_t i = 0; i < messages.size(); ++i) QE_RETURN_IF_ERROR(CheckRole(messages[i], i));
  std::string out;
  if (format_ == ChatFormat::kChatMl) {
    for (size_t i = 0; i < messages.size(); ++i) {
      if (i == 0 && messages[0].role != "system" && !default_system_.empty()) {
        out += "<|im_start|>system\n" + default_system_ + "<|im_end|>\n";
      }
      out += "<|im_start|>" + messages[i].role + "\n" + messages[i].content + "<|im_end|>\n";
    }
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
  }

  // Gemma's template reads messages[0]: an empty conversation is an error there.
  if (messages.empty()) return Status::Error("messages: empty (the Gemma template needs one)");
  // Gemma: a leading system message becomes a prefix of the first user turn;
  // the rest must alternate user, assistant, user, ...
  out = bos_text_;
  size_t first = 0;
  std::string prefix;
  if (!messages.empty() && messages[0].role == "system") {
    prefix = messages[0].content + "\n\n";
    first = 1;
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    const bool expect_user = (i - first) % 2 == 0;
    if ((m.role == "user") != expect_user) {
      return Status::Error(StrFormat(
          "messages[%zu].role: \"%s\": Gemma conversations must alternate "
          "user/assistant/user/assistant/...",
          i, m.role.c_str()));
    }
    out += "<start_of_turn>";
    out += m.role == "assistant" ? "model" : m.role;
    out += "\n";
    if (i == first) out += prefix;
    out += Trim(m.content);
    out += "<end_of_turn>\n";
  }
  if (add_generation_prompt) out += "<start_of_turn>model\n";
  return out;
}

}  // namespace quest
