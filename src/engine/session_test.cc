// The model runtime on the real models (label `model`): Quest with a budget
// covering the context is exactly dense; Quest's SIMD attention equals the
// scalar reference over the same selected pages inside the whole model; bad
// input is refused with a named error.
#include "src/engine/session.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "src/engine/model.h"

namespace quest {
namespace {

const char* kModels[] = {"gemma-3-270m-q4_k_m.gguf", "smollm2-135m-instruct-q4_1.gguf"};

std::unique_ptr<Model> LoadOrFail(const std::string& name) {
  const std::string path = std::string(QUEST_MODELS_DIR) + "/" + name;
  Result<std::unique_ptr<Model>> m = Model::Load(path);
  EXPECT_TRUE(m.ok()) << m.status().message() << " (run `make setup`)";
  return m.ok() ? std::move(*m) : nullptr;
}

// Deterministic ordinary token ids for a prompt.
std::vector<int32_t> Prompt(int n, int vocab) {
  std::vector<int32_t> t(n);
  for (int i = 0; i < n; ++i) t[i] = 300 + (i * 7919) % (vocab - 600);
  return t;
}

// Prefill `prompt`, then decode `steps` tokens (teacher-forced), returning the
// logits of every step.
std::vector<std::vector<float>> RunSteps(const Model& m, const SessionOptions& so,
                                    const std::vector<int32_t>& prompt, int steps) {
  auto s = Session::Create(m, so);
  EXPECT_TRUE(s.ok()) << s.status().message();
  const int vocab = m.config().vocab_size;
  std::vector<std::vector<float>> out(steps + 1, std::vector<float>(vocab));
  EXPECT_TRUE((*s)->Prefill(prompt.data(), prompt.size(), out[0].data()).ok());
  for (int i = 0; i < steps; ++i) {
    EXPECT_TRUE((*s)->Decode(prompt[i % prompt.size()], out[i + 1].data()).ok());
  }
  return out;
}

class SessionModelTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SessionModelTest, QuestWithBudgetCoveringContextIsExactlyDense) {
  auto m = LoadOrFail(GetParam());
  ASSERT_NE(m, nullptr);
  const std::vector<int32_t> prompt = Prompt(200, m->config().vocab_size);
  SessionOptions dense;
  dense.context = 256;
  dense.attention.method = AttentionMethod::kDense;
  SessionOptions quest = dense;
  quest.attention.method = AttentionMethod::kQuest;
  quest.attention.quest.budget = 256;
  quest.attention.dense_layers = 0;
  const auto a = RunSteps(*m, dense, prompt, 8);
  const auto b = RunSteps(*m, quest, prompt, 8);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i;
}

TEST_P(SessionModelTest, QuestSimdEqualsReferenceOverSelectedPages) {
  auto m = LoadOrFail(GetParam());
  ASSERT_NE(m, nullptr);
  const std::vector<int32_t> prompt = Prompt(300, m->config().vocab_size);
  SessionOptions so;
  so.context = 320;
  so.attention.quest.budget = 64;  // sparse: 4 of 19 pages
  so.attention.dense_layers = 1;
  so.check_attention = true;
  auto s = Session::Create(*m, so);
  ASSERT_TRUE(s.ok()) << s.status().message();
  std::vector<float> logits(m->config().vocab_size);
  ASSERT_TRUE((*s)->Prefill(prompt.data(), prompt.size(), logits.data()).ok());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE((*s)->Decode(prompt[i], logits.data()).ok());
  // Every attention call of every layer (prefill, dense, sliding window and
  // Quest) matched the double reference over the same pages.
  EXPECT_GT((*s)->checked_sparse_calls(), 0);
  EXPECT_LE((*s)->max_attention_deviation(), 1e-5);
}

TEST_P(SessionModelTest, RefusesBadInput) {
  auto m = LoadOrFail(GetParam());
  ASSERT_NE(m, nullptr);
  SessionOptions so;
  so.context = 16;
  auto s = Session::Create(*m, so);
  ASSERT_TRUE(s.ok());
  std::vector<int32_t> long_prompt = Prompt(17, m->config().vocab_size);
  Status st = (*s)->Prefill(long_prompt.data(), long_prompt.size(), nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("exceed the context"), std::string::npos) << st.message();
  int32_t bad = m->config().vocab_size;
  st = (*s)->Prefill(&bad, 1, nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("outside the vocabulary"), std::string::npos) << st.message();
  so.attention.quest.budget = 0;
  EXPECT_FALSE(Session::Create(*m, so).ok());
}

INSTANTIATE_TEST_SUITE_P(RealModels, SessionModelTest, ::testing::ValuesIn(kModels),
                         [](const auto& info) {
                           return std::string(info.param).substr(0, 5);  // gemma, smoll
                         });

}  // namespace
}  // namespace quest
