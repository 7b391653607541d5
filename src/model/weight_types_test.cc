// make-model's --type values and the Q4_K_M mix against llama.cpp's choice.
#include "src/model/weight_types.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace quest {
namespace {

TEST(WeightTypes, UnknownTypeIsNamed) {
  const Result<WeightTypes> t = ParseWeightTypes("q5_k_m");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("q5_k_m"), std::string::npos) << t.status().message();
  EXPECT_NE(t.status().message().find("q4_k_m"), std::string::npos) << t.status().message();
}

// llama.cpp's Q4_K_M on a 32-layer model (Llama 3.1 8B): Q6_K for attn_v and
// ffn_down in layers 0-3, 28-31 and every third layer from 6 (16 of 32), and
// for the output; Q4_K for everything else.
TEST(WeightTypes, Q4_K_MGivesQ6_KWhereLlamaCppDoes) {
  const WeightTypes m = *ParseWeightTypes("q4_k_m");
  EXPECT_EQ(m.file_type, 15u);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
  const std::vector<int> q6 = {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31};
  for (int l = 0; l < 32; ++l) {
    const bool more = std::find(q6.begin(), q6.end(), l) != q6.end();
    const GgmlType want = more ? GgmlType::kQ6_K : GgmlType::kQ4_K;
    EXPECT_EQ(MatrixType(m, MatrixRole::kAttnV, l, 32, 4096), want) << "attn_v " << l;
    EXPECT_EQ(MatrixType(m, MatrixRole::kFfnDown, l, 32, 14336), want) << "ffn_down " << l;
    EXPECT_EQ(MatrixType(m, MatrixRole::kOther, l, 32, 4096), GgmlType::kQ4_K) << l;
  }
  EXPECT_EQ(MatrixType(m, MatrixRole::kOutput, 0, 32, 4096), GgmlType::kQ6_K);
}

// Plain q4_k is Q4_K throughout; rows that 256-value blocks do not divide
// fall back to Q8_0 in both.
TEST(WeightTypes, Q4_KIsUniformAndFallsBackToQ8_0) {
  const WeightTypes k = *ParseWeightTypes("q4_k");
  const WeightTypes m = *ParseWeightTypes("q4_k_m");
  for (MatrixRole r :
       {MatrixRole::kOther, MatrixRole::kOutput, MatrixRole::kAttnV, MatrixRole::kFfnDown}) {
    EXPECT_EQ(MatrixType(k, r, 0, 32, 4096), GgmlType::kQ4_K);
    EXPECT_EQ(MatrixType(k, r, 0, 32, 128), GgmlType::kQ8_0);
    EXPECT_EQ(MatrixType(m, r, 0, 32, 128), GgmlType::kQ8_0);
  }
  const WeightTypes q4 = *ParseWeightTypes("q4_0");
  EXPECT_EQ(MatrixType(q4, MatrixRole::kOutput, 0, 2, 128), GgmlType::kQ4_0);
}

}  // namespace
}  // namespace quest
