// Scalar dequantizers for F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K,
// Q5_K, Q6_K. Plain loops, written from the block layouts, for clarity.
#include "src/kernels/quant/quant_reference.h"

#include <cstring>
#include <vector>

#include "src/util/f16.h"

namespace quest {
namespace {

float Half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return F16ToF32(h);
}

// Q4_0, 18 bytes / 32 values: f16 d, 16 bytes of nibbles. Low nibbles are
// values 0..15, high nibbles 16..31; x = d * (q - 8).
void Q4_0(const uint8_t* b, float* y) {
  const float d = Half(b);
  for (int j = 0; j < 16; ++j) {
    y[j] = d * ((b[2 + j] & 0xF) - 8);
    y[j + 16] = d * ((b[2 + j] >> 4) - 8);
  }
}

// Q4_1, 20 bytes: f16 d, f16 m, 16 bytes of nibbles; x = d * q + m.
void Q4_1(const uint8_t* b, float* y) {
  const float d = Half(b), m = Half(b + 2);
  for (int j = 0; j < 16; ++j) {
    y[j] = d * (b[4 + j] & 0xF) + m;
    y[j + 16] = d * (b[4 + j] >> 4) + m;
  }
}

// Q5_0, 22 bytes: f16 d, 32 high bits (u32, bit j = value j), 16 bytes of
// low nibbles as in Q4_0; x = d * (q - 16).
void Q5_0(const uint8_t* b, float* y) {
  const float d = Half(b);
  uint32_t qh;
  std::memcpy(&qh, b + 2, 4);
  for (int j = 0; j < 16; ++j) {
    const int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
    y[j] = d * (((b[6 + j] & 0xF) | (h0 << 4)) - 16);
    y[j + 16] = d * (((b[6 + j] >> 4) | (h1 << 4)) - 16);
  }
}

// Q5_1, 24 bytes: f16 d, f16 m, 32 high bits, 16 bytes; x = d * q + m.
void Q5_1(const uint8_t* b, float* y) {
  const float d = Half(b), m = Half(b + 2);
  uint32_t qh;
  std::memcpy(&qh, b + 4, 4);
  for (int j = 0; j < 16; ++j) {
    const int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
    y[j] = d * ((b[8 + j] & 0xF) | (h0 << 4)) + m;
    y[j + 16] = d * ((b[8 + j] >> 4) | (h1 << 4)) + m;
  }
}

// Q8_0, 34 bytes: f16 d, 32 int8; x = d * q.
void Q8_0(const uint8_t* b, float* y) {
  const float d = Half(b);
  for (int j = 0; j < 32; ++j) y[j] = d * static_cast<int8_t>(b[2 + j]);
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block,
// packed in 12 bytes: j < 4 in the low 6 bits of bytes j and j + 4; j >= 4
// split between nibbles of bytes j + 4 and the top 2 bits of bytes j - 4, j.
void ScaleMinK4(int j, const uint8_t* q, int* sc, int* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q4_K, 144 bytes / 256 values: f16 d, f16 dmin, 12 bytes of scales/mins,
// 128 bytes of nibbles. 8 sub-blocks of 32: x = d * sc * q - dmin * m. Each 32
// bytes of qs hold two sub-blocks (low nibbles first).
void Q4_K(const uint8_t* b, float* y) {
  const float d = Half(b), dmin = Half(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  for (int j = 0; j < 4; ++j, q += 32) {
    int sc, m;
    ScaleMinK4(2 * j, scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    ScaleMinK4(2 * j + 1, scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
  }
}

// Q5_K, 176 bytes: f16 d, f16 dmin, 12 bytes of scales/mins, 32 bytes of high
// bits (bit 2j / 2j+1 of byte l: value l of sub-blocks 2j / 2j+1), 128 bytes
// of nibbles as in Q4_K.
void Q5_K(const uint8_t* b, float* y) {
  const float d = Half(b), dmin = Half(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + 48;
  for (int j = 0; j < 4; ++j, ql += 32) {
    int sc, m;
    ScaleMinK4(2 * j, scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    ScaleMinK4(2 * j + 1, scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + ((qh[l] >> (2 * j)) & 1) * 16) - m1;
    for (int l = 0; l < 32; ++l) {
      *y++ = d2 * ((ql[l] >> 4) + ((qh[l] >> (2 * j + 1)) & 1) * 16) - m2;
    }
  }
}

// Q6_K, 210 bytes: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8
// scales, f16 d. Two halves of 128 values; in each, value l + 32k (k < 4)
// takes its low nibble from ql[l + 32 (k & 1)] (low or high nibble by k >> 1)
// and bits 2k..2k+1 of qh[l]; x = d * scale[l / 16 + 2k] * (q - 32).
void Q6_K(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = Half(b + 208);
  for (int n = 0; n < 2; ++n, y += 128, ql += 64, qh += 32, sc += 8) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * sc[is] * q1;
      y[l + 32] = d * sc[is + 2] * q2;
      y[l + 64] = d * sc[is + 4] * q3;
      y[l + 96] = d * sc[is + 6] * q4;
    }
  }
}

}  // namespace

Status CheckWeightType(GgmlType type, int64_t cols) {
  const GgmlTypeTraits* t = GetGgmlTypeTraits(static_cast<uint32_t>(type));
  if (t == nullptr || !IsSupportedWeightType(type)) {
    return Status::Error(StrFormat("weight type %s (%u) is not supported",
                                   t ? t->name : "unknown", static_cast<unsigned>(type)));
  }
  if (cols <= 0 || cols % t->block_size != 0) {
    return Status::Error(StrFormat("a row of %lld values is not a whole number of %s blocks (%u)",
                                   static_cast<long long>(cols), t->name, t->block_size));
  }
  return Status();
}

size_t RowBytes(GgmlType type, int64_t cols) {
  const GgmlTypeTraits* t = GetGgmlTypeTraits(static_cast<uint32_t>(type));
  return static_cast<size_t>(cols / t->block_size) * t->type_size;
}

void DequantizeRowRef(GgmlType type, const void* row, int64_t cols, float* out) {
  const uint8_t* b = static_cast<const uint8_t*>(row);
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(out, b, cols * 4);
      return;
    case GgmlType::kF16:
      for (int64_t i = 0; i < cols; ++i) out[i] = Half(b + 2 * i);
      return;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < cols; ++i) {
        uint16_t h;
        std::memcpy(&h, b + 2 * i, 2);
        const uint32_t bits = static_cast<uint32_t>(h) << 16;
        std::memcpy(&out[i], &bits, 4);
      }
      return;
    default:
      break;
  }
  const GgmlTypeTraits* t = GetGgmlTypeTraits(static_cast<uint32_t>(type));
  for (int64_t i = 0; i < cols / t->block_size; ++i) {
    DequantizeBlockRef(type, b + i * t->type_size, out + i * t->block_size);
  }
}

void DequantizeBlockRef(GgmlType type, const uint8_t* b, float* y) {
  switch (type) {
    case GgmlType::kQ4_0: return Q4_0(b, y);
    case GgmlType::kQ4_1: return Q4_1(b, y);
    case GgmlType::kQ5_0: return Q5_0(b, y);
    case GgmlType::kQ5_1: return Q5_1(b, y);
    case GgmlType::kQ8_0: return Q8_0(b, y);
    case GgmlType::kQ4_K: return Q4_K(b, y);
    case GgmlType::kQ5_K: return Q5_K(b, y);
    case GgmlType::kQ6_K: return Q6_K(b, y);
    default: QE_CHECK(false, "DequantizeBlockRef: type %u is not block-quantized",
                      static_cast<unsigned>(type));
  }
}

void MatVecRef(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
               float* y) {
  MatMulRef(type, w, rows, cols, x, 1, y);
}

void MatMulRef(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
               int64_t batch, float* y) {
  std::vector<float> row(cols);
  const size_t rb = RowBytes(type, cols);
  for (int64_t r = 0; r < rows; ++r) {
    DequantizeRowRef(type, static_cast<const uint8_t*>(w) + r * rb, cols, row.data());
    for (int64_t b = 0; b < batch; ++b) {
      double s = 0;
      for (int64_t c = 0; c < cols; ++c) s += static_cast<double>(row[c]) * x[b * cols + c];
      y[b * rows + r] = static_cast<float>(s);
    }
  }
}

}  // namespace quest
