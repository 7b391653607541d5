// ModelConfig from GGUF metadata for each family: RoPE style, biases, norms,
// YaRN's factors and magnitude, LongRoPE's attention factor and factor
// choice, a declared sliding window, and named errors for what quest does not
// run.
#include "src/model/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include "src/gguf/gguf_writer.h"

namespace quest {
namespace {

// A header-only file of architecture `arch` (8 heads of 16, 2 KV heads, 2
// layers, context 1024), plus what `extra` sets.
Result<ModelConfig> ConfigOf(const std::string& arch,
                             const std::function<void(GgufWriter*)>& extra = nullptr) {
  GgufWriter w;
  const std::string a = arch + ".";
  w.SetString("general.architecture", arch);
  w.SetU32(a + "block_count", 2);
  w.SetU32(a + "context_length", 1024);
  w.SetU32(a + "embedding_length", 128);
  w.SetU32(a + "feed_forward_length", 256);
  w.SetU32(a + "attention.head_count", 8);
  w.SetU32(a + "attention.head_count_kv", 2);
  w.SetF32(a + "rope.freq_base", 1e6f);
  w.SetU32(a + "vocab_size", 1024);
  if (extra) extra(&w);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("quest_config_" + std::to_string(::getpid()) + ".gguf"))
                               .string();
  const Status s = w.WriteStreaming(
      path, [](size_t, uint8_t* out, size_t nbytes) { std::fill(out, out + nbytes, 0); });
  if (!s.ok()) return s;
  Result<GgufFile> g = GgufFile::Open(path);
  std::filesystem::remove(path);
  if (!g.ok()) return g.status();
  return ModelConfig::FromGguf(*g);
}

TEST(ModelConfig, FamiliesSetTheirAttentionShape) {
  Result<ModelConfig> llama = ConfigOf("llama");
  ASSERT_TRUE(llama.ok()) << llama.status().message();
  EXPECT_EQ(llama->rope_style, RopeStyle::kAdjacentPairs);
  EXPECT_FALSE(llama->qkv_bias || llama->qk_norm || llama->fused_qkv);
  Result<ModelConfig> qwen2 = ConfigOf("qwen2");
  ASSERT_TRUE(qwen2.ok());
  EXPECT_EQ(qwen2->rope_style, RopeStyle::kHalves);
  EXPECT_TRUE(qwen2->qkv_bias);
  Result<ModelConfig> qwen3 = ConfigOf("qwen3");
  ASSERT_TRUE(qwen3.ok());
  EXPECT_EQ(qwen3->rope_style, RopeStyle::kHalves);
  EXPECT_TRUE(qwen3->qk_norm && !qwen3->qkv_bias);
  Result<ModelConfig> phi3 = ConfigOf("phi3");
  ASSERT_TRUE(phi3.ok());
  EXPECT_EQ(phi3->rope_style, RopeStyle::kHalves);
  EXPECT_TRUE(phi3->fused_qkv);
}

TEST(ModelConfig, YarnKeepsFastPairsAndInterpolatesSlowOnes) {
  Result<ModelConfig> c = ConfigOf("qwen2", [](GgufWriter* w) {
    w->SetString("qwen2.rope.scaling.type", "yarn");
    w->SetF32("qwen2.rope.scaling.factor", 4);
    w->SetU32("qwen2.rope.scaling.original_context_length", 256);
  });
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->rope_freq_factors.size(), 8u);
  EXPECT_EQ(c->rope_scaling.original_context, 256);
  // Pair 0 turns 256 / 2pi = 41 times over 256 tokens (> beta_fast 32): kept.
  EXPECT_FLOAT_EQ(c->rope_freq_factors[0], 1.0f);
  // The last pair turns far less than once (beta_slow): divided by the factor.
  EXPECT_FLOAT_EQ(c->rope_freq_factors[7], 4.0f);
  for (size_t i = 1; i < 8; ++i) EXPECT_GE(c->rope_freq_factors[i], c->rope_freq_factors[i - 1]);
  const float m = 1 + 0.1f * std::log(4.0f);
  EXPECT_NEAR(c->attn_scale, m * m / 4.0f, 1e-6f);
}

TEST(ModelConfig, UnknownRopeScalingIsNamed) {
  Result<ModelConfig> c = ConfigOf("qwen2", [](GgufWriter* w) {
    w->SetString("qwen2.rope.scaling.type", "dynamic");
    w->SetF32("qwen2.rope.scaling.factor", 2);
  });
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("qwen2.rope.scaling.type"), std::string::npos);
  EXPECT_NE(c.status().message().find("dynamic"), std::string::npos);
  EXPECT_NE(c.status().message().find("yarn"), std::string::npos);
  Result<ModelConfig> a = ConfigOf("mamba");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("mamba"), std::string::npos);
}

// Phi-3 128K as llama.cpp's converter writes it: the factor tensors, the
// original context, no type key; head_dim 16 (8 pairs).
void AddLongRope(GgufWriter* w) {
  w->AddTensorInfo("rope_factors_long.weight", GgmlType::kF32, {8});
  w->AddTensorInfo("rope_factors_short.weight", GgmlType::kF32, {8});
  w->SetU32("phi3.rope.scaling.original_context_length", 256);
}

TEST(ModelConfig, Phi3LongRopeReadsItsAttentionFactorOrDerivesIt) {
  Result<ModelConfig> derived = ConfigOf("phi3", AddLongRope);
  ASSERT_TRUE(derived.ok()) << derived.status().message();
  EXPECT_EQ(derived->rope_scaling.type, RopeScalingType::kLongRope);
  EXPECT_EQ(derived->rope_scaling.original_context, 256);
  // Context 1024 from 256: sqrt(1 + ln 4 / ln 256) = sqrt(1.25), on q and k.
  EXPECT_NEAR(derived->rope_scaling.attn_factor, std::sqrt(1.25f), 1e-6f);
  EXPECT_NEAR(derived->attn_scale, 1.25f / 4.0f, 1e-6f);
  EXPECT_TRUE(derived->rope_freq_factors.empty()) << "the factor sets are tensors";
  Result<ModelConfig> given = ConfigOf("phi3", [](GgufWriter* w) {
    AddLongRope(w);
    w->SetF32("phi3.rope.scaling.attn_factor", 1.5f);
  });
  ASSERT_TRUE(given.ok()) << given.status().message();
  EXPECT_FLOAT_EQ(given->rope_scaling.attn_factor, 1.5f);
  EXPECT_NEAR(given->attn_scale, 2.25f / 4.0f, 1e-6f);
  Result<ModelConfig> typed = ConfigOf("phi3", [](GgufWriter* w) {
    AddLongRope(w);
    w->SetString("phi3.rope.scaling.type", "longrope");
  });
  ASSERT_TRUE(typed.ok()) << typed.status().message();
  EXPECT_EQ(typed->rope_scaling.type, RopeScalingType::kLongRope);
}

TEST(ModelConfig, LongRopeTakesLongFactorsPastTheOriginalContext) {
  RopeScaling s;
  s.type = RopeScalingType::kLongRope;
  s.original_context = 4096;
  EXPECT_FALSE(LongRopeUsesLongFactors(s, 4096));
  EXPECT_TRUE(LongRopeUsesLongFactors(s, 4097));
  EXPECT_NE(LongRopeChoiceText(s, 4097).find("long"), std::string::npos);
  EXPECT_NE(LongRopeChoiceText(s, 100).find("short"), std::string::npos);
  // Phi-3 mini 128K: 131072 from 4096.
  EXPECT_NEAR(LongRopeDerivedAttnFactor(131072, 4096),
              std::sqrt(1 + std::log(32.0) / std::log(4096.0)), 1e-6);
  EXPECT_EQ(LongRopeDerivedAttnFactor(4096, 4096), 1.0f);
}

TEST(ModelConfig, LongRopeMisdeclaredIsNamed) {
  const auto error_of = [](const std::function<void(GgufWriter*)>& extra) {
    Result<ModelConfig> c = ConfigOf("phi3", extra);
    return c.ok() ? std::string("ok") : c.status().message();
  };
  // Another scaling type beside the tensors.
  std::string e = error_of([](GgufWriter* w) {
    AddLongRope(w);
    w->SetString("phi3.rope.scaling.type", "yarn");
  });
  EXPECT_NE(e.find("phi3.rope.scaling.type"), std::string::npos) << e;
  EXPECT_NE(e.find("rope_factors_long"), std::string::npos) << e;
  // The type without the tensors.
  e = error_of([](GgufWriter* w) { w->SetString("phi3.rope.scaling.type", "longrope"); });
  EXPECT_NE(e.find("rope_factors_long.weight"), std::string::npos) << e;
  // A linear factor on top (llama.cpp would apply both).
  e = error_of([](GgufWriter* w) {
    AddLongRope(w);
    w->SetF32("phi3.rope.scaling.factor", 2);
  });
  EXPECT_NE(e.find("phi3.rope.scaling.factor"), std::string::npos) << e;
  // A magnitude on part of the head only cannot fold into the softmax scale.
  e = error_of([](GgufWriter* w) {
    w->AddTensorInfo("rope_factors_long.weight", GgmlType::kF32, {4});
    w->AddTensorInfo("rope_factors_short.weight", GgmlType::kF32, {4});
    w->SetU32("phi3.rope.scaling.original_context_length", 256);
    w->SetU32("phi3.rope.dimension_count", 8);
  });
  EXPECT_NE(e.find("rope.dimension_count 8"), std::string::npos) << e;
}

TEST(ModelConfig, LlamaSlidingWindowCoversEveryLayerPhi3sIsIgnored) {
  Result<ModelConfig> mistral = ConfigOf("llama", [](GgufWriter* w) {
    w->SetU32("llama.attention.sliding_window", 64);
  });
  ASSERT_TRUE(mistral.ok());
  EXPECT_EQ(mistral->sliding_window, 64);
  EXPECT_EQ(mistral->layer_is_local, std::vector<bool>({true, true}));
  Result<ModelConfig> phi3 = ConfigOf("phi3", [](GgufWriter* w) {
    w->SetU32("phi3.attention.sliding_window", 64);
  });
  ASSERT_TRUE(phi3.ok());
  EXPECT_EQ(phi3->layer_is_local, std::vector<bool>({false, false}));
}

}  // namespace
}  // namespace quest
