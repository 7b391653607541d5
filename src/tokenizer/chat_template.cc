// The conversation as the template's context (messages, bos_token, eos_token,
// add_generation_prompt), rendered by the Jinja renderer.
#include "src/tokenizer/chat_template.h"

#include "src/gguf/gguf.h"
#include "src/tokenizer/builtin_chat_templates.h"
#include "src/tokenizer/vocab.h"

namespace quest {
namespace {

Status CheckRole(const ChatMessage& m, size_t i) {
  if (m.role == "system" || m.role == "user" || m.role == "assistant") return Status();
  return Status::Error(StrFormat(
      "messages[%zu].role: \"%s\" is not one of system, user, assistant", i, m.role.c_str()));
}

}  // namespace

Result<ChatTemplate> ChatTemplate::Create(std::string_view source, std::string_view architecture,
                                          std::string bos_text, std::string eos_text) {
  if (source.empty()) {
    if (architecture.substr(0, 5) != "gemma") {
      return Status::Error(StrFormat(
          "tokenizer.chat_template: the model file has none, and quest knows no default for "
          "architecture \"%s\"",
          std::string(architecture).c_str()));
    }
    source = Gemma3ChatTemplate();
  }
  Result<jinja::Template> parsed = jinja::Template::Parse(source);
  if (!parsed.ok()) {
    return Status::Error("tokenizer.chat_template: " + parsed.status().message());
  }
  ChatTemplate t;
  t.template_ = std::move(*parsed);
  t.bos_text_ = std::move(bos_text);
  t.eos_text_ = std::move(eos_text);
  return t;
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
  const auto text = [&](int32_t id) { return id >= 0 ? vocab.tokens[id] : std::string(); };
  return Create(source, architecture, text(vocab.bos), text(vocab.eos));
}

Result<std::string> ChatTemplate::Apply(const std::vector<ChatMessage>& messages,
                                        bool add_generation_prompt) const {
  jinja::ValueList list;
  for (size_t i = 0; i < messages.size(); ++i) {
    QE_RETURN_IF_ERROR(CheckRole(messages[i], i));
    jinja::ValueDict m;
    m.Set("role", messages[i].role);
    m.Set("content", messages[i].content);
    list.emplace_back(std::move(m));
  }
  jinja::ValueDict context;
  context.Set("messages", jinja::Value(std::move(list)));
  context.Set("add_generation_prompt", add_generation_prompt);
  context.Set("bos_token", bos_text_);
  context.Set("eos_token", eos_text_);
  Result<std::string> text = template_.Render(context, options_);
  if (!text.ok()) return Status::Error("chat template: " + text.status().message());
  return text;
}

}  // namespace quest
