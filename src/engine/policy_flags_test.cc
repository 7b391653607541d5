// MakePolicy and CheckPolicyForModel: every refusal names the flag and value.
#include "src/engine/policy_flags.h"

#include <gtest/gtest.h>

namespace quest {
namespace {

std::string Error(const PolicyFlags& f, const std::string& prefix = "--") {
  Result<AttentionPolicy> p = MakePolicy(f, prefix);
  return p.ok() ? "ok" : p.status().message();
}

TEST(PolicyFlagsTest, DefaultsAreValid) { EXPECT_EQ(Error(PolicyFlags{}), "ok"); }

TEST(PolicyFlagsTest, SinkPagesMustLeaveRoomWithinTheBudget) {
  PolicyFlags f;  // budget 2048, pages of 16: 128 pages, so at most 127 sink pages
  f.sink_pages = 127;
  EXPECT_EQ(Error(f), "ok");
  f.sink_pages = 128;
  EXPECT_EQ(Error(f),
            "invalid --sink-pages 128: 16-token pages leave no room for selection within "
            "--budget 2048 (at most 127 sink pages)");
  f.sink_pages = 100000;
  EXPECT_NE(Error(f, "quest.").find("invalid quest.sink_pages 100000"), std::string::npos);
  f.budget = 16;  // one page: no sink page fits
  f.sink_pages = 1;
  EXPECT_NE(Error(f).find("(at most 0 sink pages)"), std::string::npos);
}

TEST(PolicyFlagsTest, DenseLayersBeyondTheModelAreRefused) {
  ModelConfig c;
  c.num_layers = 18;
  AttentionPolicy p = MakePolicy(PolicyFlags{}).value();
  p.dense_layers = 18;  // every layer dense: allowed
  EXPECT_TRUE(CheckPolicyForModel(p, c).ok());
  p.dense_layers = 1000;
  EXPECT_EQ(CheckPolicyForModel(p, c).message(),
            "invalid --dense-layers 1000: the model has 18 layers");
  EXPECT_EQ(CheckPolicyForModel(p, c, "quest.").message(),
            "invalid quest.dense_layers 1000: the model has 18 layers");
}

TEST(PolicyFlagsTest, OtherFieldsNameTheirFlag) {
  PolicyFlags f;
  f.budget = 0;
  EXPECT_EQ(Error(f), "invalid --budget 0: must be > 0");
  f = PolicyFlags{};
  f.page_size = 12;
  EXPECT_NE(Error(f).find("invalid --page-size 12"), std::string::npos);
  f = PolicyFlags{};
  f.dense_layers = -1;
  EXPECT_EQ(Error(f), "invalid --dense-layers -1: must be >= 0");
  f = PolicyFlags{};
  f.kv_type = "bf16";
  EXPECT_NE(Error(f).find("invalid --kv-type bf16"), std::string::npos);
}

}  // namespace
}  // namespace quest
