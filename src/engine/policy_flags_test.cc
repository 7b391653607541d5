// MakePolicy and CheckPolicyForModel: every refusal names the flag and value.
#include "src/engine/policy_flags.h"

#include <gtest/gtest.h>

#include <cmath>

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

TEST(PolicyFlagsTest, SelectionPathAndAggregateAreNamed) {
  PolicyFlags f;
  f.select = "two-level";
  f.gqa_aggregate = "max";
  const AttentionPolicy p = MakePolicy(f).value();
  EXPECT_EQ(p.quest.select_path, SelectPath::kTwoLevel);
  EXPECT_EQ(p.quest.aggregate, GqaAggregate::kMax);
  f.select = "blocks";
  EXPECT_EQ(Error(f),
            "invalid --select: unknown selection path 'blocks' (expected auto, flat or "
            "two-level)");
  f.select = "auto";
  f.gqa_aggregate = "sum";
  EXPECT_NE(Error(f).find("invalid --gqa-aggregate: unknown gqa aggregate 'sum'"),
            std::string::npos);
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
  EXPECT_NE(Error(f).find("expected f16, f32 or q8"), std::string::npos) << Error(f);
}

TEST(PolicyFlagsTest, EveryKvTypeParses) {
  for (KvType t : {KvType::kF16, KvType::kF32, KvType::kQ8}) {
    PolicyFlags f;
    f.kv_type = KvTypeName(t);
    Result<AttentionPolicy> p = MakePolicy(f);
    ASSERT_TRUE(p.ok()) << p.status().message();
    EXPECT_EQ(p->kv_type, t) << f.kv_type;
  }
  for (const char* bad : {"", "Q8", "q8_0", "int8", "q4"}) {
    PolicyFlags f;
    f.kv_type = bad;
    EXPECT_NE(Error(f).find("invalid --kv-type"), std::string::npos) << bad;
  }
}

TEST(PolicyFlagsTest, CertifiedModeFlags) {
  PolicyFlags f;
  f.eps = 0.1;
  f.budget_min = 256;
  f.budget_max = 4096;
  Result<AttentionPolicy> p = MakePolicy(f);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->certify.eps, 0.1);
  EXPECT_EQ(p->certify.budget_min, 256);
  EXPECT_EQ(p->certify.budget_max, 4096);
  EXPECT_FALSE(MakePolicy(PolicyFlags{})->certify.enabled());  // off by default
  f.eps = 0;  // 0: read until every page is read or the cap
  EXPECT_EQ(Error(f), "ok");
  f.eps = -0.5;
  EXPECT_EQ(Error(f), "invalid --eps -0.5: must be >= 0 (or -1: off)");
  f.eps = std::nan("");
  EXPECT_NE(Error(f).find("invalid --eps nan"), std::string::npos);
  f.eps = 0.1;
  f.attention = "h2o";
  EXPECT_EQ(Error(f), "invalid --eps 0.1: applies to --attention quest only, not h2o");
  EXPECT_EQ(Error(f, "quest."), "invalid quest.eps 0.1: applies to quest.attention quest only, not h2o");
  f.attention = "quest";
  f.budget_max = 128;
  EXPECT_EQ(Error(f), "invalid --budget-max 128: below the first round's 256 tokens");
  EXPECT_NE(Error(f, "quest.").find("invalid quest.budget_max 128"), std::string::npos);
  f.budget_max = -1;
  EXPECT_EQ(Error(f), "invalid --budget-max -1: must be >= 0 (0: default)");
  f = PolicyFlags{};
  f.budget_min = 64;  // without --eps
  EXPECT_EQ(Error(f), "invalid --budget-min 64: applies with --eps only");
  f.eps = 0.1;
  f.sink_pages = 4;  // 64 tokens: 4 pages, no room beside 4 sink pages
  EXPECT_EQ(Error(f), "invalid --budget-min 64: leaves no room for selection beside 4 sink pages");
}

}  // namespace
}  // namespace quest
