// ChatTemplate on hand-written conversations: context, fallbacks, errors (the
// real templates' goldens are in chat_template_golden_test.cc and
// tokenizer_model_test.cc).
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
  Result<ChatTemplate> t = ChatTemplate::Create(kChatMl, "llama", "<s>", "</s>");
  ASSERT_TRUE(t.ok()) << t.status().message();
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
  Result<ChatTemplate> t = ChatTemplate::Create("", "gemma3", "<bos>", "<eos>");
  ASSERT_TRUE(t.ok()) << t.status().message();
  Result<std::string> s =
      t->Apply({{"system", "Sys"}, {"user", "  Hi \n"}, {"assistant", "Yo"}, {"user", "?"}}, true);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(*s,
            "<bos><start_of_turn>user\nSys\n\nHi<end_of_turn>\n<start_of_turn>model\nYo<end_of_turn>\n"
            "<start_of_turn>user\n?<end_of_turn>\n<start_of_turn>model\n");
}

TEST(ChatTemplate, BosAndEosTokens) {
  Result<ChatTemplate> t = ChatTemplate::Create(
      "{{ bos_token }}{% for m in messages %}[INST] {{ m.content }} [/INST]{% endfor %}{{ eos_token }}",
      "llama", "<s>", "</s>");
  ASSERT_TRUE(t.ok()) << t.status().message();
  Result<std::string> s = t->Apply({{"user", "Hi"}}, true);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(*s, "<s>[INST] Hi [/INST]</s>");
}

TEST(ChatTemplate, Errors) {
  Result<ChatTemplate> none = ChatTemplate::Create("", "llama", "<s>", "</s>");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("\"llama\""), std::string::npos);
  Result<ChatTemplate> broken = ChatTemplate::Create("{% for m in messages %}", "llama", "<s>", "</s>");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("tokenizer.chat_template: line 1"), std::string::npos)
      << broken.status().message();

  Result<ChatTemplate> gemma = ChatTemplate::Create("", "gemma3", "<bos>", "<eos>");
  ASSERT_TRUE(gemma.ok());
  Result<std::string> s = gemma->Apply({{"assistant", "first"}}, false);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("Conversation roles must alternate"), std::string::npos)
      << s.status().message();
  s = gemma->Apply({{"user", "a"}, {"user", "b"}}, false);
  EXPECT_FALSE(s.ok());
  s = gemma->Apply({}, true);  // the template reads messages[0]['role']
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("list object has no element 0"), std::string::npos) << s.status().message();
  s = gemma->Apply({{"tool", "x"}}, false);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("\"tool\""), std::string::npos);
}

}  // namespace
}  // namespace quest
