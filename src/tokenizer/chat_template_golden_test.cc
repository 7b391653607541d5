// The real chat templates under tests/testdata/chat_templates/ rendered by
// quest against jinja2's renderings of the same conversations (goldens.json,
// written by make_goldens.py): byte for byte, and the same conversations
// refused with jinja2's error message inside quest's.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "src/tokenizer/builtin_chat_templates.h"
#include "src/tokenizer/chat_template.h"

namespace quest {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string Dir() { return QUEST_CHAT_TEMPLATES_DIR; }

TEST(ChatTemplateGolden, EveryTemplateMatchesJinja2) {
  const nlohmann::json goldens = nlohmann::json::parse(ReadFile(Dir() + "/goldens.json"));
  ASSERT_GE(goldens["templates"].size(), 8u);
  int compared = 0, refused = 0;
  for (const auto& t : goldens["templates"]) {
    const std::string file = t["file"];
    const std::string source = ReadFile(Dir() + "/" + file);
    ASSERT_FALSE(source.empty()) << file;
    Result<ChatTemplate> tmpl = ChatTemplate::Create(source, "test", t["bos_token"], t["eos_token"]);
    ASSERT_TRUE(tmpl.ok()) << file << ": " << tmpl.status().message();
    tmpl->set_now(goldens["now_unix"].get<std::time_t>());
    for (const auto& c : t["cases"]) {
      std::vector<ChatMessage> messages;
      for (const auto& m : c["messages"]) messages.push_back({m["role"], m["content"]});
      Result<std::string> got = tmpl->Apply(messages, c["add_generation_prompt"]);
      if (c.contains("error")) {
        ASSERT_FALSE(got.ok()) << file << ": " << c.dump();
        EXPECT_NE(got.status().message().find(c["error"].get<std::string>()), std::string::npos)
            << file << ": " << got.status().message() << "\nexpected inside: " << c["error"];
        ++refused;
        continue;
      }
      ASSERT_TRUE(got.ok()) << file << ": " << got.status().message() << "\n" << c.dump();
      EXPECT_EQ(*got, c["expected"].get<std::string>()) << file << ": " << c.dump();
      ++compared;
    }
  }
  EXPECT_GE(compared, 120);
  EXPECT_GE(refused, 8);
}

// Gemma 3 files carry no template: the built-in copy must stay Google's text.
TEST(ChatTemplateGolden, BuiltInGemma3IsTheTestdataTemplate) {
  EXPECT_EQ(std::string(Gemma3ChatTemplate()),
            ReadFile(Dir() + "/../tokenizer/gemma3_chat_template.jinja"));
}

}  // namespace
}  // namespace quest
