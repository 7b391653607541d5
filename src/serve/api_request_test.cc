// Request bodies: defaults, overrides, and an error naming the field for
// every kind of bad input.
#include "src/serve/api_request.h"

#include <gtest/gtest.h>

namespace quest {
namespace {

std::optional<ApiError> Parse(const std::string& body, bool chat, ApiRequest* r) {
  ApiRequest defaults;
  defaults.sampling.temperature = 0.5f;
  return ParseApiRequest(body, chat, defaults, r);
}

TEST(ApiRequest, ChatFieldsAndServerDefaults) {
  ApiRequest r;
  ASSERT_FALSE(Parse(R"({"model":"m","messages":[{"role":"system","content":"be brief"},
      {"role":"user","content":[{"type":"text","text":"hi "},{"type":"text","text":"there"}]}],
      "max_tokens":7,"stop":"\n","stream":true,"stream_options":{"include_usage":true},
      "top_k":3,"seed":42,"quest":{"budget":512,"attention":"dense"},"extra":1})",
                     true, &r));
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].content, "hi there");
  EXPECT_EQ(*r.max_tokens, 7);
  EXPECT_EQ(r.stop, std::vector<std::string>{"\n"});
  EXPECT_TRUE(r.stream && r.include_usage);
  EXPECT_EQ(r.sampling.temperature, 0.5f);  // the server's default stays
  EXPECT_EQ(r.sampling.top_k, 3);
  EXPECT_EQ(r.sampling.seed, 42u);
  EXPECT_EQ(r.policy.budget, 512);
  EXPECT_EQ(r.policy.attention, "dense");
}

TEST(ApiRequest, EveryBadInputNamesItsField) {
  const struct {
    const char* body;
    bool chat;
    const char* param;
  } cases[] = {
      {"{not json", false, ""},
      {"[1]", false, ""},
      {R"({})", true, "messages"},
      {R"({"messages":[]})", true, "messages"},
      {R"({"messages":[{"role":"robot","content":"x"}]})", true, "messages[0].role"},
      {R"({"messages":[{"role":"user"}]})", true, "messages[0].content"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", true,
       "messages[0].content[0]"},
      {R"({"messages":[{"role":"user","content":[{"type":5,"text":"x"}]}]})", true,
       "messages[0].content[0]"},
      {R"({})", false, "prompt"},
      {R"({"prompt":["a","b"]})", false, "prompt"},
      {R"({"prompt":"x","n":2})", false, "n"},
      {R"({"prompt":"x","max_tokens":0})", false, "max_tokens"},
      {R"({"prompt":"x","max_tokens":"5"})", false, "max_tokens"},
      {R"({"prompt":"x","max_tokens":2.5})", false, "max_tokens"},
      {R"({"prompt":"x","temperature":-1})", false, "temperature"},
      {R"({"prompt":"x","top_p":0})", false, "top_p"},
      {R"({"prompt":"x","frequency_penalty":3})", false, "frequency_penalty"},
      {R"({"prompt":"x","stop":["a","b","c","d","e"]})", false, "stop"},
      {R"({"prompt":"x","stream":"yes"})", false, "stream"},
      {R"({"prompt":"x","logprobs":true})", false, "logprobs"},
      {R"({"prompt":"x","quest":5})", false, "quest"},
      {R"({"prompt":"x","quest":{"budget":0}})", false, "quest.budget"},
      {R"({"prompt":"x","quest":{"attention":"magic"}})", false, "quest.attention"},
      {R"({"prompt":"x","quest":{"sink_pages":-1}})", false, "quest.sink_pages"},
      {R"({"prompt":"x","quest":{"page_size":64}})", false, "quest.page_size"},
      {R"({"prompt":"x","quest":{"colour":"red"}})", false, "quest.colour"},
      {R"({"prompt":"x","quest":{"eps":"small"}})", false, "quest.eps"},
      {R"({"prompt":"x","quest":{"eps":-0.5}})", false, "quest.eps"},
      {R"({"prompt":"x","quest":{"eps":0.1,"attention":"tova"}})", false, "quest.eps"},
      {R"({"prompt":"x","quest":{"budget_min":64}})", false, "quest.budget_min"},
      {R"({"prompt":"x","quest":{"eps":0.1,"budget_max":16}})", false, "quest.budget_max"},
      {R"({"prompt":"x","quest":{"eps":0.1,"budget_max":1.5}})", false, "quest.budget_max"},
  };
  for (const auto& c : cases) {
    ApiRequest r;
    std::optional<ApiError> e = Parse(c.body, c.chat, &r);
    ASSERT_TRUE(e.has_value()) << c.body;
    EXPECT_EQ(e->status, 400) << c.body;
    EXPECT_EQ(e->param, c.param) << c.body;
    EXPECT_FALSE(e->message.empty());
  }
}

}  // namespace
}  // namespace quest
