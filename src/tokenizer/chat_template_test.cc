// Chat template recognition and rendering on hand-written conversations
// (the real templates' goldens are in tokenizer_model_test.cc).
#include "src/tokenizer/chat_template.h"

#include <gtest/gtest.h>

namespace quest {
namespace {

constexpr const char* kChatMl =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nBe brief.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

TEST(ChatTemplate, ChatMl) {
  Result<ChatTemplate> t = ChatTemplate::Create(kChatMl, "llama", "<s>");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->format(), ChatFormat::kChatMl);
  EXPECT_EQ(t->default_system(), "Be brief.");
  Result<std::string> s = t->Apply({{"user", "Hi"}}, true);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");
  s = t->Apply({{"system", "S"}, {"user", "Hi"}, {"assistant", "Yo"}}, false);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s,
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nYo<|im_end|>\n");
}

TEST(ChatTemplate, GemmaFromArchitecture) {
  Result<ChatTemplate> t = ChatTemplate::Create("", "gemma3", "<bos>");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->format(), ChatFormat::kGemma);
  Result<std::string> s =
      t->Apply({{"system", "Sys"}, {"user", "  Hi \n"}, {"assistant", "Yo"}, {"user", "?"}}, true);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(*s,
            "<bos><start_of_turn>user\nSys\n\nHi<end_of_turn>\n<start_of_turn>model\nYo<end_of_turn>\n"
            "<start_of_turn>user\n?<end_of_turn>\n<start_of_turn>model\n");
}

TEST(ChatTemplate, Errors) {
  Result<ChatTemplate> unknown = ChatTemplate::Create("{{ messages }}[INST]", "mistral", "<s>");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("mistral"), std::string::npos);
  EXPECT_FALSE(ChatTemplate::Create("", "llama", "<s>").ok());

  Result<ChatTemplate> gemma = ChatTemplate::Create("", "gemma3", "<bos>");
  ASSERT_TRUE(gemma.ok());
  Result<std::string> s = gemma->Apply({{"assistant", "first"}}, false);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("messages[0].role"), std::string::npos);
  s = gemma->Apply({{"user", "a"}, {"user", "b"}}, false);
  EXPECT_FALSE(s.ok());
  s = gemma->Apply({{"tool", "x"}}, false);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("\"tool\""), std::string::npos);
}

}  // namespace
}  // namespace quest
