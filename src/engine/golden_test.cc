// The whole model against two independent implementations (see
// tests/testdata/model/README.md), dense attention, for both real models and
// for a tiny random file of each family (make-model --tiny, written here):
// - a float64 numpy forward pass (reference_forward.py, weights dequantized by
//   gguf-py): top-5 logits at positions up to 2K within 0.05, and 32 greedy
//   tokens exactly;
// - llama.cpp, which quantizes activations to 8 bits in its matmuls: the same
//   logits within a looser, measured tolerance (label `model`).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "nlohmann/json.hpp"
#include "src/engine/model.h"
#include "src/engine/session.h"
#include "src/model/make_model.h"
#include "src/tokenizer/tokenizer.h"
#include "src/tokenizer/vocab.h"

namespace quest {
namespace {

struct Oracle {
  const char* prefix;     // golden file: <prefix><model>.json
  double tolerance;       // on each top-5 logit
  bool greedy_must_match;  // all 32 greedy tokens
};

// f32 activations and an f16 KV cache against float64: measured up to 0.008.
constexpr Oracle kFloatReference = {"reference_", 0.05, true};
// llama.cpp's 8-bit activations: measured up to 2.9 (Gemma 3), 0.76 (SmolLM2)
// against quest, while quest agrees with the float64 reference to 0.004. So
// this check is loose by necessity: it catches gross errors only (a wrong
// layer, RoPE, norm or template shifts logits by far more than 3.5), not
// subtle ones, and top-1 is compared only past a 7-logit gap. The float64
// reference above is the tight check; this one is an independent second
// implementation, not a precision bound.
constexpr Oracle kLlamaCpp = {"", 3.5, false};
// SmolLM2 quantizes more gently in llama.cpp: its own, tighter bound.
constexpr Oracle kLlamaCppSmolLm2 = {"", 1.0, false};

double LogSumExp(const std::vector<float>& x) {
  const double m = *std::max_element(x.begin(), x.end());
  double sum = 0;
  for (float v : x) sum += std::exp(v - m);
  return m + std::log(sum);
}

nlohmann::json ReadGolden(const std::string& file) {
  std::ifstream in(std::string(QUEST_TESTDATA_DIR) + "/model/" + file);
  EXPECT_TRUE(in.good()) << file;
  return in.good() ? nlohmann::json::parse(in) : nlohmann::json();
}

// Every case of `golden` on model m: top-5 logits within the oracle's
// tolerance, top-1 where the gap allows, greedy tokens.
void CheckCases(const Model& model, const nlohmann::json& golden, const std::string& name,
                const Oracle& oracle) {
  const Model* m = &model;
  const int vocab = m->config().vocab_size;
  // llama-server reports log-probabilities of the raw logits, not logits.
  const bool logprobs = golden.value("values", "logits") == "logprobs";
  double worst = 0;
  int greedy_cases = 0;
  for (const auto& c : golden["cases"]) {
    const std::vector<int32_t> tokens = c["tokens"].get<std::vector<int32_t>>();
    SessionOptions so;
    // The context picks LongRoPE's factor set; the oracles used the same.
    so.context = c.value("context", static_cast<int>(tokens.size()) + 40);
    so.attention.method = AttentionMethod::kDense;
    auto s = Session::Create(*m, so);
    ASSERT_TRUE(s.ok()) << s.status().message();
    std::vector<float> logits(vocab);
    int done = 0;
    for (const auto& at : c["logits"]) {
      const int p = at["position"].get<int>();
      ASSERT_TRUE((*s)->Prefill(tokens.data() + done, p + 1 - done, logits.data()).ok());
      done = p + 1;
      const auto& top5 = at["top5"];
      const int want_top1 = top5[0][0].get<int>();
      const int got_top1 =
          static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      // A near tie at the top may order either way; anything else must agree.
      if (top5[0][1].get<double>() - top5[1][1].get<double>() > 2 * oracle.tolerance) {
        EXPECT_EQ(got_top1, want_top1) << name << " position " << p;
      }
      const double shift = logprobs ? LogSumExp(logits) : 0;
      for (const auto& entry : top5) {
        const int id = entry[0].get<int>();
        const double diff = std::fabs(logits[id] - shift - entry[1].get<double>());
        worst = std::max(worst, diff);
        EXPECT_LE(diff, oracle.tolerance) << name << " position " << p << " token " << id;
      }
    }
    const std::vector<int32_t> greedy = c["greedy"].get<std::vector<int32_t>>();
    if (greedy.empty()) continue;
    ++greedy_cases;
    ASSERT_TRUE((*s)->Prefill(tokens.data() + done, tokens.size() - done, logits.data()).ok());
    std::vector<int32_t> got;
    for (size_t i = 0; i < greedy.size(); ++i) {
      const int32_t next =
          static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      got.push_back(next);
      if (next != greedy[i]) break;  // diverged: the rest would differ anyway
      if (i + 1 < greedy.size()) {
        ASSERT_TRUE((*s)->Decode(next, logits.data()).ok());
      }
    }
    size_t same = 0;
    while (same < got.size() && got[same] == greedy[same]) ++same;
    std::printf("%s%s: %zu of %zu greedy tokens agree\n", oracle.prefix, name.c_str(), same,
                greedy.size());
    if (oracle.greedy_must_match) {
      EXPECT_EQ(got, greedy) << name << ": greedy tokens diverge";
    }
  }
  EXPECT_GT(greedy_cases, 0);
  std::printf("%s%s: largest |logit difference| over the top-5 entries: %.4f\n", oracle.prefix,
              name.c_str(), worst);
}

void CheckGoldens(const std::string& name, const Oracle& oracle) {
  const nlohmann::json golden = ReadGolden(oracle.prefix + name + ".json");
  ASSERT_FALSE(golden.is_null());
  Result<std::unique_ptr<Model>> m =
      Model::Load(std::string(QUEST_MODELS_DIR) + "/" + golden["model"].get<std::string>());
  ASSERT_TRUE(m.ok()) << m.status().message() << " (run `make setup`)";
  CheckCases(**m, golden, name, oracle);
}

// A tiny family file, written from the golden's make_model options (the same
// bytes the oracles read: make-model is deterministic); the caller removes it.
std::string WriteTinyFile(const nlohmann::json& mm, const std::string& preset) {
  MakeModelOptions o;
  o.preset = mm["preset"].get<std::string>();
  o.tiny = mm["tiny"].get<bool>();
  o.seed = mm["seed"].get<uint64_t>();
  o.type = mm["type"].get<std::string>();
  o.output = (std::filesystem::temp_directory_path() /
              ("quest_golden_" + preset + "_" + std::to_string(::getpid()) + ".gguf"))
                 .string();
  std::ostringstream log;
  const Status s = MakeModel(o, log);
  EXPECT_TRUE(s.ok()) << s.message();
  return o.output;
}

void CheckTinyGoldens(const std::string& preset, const Oracle& oracle) {
  const nlohmann::json golden = ReadGolden(std::string(oracle.prefix) + "tiny_" + preset + ".json");
  ASSERT_FALSE(golden.is_null());
  const std::string path = WriteTinyFile(golden["make_model"], preset);
  Result<std::unique_ptr<Model>> m = Model::Load(path);
  std::filesystem::remove(path);  // the mapping stays valid
  ASSERT_TRUE(m.ok()) << m.status().message();
  CheckCases(**m, golden, "tiny " + preset, oracle);
}

// The family's vocabulary kind (Llama 3 BPE, Qwen 2 BPE with its
// pre-tokenizer, SentencePiece) against llama.cpp's ids on the varied strings
// of the tokenizer goldens.
void CheckTinyTokenizer(const std::string& preset) {
  const nlohmann::json golden = ReadGolden("tiny_" + preset + ".json");
  ASSERT_FALSE(golden.is_null());
  const std::string path = WriteTinyFile(golden["make_model"], preset);
  Result<GgufFile> f = GgufFile::Open(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(f.ok()) << f.status().message();
  Result<Vocab> v = LoadVocab(*f);
  ASSERT_TRUE(v.ok()) << v.status().message();
  Result<Tokenizer> t = Tokenizer::Create(std::move(*v));
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_GT(golden["tokenize"].size(), 50u);
  for (const auto& c : golden["tokenize"]) {
    const std::string text = c["text"].get<std::string>();
    EXPECT_EQ(t->Encode(text, false, false), c["ids"].get<std::vector<int32_t>>())
        << preset << ": \"" << text << "\"";
  }
}

class GoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenTest, MatchesFloat64Reference) { CheckGoldens(GetParam(), kFloatReference); }
TEST_P(GoldenTest, MatchesLlamaCppWithinItsActivationQuantization) {
  CheckGoldens(GetParam(), std::string(GetParam()) == "smollm2" ? kLlamaCppSmolLm2 : kLlamaCpp);
}

INSTANTIATE_TEST_SUITE_P(RealModels, GoldenTest, ::testing::Values("gemma3", "smollm2"));

// Tiny random files: f16 weights, activations near 1 and logits near 3.
// Against float64: quest's f32 activations and f16 KV cache, measured up to
// 0.0032 (Phi-3). Leaving out YaRN, its magnitude scale, a bias, the q/k
// norm or swapping gate and up moves them by 0.4 to 4.
constexpr Oracle kTinyFloatReference = {"reference_", 0.01, true};
// llama.cpp's log-probabilities (f16 weights: its f16 matmuls round the
// activations to f16): measured up to 0.008 (Phi-3; 0.0024-0.0042 for the
// others). Greedy tokens are reported, not required: on Phi-3 llama.cpp
// parts from quest and the float64 reference after 17 of 32.
constexpr Oracle kTinyLlamaCpp = {"", 0.03, false};
// The same families written as q4_k_m (every matrix Q4_K or Q6_K, from
// make-model's quantizer, read by llama.cpp's k-quant code): its quantized
// dots round the activations to 8 bits, measured up to 0.093 (0.063-0.093
// over the five; q8_0 files differ as much, 0.037-0.099), while quest reading
// Q4_K with two sub-blocks' mins swapped moves them by 1.7-2.7. Greedy tokens
// part at near ties after 3 to 32 tokens: reported only.
constexpr Oracle kTinyLlamaCppQ4_K_M = {"", 0.2, false};

class TinyFamilyGoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TinyFamilyGoldenTest, MatchesFloat64Reference) {
  CheckTinyGoldens(GetParam(), kTinyFloatReference);
}
// Mistral 7B v0.1's sliding window (64 in the tiny file) on every layer, past
// it at positions 150-299; float64 only, as llama.cpp ignores the window of a
// llama file.
TEST(TinyFamilyGolden, SlidingWindowMistralMatchesFloat64Reference) {
  CheckTinyGoldens("mistral-7b-v0.1", kTinyFloatReference);
}

TEST_P(TinyFamilyGoldenTest, MatchesLlamaCpp) { CheckTinyGoldens(GetParam(), kTinyLlamaCpp); }
TEST_P(TinyFamilyGoldenTest, Q4_K_MMatchesLlamaCpp) {
  CheckTinyGoldens(std::string("q4_k_m_") + GetParam(), kTinyLlamaCppQ4_K_M);
}
TEST_P(TinyFamilyGoldenTest, TokenizerMatchesLlamaCpp) { CheckTinyTokenizer(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Families, TinyFamilyGoldenTest,
                         ::testing::Values("llama3.1-8b", "mistral-7b", "qwen2.5-7b", "qwen3-8b",
                                           "phi3-mini", "phi3-mini-128k"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace quest
