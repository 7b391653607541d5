// LongRoPE (Phi-3 128K) on make-model's tiny file: the context a session is
// created with picks the factor set for every position, a K/V file keeps to
// its set, and bad factor tensors are named. The goldens (golden_test.cc) check the numbers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "src/engine/model.h"
#include "src/engine/session.h"
#include "src/model/make_model.h"

namespace quest {
namespace {

// The tiny phi3-mini-128k file: original context 256, context 1024.
std::string WriteTiny(const std::string& name) {
  MakeModelOptions o;
  o.preset = "phi3-mini-128k";
  o.tiny = true;
  o.output = (std::filesystem::temp_directory_path() /
              ("quest_longrope_" + name + "_" + std::to_string(::getpid()) + ".gguf"))
                 .string();
  std::ostringstream log;
  EXPECT_TRUE(MakeModel(o, log).ok());
  return o.output;
}

std::vector<float> PrefillLogits(const Model& m, int context) {
  SessionOptions so;
  so.context = context;
  so.attention.method = AttentionMethod::kDense;
  auto s = Session::Create(m, so);
  EXPECT_TRUE(s.ok()) << s.status().message();
  const int32_t tokens[8] = {5, 17, 300, 42, 9, 811, 64, 3};
  std::vector<float> logits(m.config().vocab_size);
  EXPECT_TRUE((*s)->Prefill(tokens, 8, logits.data()).ok());
  return logits;
}

TEST(LongRope, TheSessionContextPicksTheFactorSet) {
  const std::string path = WriteTiny("choice");
  Result<std::unique_ptr<Model>> m = Model::Load(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(m.ok()) << m.status().message();
  const ModelConfig& c = (*m)->config();
  const ModelWeights& w = (*m)->weights();
  ASSERT_EQ(c.rope_scaling.type, RopeScalingType::kLongRope);
  ASSERT_EQ(c.rope_scaling.original_context, 256);
  ASSERT_EQ(w.rope_factors_long.size(), static_cast<size_t>(c.rope_dim / 2));
  ASSERT_NE(w.rope_factors_long, w.rope_factors_short);
  EXPECT_EQ(&RopeFreqFactorsFor(c, w, 256), &w.rope_factors_short);
  EXPECT_EQ(&RopeFreqFactorsFor(c, w, 257), &w.rope_factors_long);
  // The same 8 tokens: a context past 256 rotates them with the long set.
  const std::vector<float> short_ctx = PrefillLogits(**m, 256);
  const std::vector<float> long_ctx = PrefillLogits(**m, 257);
  EXPECT_NE(short_ctx, long_ctx);
  EXPECT_EQ(long_ctx, PrefillLogits(**m, 1024));
  EXPECT_EQ(short_ctx, PrefillLogits(**m, 64));
}

// Keys are saved rotated: a K/V file from a context on the long set cannot
// continue in a context on the short one (or the reverse), and says which -c.
TEST(LongRope, KvFileRemembersTheFactorSet) {
  const std::string path = WriteTiny("kv");
  Result<std::unique_ptr<Model>> m = Model::Load(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(m.ok()) << m.status().message();
  const std::string kv = path + ".kv";
  const std::vector<int32_t> tokens = {5, 17, 300, 42, 9, 811, 64, 3};
  std::vector<float> logits((*m)->config().vocab_size);
  const auto session = [&](int context) {
    SessionOptions so;
    so.context = context;
    so.attention.method = AttentionMethod::kDense;
    auto s = Session::Create(**m, so);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return std::move(*s);
  };
  auto saver = session(300);  // long factors
  ASSERT_TRUE(saver->Prefill(tokens.data(), 8, logits.data()).ok());
  ASSERT_TRUE(saver->SaveKv(kv, tokens, logits).ok());
  Result<KvSnapshot> same_set = session(1024)->LoadKv(kv, tokens);
  EXPECT_TRUE(same_set.ok()) << same_set.status().message();
  Result<KvSnapshot> other_set = session(256)->LoadKv(kv, tokens);
  std::filesystem::remove(kv);
  ASSERT_FALSE(other_set.ok());
  EXPECT_NE(other_set.status().message().find("LongRoPE's long factors"), std::string::npos)
      << other_set.status().message();
  EXPECT_NE(other_set.status().message().find("-c above"), std::string::npos)
      << other_set.status().message();
}

TEST(LongRope, NonPositiveFactorIsNamed) {
  const std::string path = WriteTiny("bad");
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    bytes = ss.str();
  }
  Result<std::unique_ptr<Model>> good = Model::Load(path);
  ASSERT_TRUE(good.ok()) << good.status().message();
  // Overwrite the short set's first factor (found by its bytes) with -1.
  const std::vector<float>& f = (*good)->weights().rope_factors_short;
  const std::string pattern(reinterpret_cast<const char*>(f.data()), f.size() * sizeof(float));
  const size_t at = bytes.find(pattern);
  ASSERT_NE(at, std::string::npos);
  const float bad = -1.0f;
  std::memcpy(&bytes[at], &bad, sizeof bad);
  good->reset();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  Result<std::unique_ptr<Model>> m = Model::Load(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("rope_factors_short.weight[0]"), std::string::npos)
      << m.status().message();
}

}  // namespace
}  // namespace quest
