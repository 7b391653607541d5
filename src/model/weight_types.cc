// make-model's --type values and the per-matrix Q4_K_M mix.
#include "src/model/weight_types.h"

namespace quest {
namespace {

// llama.cpp's use_more_bits: the first and last eighth of the layers, and
// every third layer between.
bool UseMoreBits(int layer, int layers) {
  return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
}

}  // namespace

Result<WeightTypes> ParseWeightTypes(const std::string& type) {
  // file types: llama_ftype's MOSTLY_F16, Q8_0, Q4_0, Q4_K_S (the nearest to
  // Q4_K throughout), Q4_K_M.
  if (type == "f16") return WeightTypes{type, GgmlType::kF16, false, 1};
  if (type == "q8_0") return WeightTypes{type, GgmlType::kQ8_0, false, 7};
  if (type == "q4_0") return WeightTypes{type, GgmlType::kQ4_0, false, 2};
  if (type == "q4_k") return WeightTypes{type, GgmlType::kQ4_K, false, 14};
  if (type == "q4_k_m") return WeightTypes{type, GgmlType::kQ4_K, true, 15};
  return Status::Error("invalid --type '" + type + "' (expected f16, q8_0, q4_0, q4_k or q4_k_m)");
}

GgmlType MatrixType(const WeightTypes& types, MatrixRole role, int layer, int layers,
                    int64_t cols) {
  GgmlType t = types.base;
  if (types.q4_k_m) {
    if (role == MatrixRole::kOutput ||
        ((role == MatrixRole::kAttnV || role == MatrixRole::kFfnDown) &&
         UseMoreBits(layer, layers))) {
      t = GgmlType::kQ6_K;
    }
  }
  const uint32_t block = GetGgmlTypeTraits(static_cast<uint32_t>(t))->block_size;
  return cols % block == 0 ? t : GgmlType::kQ8_0;
}

}  // namespace quest
