// Reference quantizers for F16, BF16, Q8_0 and Q4_0; Q4_K and Q6_K in
// quantize_k.cc.
#include "src/model/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "src/model/quantize_k.h"
#include "src/util/f16.h"

namespace quest {

bool CanQuantizeTo(GgmlType type) {
  return type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16 ||
         type == GgmlType::kQ8_0 || type == GgmlType::kQ4_0 || type == GgmlType::kQ4_K ||
         type == GgmlType::kQ6_K;
}

namespace {

void PutF16(uint8_t* p, float v) {
  const uint16_t h = F32ToF16(v);
  std::memcpy(p, &h, 2);
}

// Q8_0: 32 values = f16 scale d + 32 int8, x ~ d * q, d = max|x| / 127.
void QuantizeQ8_0(const float* x, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / 32; ++b, x += 32, out += 34) {
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    PutF16(out, d);
    for (int i = 0; i < 32; ++i) {
      out[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(std::lround(x[i] * id)));
    }
  }
}

// Q4_0: 32 values = f16 scale d + 16 bytes of nibbles, x ~ d * (q - 8); the
// value of largest magnitude maps to -8, as in ggml. Low nibbles hold values
// 0..15 of the block, high nibbles 16..31.
void QuantizeQ4_0(const float* x, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / 32; ++b, x += 32, out += 18) {
    float amax = 0, max = 0;
    for (int i = 0; i < 32; ++i) {
      if (std::fabs(x[i]) > amax) {
        amax = std::fabs(x[i]);
        max = x[i];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    PutF16(out, d);
    for (int i = 0; i < 16; ++i) {
      const int q0 = std::min(15, static_cast<int>(x[i] * id + 8.5f));
      const int q1 = std::min(15, static_cast<int>(x[i + 16] * id + 8.5f));
      out[2 + i] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

}  // namespace

void QuantizeRow(GgmlType type, const float* x, int64_t n, void* out) {
  uint8_t* o = static_cast<uint8_t*>(out);
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(o, x, n * sizeof(float));
      return;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) PutF16(o + 2 * i, x[i]);
      return;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint32_t bits;
        std::memcpy(&bits, &x[i], 4);
        bits += 0x7FFF + ((bits >> 16) & 1);  // round to nearest even
        const uint16_t h = static_cast<uint16_t>(bits >> 16);
        std::memcpy(o + 2 * i, &h, 2);
      }
      return;
    case GgmlType::kQ8_0:
      QuantizeQ8_0(x, n, o);
      return;
    case GgmlType::kQ4_0:
      QuantizeQ4_0(x, n, o);
      return;
    case GgmlType::kQ4_K:
      QuantizeRowQ4_K(x, n, o);
      return;
    case GgmlType::kQ6_K:
      QuantizeRowQ6_K(x, n, o);
      return;
    default:
      QE_CHECK(false, "QuantizeRow: unsupported type %u", static_cast<unsigned>(type));
  }
}

}  // namespace quest
