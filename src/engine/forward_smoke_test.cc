// The real models' forward pass, small enough to run under ASan + UBSan
// (label `sanitize`, which `make test` runs in the asan preset): a short
// prefill, then decode steps with dense attention and with Quest past its
// budget, every attention call checked against the scalar reference.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "src/engine/model.h"
#include "src/engine/session.h"

namespace quest {
namespace {

class ForwardSmokeTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ForwardSmokeTest, DenseAndQuestDecodeMatchTheReferenceAttention) {
  Result<std::unique_ptr<Model>> m =
      Model::Load(std::string(QUEST_MODELS_DIR) + "/" + GetParam());
  ASSERT_TRUE(m.ok()) << m.status().message() << " (run `make setup`)";
  const int vocab = (*m)->config().vocab_size;
  std::vector<int32_t> prompt(24);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = 300 + (i * 7919) % (vocab - 600);
  for (AttentionMethod method : {AttentionMethod::kDense, AttentionMethod::kQuest}) {
    SessionOptions so;
    so.context = 32;
    so.attention.method = method;
    so.attention.page_size = 4;
    so.attention.quest.budget = 8;  // 2 of 7 pages: selection runs
    so.attention.dense_layers = 1;
    so.check_attention = true;
    Result<std::unique_ptr<Session>> s = Session::Create(**m, so);
    ASSERT_TRUE(s.ok()) << s.status().message();
    std::vector<float> logits(vocab);
    ASSERT_TRUE((*s)->Prefill(prompt.data(), static_cast<int>(prompt.size()), logits.data()).ok());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE((*s)->Decode(prompt[i], logits.data()).ok());
      for (float v : logits) ASSERT_TRUE(std::isfinite(v)) << Name(method) << " step " << i;
    }
    EXPECT_LE((*s)->max_attention_deviation(), 1e-5) << Name(method);
    if (method == AttentionMethod::kQuest) EXPECT_GT((*s)->checked_sparse_calls(), 0);
  }
}

// Two-level selection chooses the flat scan's pages at every Quest layer and
// step, also after the session is reset and its page ids are refilled with
// another prompt's keys (the block index must not keep the old ones).
TEST_P(ForwardSmokeTest, TwoLevelSelectionMatchesFlatAcrossReset) {
  Result<std::unique_ptr<Model>> m =
      Model::Load(std::string(QUEST_MODELS_DIR) + "/" + GetParam());
  ASSERT_TRUE(m.ok()) << m.status().message() << " (run `make setup`)";
  const int vocab = (*m)->config().vocab_size;
  SessionOptions so;
  so.context = 48;
  so.attention.page_size = 4;
  so.attention.quest.budget = 12;
  so.attention.quest.gqa = GqaMode::kPerQueryHead;
  so.attention.quest.select_path = SelectPath::kTwoLevel;
  so.attention.quest.block_pages = 2;
  so.attention.dense_layers = 1;
  so.compare_selection = true;
  Result<std::unique_ptr<Session>> s = Session::Create(**m, so);
  ASSERT_TRUE(s.ok()) << s.status().message();
  std::vector<float> logits(vocab);
  for (int round = 0; round < 2; ++round) {
    std::vector<int32_t> prompt(36);
    for (size_t i = 0; i < prompt.size(); ++i) {
      prompt[i] = 300 + ((i + 1) * (round == 0 ? 7919 : 104729)) % (vocab - 600);
    }
    ASSERT_TRUE((*s)->Prefill(prompt.data(), static_cast<int>(prompt.size()), logits.data()).ok());
    for (int i = 0; i < 4; ++i) ASSERT_TRUE((*s)->Decode(prompt[i], logits.data()).ok());
    (*s)->Reset();
  }
  const SelectionPaths& r = (*s)->diagnostics().selection;
  EXPECT_GT(r.calls, 0);
  EXPECT_EQ(r.mismatches, 0) << "of " << r.calls << " selections";
}

INSTANTIATE_TEST_SUITE_P(RealModels, ForwardSmokeTest,
                         ::testing::Values("gemma-3-270m-q4_k_m.gguf",
                                           "smollm2-135m-instruct-q4_1.gguf"));

}  // namespace
}  // namespace quest
