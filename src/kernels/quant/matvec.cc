// MatVec / MatMul over ggml weight rows: Highway SIMD for F32, F16, BF16,
// Q8_0 and Q4_0 (dequantized in registers); the other block types are
// dequantized one block at a time into L1 by the scalar reference, then
// dotted with SIMD.
#include "src/kernels/quant/matvec.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "src/util/f16.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/quant/matvec.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace quest {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

float BlockScale(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return F16ToF32(h);
}

// sum of a[i] * b[i] over n floats (n a multiple of the lane count).
HWY_INLINE VF DotF32(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b, int64_t n,
                     VF acc) {
  const DF df;
  const int64_t N = hn::Lanes(df);
  for (int64_t i = 0; i < n; i += N) acc = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), acc);
  return acc;
}

// One row . x. buf: scratch of 256 floats (one block of any type).
float DotRow(GgmlType type, const uint8_t* HWY_RESTRICT row, int64_t cols,
             const float* HWY_RESTRICT x, float* HWY_RESTRICT buf) {
  const DF df;
  const int64_t N = hn::Lanes(df);
  VF acc0 = hn::Zero(df), acc1 = hn::Zero(df);
  switch (type) {
    case GgmlType::kF32: {
      acc0 = DotF32(reinterpret_cast<const float*>(row), x, cols, acc0);
      break;
    }
    case GgmlType::kF16: {
      const hn::Rebind<hwy::float16_t, DF> dh;
      const auto* h = reinterpret_cast<const hwy::float16_t*>(row);
      for (int64_t i = 0; i < cols; i += N) {
        acc0 = hn::MulAdd(hn::PromoteTo(df, hn::LoadU(dh, h + i)), hn::LoadU(df, x + i), acc0);
      }
      break;
    }
    case GgmlType::kBF16: {
      const hn::Rebind<uint16_t, DF> du16;
      const hn::Rebind<uint32_t, DF> du32;
      const auto* h = reinterpret_cast<const uint16_t*>(row);
      for (int64_t i = 0; i < cols; i += N) {
        const auto bits = hn::ShiftLeft<16>(hn::PromoteTo(du32, hn::LoadU(du16, h + i)));
        acc0 = hn::MulAdd(hn::BitCast(df, bits), hn::LoadU(df, x + i), acc0);
      }
      break;
    }
    case GgmlType::kQ8_0: {
      const hn::Rebind<int8_t, DF> di8;
      const hn::Rebind<int32_t, DF> di32;
      for (int64_t b = 0; b < cols / 32; ++b, row += 34, x += 32) {
        const int8_t* q = reinterpret_cast<const int8_t*>(row + 2);
        VF blk = hn::Zero(df);
        for (int64_t i = 0; i < 32; i += N) {
          blk = hn::MulAdd(hn::ConvertTo(df, hn::PromoteTo(di32, hn::LoadU(di8, q + i))),
                           hn::LoadU(df, x + i), blk);
        }
        acc0 = hn::MulAdd(hn::Set(df, BlockScale(row)), blk, acc0);
      }
      break;
    }
    case GgmlType::kQ4_0: {
      const hn::Rebind<uint8_t, DF> du8;
      const hn::Rebind<uint32_t, DF> du32;
      const hn::Rebind<int32_t, DF> di32;
      const auto mask = hn::Set(du32, 0xF);
      const auto eight = hn::Set(df, 8.0f);
      for (int64_t b = 0; b < cols / 32; ++b, row += 18, x += 32) {
        VF blk = hn::Zero(df);
        for (int64_t i = 0; i < 16; i += N) {
          const auto bytes = hn::PromoteTo(du32, hn::LoadU(du8, row + 2 + i));
          const auto lo = hn::Sub(hn::ConvertTo(df, hn::BitCast(di32, hn::And(bytes, mask))), eight);
          const auto hi = hn::Sub(hn::ConvertTo(df, hn::BitCast(di32, hn::ShiftRight<4>(bytes))), eight);
          blk = hn::MulAdd(lo, hn::LoadU(df, x + i), blk);
          blk = hn::MulAdd(hi, hn::LoadU(df, x + 16 + i), blk);
        }
        acc0 = hn::MulAdd(hn::Set(df, BlockScale(row)), blk, acc0);
      }
      break;
    }
    default: {
      const GgmlTypeTraits* t = GetGgmlTypeTraits(static_cast<uint32_t>(type));
      for (int64_t b = 0; b < cols / t->block_size; ++b) {
        DequantizeBlockRef(type, row + b * t->type_size, buf);
        acc1 = DotF32(buf, x + b * t->block_size, t->block_size, acc1);
      }
      break;
    }
  }
  return hn::GetLane(hn::SumOfLanes(df, hn::Add(acc0, acc1)));
}

void MatVecImpl(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
                float* y, int num_threads) {
  const size_t rb = RowBytes(type, cols);
#pragma omp parallel num_threads(num_threads)
  {
    HWY_ALIGN float buf[256];
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      y[r] = DotRow(type, static_cast<const uint8_t*>(w) + r * rb, cols, x, buf);
    }
  }
}

void MatMulImpl(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
                int64_t batch, float* y, int num_threads) {
  const size_t rb = RowBytes(type, cols);
  const DF df;
#pragma omp parallel num_threads(num_threads)
  {
    std::vector<float> row(cols);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      DequantizeRowRef(type, static_cast<const uint8_t*>(w) + r * rb, cols, row.data());
      for (int64_t b = 0; b < batch; ++b) {
        y[b * rows + r] =
            hn::GetLane(hn::SumOfLanes(df, DotF32(row.data(), x + b * cols, cols, hn::Zero(df))));
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace quest
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quest {

HWY_EXPORT(MatVecImpl);
HWY_EXPORT(MatMulImpl);

void DequantizeRow(GgmlType type, const void* row, int64_t cols, float* out) {
  DequantizeRowRef(type, row, cols, out);
}

void MatVec(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x, float* y,
            int num_threads) {
  QE_DCHECK(CheckWeightType(type, cols).ok());
  HWY_DYNAMIC_DISPATCH(MatVecImpl)(type, w, rows, cols, x, y, std::max(1, num_threads));
}

void MatMul(GgmlType type, const void* w, int64_t rows, int64_t cols, const float* x,
            int64_t batch, float* y, int num_threads) {
  QE_DCHECK(CheckWeightType(type, cols).ok());
  HWY_DYNAMIC_DISPATCH(MatMulImpl)(type, w, rows, cols, x, batch, y, std::max(1, num_threads));
}

}  // namespace quest
#endif  // HWY_ONCE
