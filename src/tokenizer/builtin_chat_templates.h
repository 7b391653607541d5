// Chat templates for model files that carry none: Gemma 3 GGUF files ship
// without tokenizer.chat_template, so quest renders Google's official one.
#pragma once

#include <string_view>

namespace quest {

// Google's Gemma 3 chat template (tokenizer_config.json of the Gemma 3
// instruction models); tests/testdata/tokenizer/gemma3_chat_template.jinja
// holds the same text, and a test checks they agree.
std::string_view Gemma3ChatTemplate();

}  // namespace quest
