// libFuzzer target for the chat template renderer: any bytes as a template,
// parsed and rendered with a small conversation. It must return a result or an
// error, never crash, hang or exhaust memory. Seed the corpus with the real
// templates: cp tests/testdata/chat_templates/*.jinja build/fuzz/corpus_jinja/
//
// Build (clang; see src/gguf/gguf_fuzzer.cc for the CMake line) and run:
//   build/fuzz/src/tokenizer/quest_jinja_fuzzer build/fuzz/corpus_jinja \
//     -max_total_time=600 -max_len=8192 -rss_limit_mb=4096
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "src/tokenizer/jinja/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using quest::jinja::Value;
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  quest::Result<quest::jinja::Template> t = quest::jinja::Template::Parse(source);
  if (!t.ok()) return 0;
  quest::jinja::ValueDict user, assistant, context;
  user.Set("role", "user");
  user.Set("content", "Hi <|im_end|>\n");
  assistant.Set("role", "assistant");
  assistant.Set("content", "<think>\nx\n</think>\n\nYo");
  context.Set("messages", Value(quest::jinja::ValueList{Value(user), Value(assistant)}));
  context.Set("add_generation_prompt", true);
  context.Set("bos_token", "<s>");
  context.Set("eos_token", "</s>");
  quest::jinja::RenderOptions options;
  options.now = 1721995200;
  options.max_output_bytes = 1 << 20;  // keeps each run small
  options.max_steps = 100000;
  (void)t->Render(context, options);
  return 0;
}
