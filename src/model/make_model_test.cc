// make-model writes loadable, deterministic GGUF files; the quantizers invert
// the reference dequantizers within half a step; on a tiny random llama, Quest
// with a budget covering the context is exactly dense, below it reads less
// (fast, no download).
#include "src/model/make_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "src/engine/model.h"
#include "src/engine/session.h"
#include "src/gguf/gguf.h"
#include "src/kernels/quant/quant_reference.h"
#include "src/model/quantize.h"

namespace quest {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("quest_" + name + "_" + std::to_string(::getpid()) + ".gguf"))
      .string();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Quantize, RoundTripsWithinHalfAStep) {
  std::mt19937 rng(1);
  std::normal_distribution<float> n(0, 1);
  std::vector<float> x(256 * 3);
  for (float& v : x) v = n(rng);
  for (GgmlType t : {GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ4_0}) {
    std::vector<uint8_t> q(RowBytes(t, x.size()));
    QuantizeRow(t, x.data(), x.size(), q.data());
    std::vector<float> y(x.size());
    DequantizeRowRef(t, q.data(), x.size(), y.data());
    for (size_t b = 0; b < x.size(); b += 32) {
      float amax = 0;
      for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b + i]));
      // Half a quantization step, plus the f16 rounding of the block scale
      // (relative 2^-11) times the largest quantized magnitude.
      const bool q8 = t == GgmlType::kQ8_0, q4 = t == GgmlType::kQ4_0;
      const float step = q8 ? amax / 127 : q4 ? amax / 8
                         : t == GgmlType::kBF16 ? amax / 128 : amax / 1024;
      const float qmax = q8 ? 127 : q4 ? 8 : 0;
      // Q4_0 maps the largest magnitude to -8, so +amax clamps to +7: a full
      // step on that side, as in ggml.
      const float bound = step * ((q4 ? 1.0f : 0.5f) + qmax / 2048) * 1.001f + 1e-6f;
      for (int i = 0; i < 32; ++i) {
        ASSERT_LE(std::fabs(y[b + i] - x[b + i]), bound)
            << static_cast<int>(t) << " at " << b + i;
      }
    }
  }
}

TEST(MakeModel, TinyFilesLoadRunAndAreDeterministic) {
  // q4_k_m: the 128-value rows of this preset take Q8_0, the 256-value
  // ffn_down rows Q4_K (layer 0) and Q6_K (layer 1).
  for (const char* type : {"f16", "q8_0", "q4_0", "q4_k_m"}) {
    MakeModelOptions o;
    o.preset = "tiny";
    o.type = type;
    o.output = TempPath(std::string("tiny_") + type);
    std::ostringstream log;
    ASSERT_TRUE(MakeModel(o, log).ok());
    const std::string first = ReadAll(o.output);
    ASSERT_TRUE(MakeModel(o, log).ok());
    EXPECT_EQ(ReadAll(o.output), first) << "same seed, same bytes";

    Result<std::unique_ptr<Model>> m = Model::Load(o.output);
    ASSERT_TRUE(m.ok()) << m.status().message();
    EXPECT_EQ((*m)->config().num_layers, 2);
    EXPECT_EQ((*m)->config().vocab_size, 1024);

    // Quest with a budget covering the context takes the dense path exactly;
    // with a budget of 2 of its 7 pages it scores and drops pages: it reads
    // less KV than dense and its logits move.
    std::vector<int32_t> prompt(100);
    for (int i = 0; i < 100; ++i) prompt[i] = 256 + (i * 37) % 700;
    std::vector<std::vector<float>> logits;
    std::vector<double> kv_bytes;
    for (int budget : {0, 128, 32}) {  // 0: dense
      SessionOptions so;
      so.context = 128;
      so.attention.method = budget == 0 ? AttentionMethod::kDense : AttentionMethod::kQuest;
      so.attention.quest.budget = budget == 0 ? 128 : budget;
      so.attention.page_size = 16;
      so.attention.dense_layers = 0;
      auto s = Session::Create(**m, so);
      ASSERT_TRUE(s.ok());
      std::vector<float> l(1024);
      ASSERT_TRUE((*s)->Prefill(prompt.data(), prompt.size(), l.data()).ok());
      for (int i = 0; i < 5; ++i) ASSERT_TRUE((*s)->Decode(prompt[i], l.data()).ok());
      for (float v : l) ASSERT_TRUE(std::isfinite(v));
      logits.push_back(l);
      kv_bytes.push_back((*s)->last_kv_bytes_read());
    }
    EXPECT_EQ(logits[0], logits[1]);
    EXPECT_EQ(kv_bytes[0], kv_bytes[1]);
    EXPECT_LT(kv_bytes[2], kv_bytes[0]) << "selection ran: 2 of 7 pages per layer";
    EXPECT_NE(logits[0], logits[2]);
    std::remove(o.output.c_str());
  }
}

// `--tiny --type q4_k_m` widens d_model to 256 so that every matrix takes a
// k-quant: Q6_K for the output and layer 1's attn_v and ffn_down (the last
// eighth of 2 layers), Q4_K for the rest, as llama.cpp's Q4_K_M chooses.
TEST(MakeModel, TinyQ4_K_MFileHasTheMix) {
  MakeModelOptions o;
  o.preset = "llama3.1-8b";
  o.tiny = true;
  o.type = "q4_k_m";
  o.output = TempPath("tiny_q4_k_m");
  std::ostringstream log;
  ASSERT_TRUE(MakeModel(o, log).ok());
  Result<GgufFile> f = GgufFile::Open(o.output);
  std::remove(o.output.c_str());
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(*f->GetU32("general.file_type"), 15u);
  EXPECT_EQ(*f->GetU32("llama.embedding_length"), 256u);
  int q6 = 0;
  for (const GgufTensor& t : f->tensors()) {
    if (t.shape.size() < 2) continue;
    const bool want_q6 = t.name == "output.weight" || t.name == "blk.1.attn_v.weight" ||
                         t.name == "blk.1.ffn_down.weight";
    EXPECT_EQ(t.type, want_q6 ? GgmlType::kQ6_K : GgmlType::kQ4_K) << t.name;
    q6 += want_q6;
  }
  EXPECT_EQ(q6, 3);
}

// `--repack`: the Q4_0 matrices get a copy 8 rows wide that decode reads
// instead; the logits are those of the rows up to f32 summation order, and
// other types are left alone.
TEST(MakeModel, RepackedQ4_0DecodesAsTheRows) {
  for (const char* type : {"q4_0", "f16"}) {
    MakeModelOptions o;
    o.preset = "tiny";
    o.type = type;
    o.output = TempPath(std::string("repack_") + type);
    std::ostringstream log;
    ASSERT_TRUE(MakeModel(o, log).ok());
    std::vector<std::vector<float>> logits;
    for (bool repack : {false, true}) {
      Result<std::unique_ptr<Model>> m = Model::Load(o.output, LoadOptions{repack, 2});
      ASSERT_TRUE(m.ok()) << m.status().message();
      const ModelWeights& w = (*m)->weights();
      const bool q4 = std::string(type) == "q4_0";
      EXPECT_EQ(w.repacked_bytes > 0, repack && q4) << type;
      if (repack && q4) {
        for (const LayerWeights& l : w.layers) {
          for (const Matrix* mat : {&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down}) {
            EXPECT_EQ(mat->repacked != nullptr, mat->type == GgmlType::kQ4_0 && mat->rows % 8 == 0);
          }
        }
      }
      std::vector<int32_t> prompt(40);
      for (int i = 0; i < 40; ++i) prompt[i] = 256 + (i * 53) % 700;
      SessionOptions so;
      so.context = 64;
      so.threads = 2;
      auto s = Session::Create(**m, so);
      ASSERT_TRUE(s.ok());
      std::vector<float> l(1024);
      ASSERT_TRUE((*s)->Prefill(prompt.data(), prompt.size(), l.data()).ok());
      std::vector<float> all;
      for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE((*s)->Decode(prompt[i], l.data()).ok());
        all.insert(all.end(), l.begin(), l.end());
      }
      logits.push_back(all);
    }
    float scale = 0, diff = 0;
    for (size_t i = 0; i < logits[0].size(); ++i) {
      scale = std::max(scale, std::fabs(logits[0][i]));
      diff = std::max(diff, std::fabs(logits[0][i] - logits[1][i]));
    }
    ASSERT_GT(scale, 0.0f);
    EXPECT_LE(diff, 1e-4f * scale) << type << ": max logit " << scale;
    std::remove(o.output.c_str());
  }
}

// Each family's tiny file under Quest (per-KV-head selection, no dense
// layers): with a budget covering the 300-token context it is exactly dense;
// with 64 tokens (4 of 19 pages) selection runs, reads less and moves the
// logits. The scaled presets decode past their original context (256).
class QuestOnFamily : public ::testing::TestWithParam<const char*> {};

TEST_P(QuestOnFamily, MatchesDenseWhenTheBudgetCoversAndSelectsBelow) {
  MakeModelOptions o;
  o.preset = GetParam();
  o.tiny = true;
  o.output = TempPath(std::string("family_") + GetParam());
  std::ostringstream log;
  ASSERT_TRUE(MakeModel(o, log).ok());
  Result<std::unique_ptr<Model>> m = Model::Load(o.output);
  std::remove(o.output.c_str());
  ASSERT_TRUE(m.ok()) << m.status().message();
  const int vocab = (*m)->config().vocab_size;
  std::vector<int32_t> prompt(296);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = 3 + (i * 37) % 700;
  std::vector<std::vector<float>> logits;
  std::vector<double> kv_bytes;
  for (int budget : {0, 512, 64}) {  // 0: dense
    SessionOptions so;
    so.context = 320;
    so.attention.method = budget == 0 ? AttentionMethod::kDense : AttentionMethod::kQuest;
    so.attention.quest.budget = budget == 0 ? 512 : budget;
    so.attention.page_size = 16;
    so.attention.dense_layers = 0;
    auto s = Session::Create(**m, so);
    ASSERT_TRUE(s.ok()) << s.status().message();
    std::vector<float> l(vocab);
    ASSERT_TRUE((*s)->Prefill(prompt.data(), prompt.size(), l.data()).ok());
    std::vector<float> all;
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE((*s)->Decode(prompt[i], l.data()).ok());
      all.insert(all.end(), l.begin(), l.end());
    }
    for (float v : all) ASSERT_TRUE(std::isfinite(v));
    logits.push_back(all);
    kv_bytes.push_back((*s)->last_kv_bytes_read());
  }
  EXPECT_EQ(logits[0], logits[1]);
  EXPECT_EQ(kv_bytes[0], kv_bytes[1]);
  EXPECT_LT(kv_bytes[2], kv_bytes[0]) << "selection ran";
  EXPECT_NE(logits[0], logits[2]);
}

INSTANTIATE_TEST_SUITE_P(Families, QuestOnFamily,
                         ::testing::Values("llama3.1-8b", "mistral-7b", "qwen2.5-7b", "qwen3-8b",
                                           "phi3-mini", "phi3-mini-128k"));

TEST(MakeModel, BadOptionsAreNamed) {
  std::ostringstream log;
  MakeModelOptions o;
  o.preset = "gpt5";
  o.output = TempPath("bad");
  Status s = MakeModel(o, log);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("gpt5"), std::string::npos) << s.message();
  o.preset = "tiny";
  o.type = "q3_k";
  s = MakeModel(o, log);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("q3_k"), std::string::npos) << s.message();
  o.type = "f16";
  o.output = "/nonexistent-dir/x.gguf";
  EXPECT_FALSE(MakeModel(o, log).ok());
}

}  // namespace
}  // namespace quest
