// The ggml tensor types a GGUF file may hold: ids as in the GGUF spec, and the
// block geometry every reader and kernel needs (elements per block, bytes per
// block). Types quest cannot compute with are still named, so errors can say
// which type a file uses.
#pragma once

#include <cstddef>
#include <cstdint>

namespace quest {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
};

struct GgmlTypeTraits {
  const char* name;     // "q4_K", as ggml names it
  uint32_t block_size;  // elements per block (1 for plain types)
  uint32_t type_size;   // bytes per block
};

// Traits of a type id, or nullptr if the id is unknown. Never trust an id read
// from a file before this returns non-null.
inline const GgmlTypeTraits* GetGgmlTypeTraits(uint32_t id) {
  static constexpr GgmlTypeTraits kUnknown = {nullptr, 0, 0};
  static constexpr GgmlTypeTraits kTable[] = {
      {"f32", 1, 4},          // 0
      {"f16", 1, 2},          // 1
      {"q4_0", 32, 18},       // 2
      {"q4_1", 32, 20},       // 3
      kUnknown,               // 4 (removed q4_2)
      kUnknown,               // 5 (removed q4_3)
      {"q5_0", 32, 22},       // 6
      {"q5_1", 32, 24},       // 7
      {"q8_0", 32, 34},       // 8
      {"q8_1", 32, 36},       // 9
      {"q2_K", 256, 84},      // 10
      {"q3_K", 256, 110},     // 11
      {"q4_K", 256, 144},     // 12
      {"q5_K", 256, 176},     // 13
      {"q6_K", 256, 210},     // 14
      {"q8_K", 256, 292},     // 15
      {"iq2_xxs", 256, 66},   // 16
      {"iq2_xs", 256, 74},    // 17
      {"iq3_xxs", 256, 98},   // 18
      {"iq1_s", 256, 50},     // 19
      {"iq4_nl", 32, 18},     // 20
      {"iq3_s", 256, 110},    // 21
      {"iq2_s", 256, 82},     // 22
      {"iq4_xs", 256, 136},   // 23
      {"i8", 1, 1},           // 24
      {"i16", 1, 2},          // 25
      {"i32", 1, 4},          // 26
      {"i64", 1, 8},          // 27
      {"f64", 1, 8},          // 28
      {"iq1_m", 256, 56},     // 29
      {"bf16", 1, 2},         // 30
      kUnknown,               // 31 (removed q4_0_4_4)
      kUnknown,               // 32 (removed q4_0_4_8)
      kUnknown,               // 33 (removed q4_0_8_8)
      {"tq1_0", 256, 54},     // 34
      {"tq2_0", 256, 66},     // 35
  };
  if (id >= sizeof(kTable) / sizeof(kTable[0]) || kTable[id].name == nullptr) return nullptr;
  return &kTable[id];
}

// True for the types quest's kernels compute with (dequantize and matvec).
inline bool IsSupportedWeightType(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_0:
    case GgmlType::kQ5_1:
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K:
      return true;
    default:
      return false;
  }
}

}  // namespace quest
