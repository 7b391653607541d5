// The whole model against two independent implementations (see
// tests/testdata/model/README.md), for both real models, dense attention:
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

#include "nlohmann/json.hpp"
#include "src/engine/model.h"
#include "src/engine/session.h"

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

void CheckGoldens(const std::string& name, const Oracle& oracle) {
  std::ifstream in(std::string(QUEST_TESTDATA_DIR) + "/model/" + oracle.prefix + name + ".json");
  ASSERT_TRUE(in.good()) << oracle.prefix << name;
  const nlohmann::json golden = nlohmann::json::parse(in);
  Result<std::unique_ptr<Model>> m =
      Model::Load(std::string(QUEST_MODELS_DIR) + "/" + golden["model"].get<std::string>());
  ASSERT_TRUE(m.ok()) << m.status().message() << " (run `make setup`)";
  const int vocab = (*m)->config().vocab_size;
  double worst = 0;
  int greedy_cases = 0;
  for (const auto& c : golden["cases"]) {
    const std::vector<int32_t> tokens = c["tokens"].get<std::vector<int32_t>>();
    SessionOptions so;
    so.context = static_cast<int>(tokens.size()) + 40;
    so.attention.method = AttentionMethod::kDense;
    auto s = Session::Create(**m, so);
    ASSERT_TRUE(s.ok());
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
      for (const auto& entry : top5) {
        const int id = entry[0].get<int>();
        const double diff = std::fabs(logits[id] - entry[1].get<double>());
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

class GoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenTest, MatchesFloat64Reference) { CheckGoldens(GetParam(), kFloatReference); }
TEST_P(GoldenTest, MatchesLlamaCppWithinItsActivationQuantization) {
  CheckGoldens(GetParam(), std::string(GetParam()) == "smollm2" ? kLlamaCppSmolLm2 : kLlamaCpp);
}

INSTANTIATE_TEST_SUITE_P(RealModels, GoldenTest, ::testing::Values("gemma3", "smollm2"));

}  // namespace
}  // namespace quest
