// Block-level Quest metadata, folded page by page as pages fill.
#include "src/quest/page_blocks.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "src/util/check.h"
#include "src/util/f16.h"

namespace quest {
namespace {

float ToF32(const uint8_t* base, KvType type, size_t i) {
  if (type == KvType::kF16) {
    uint16_t h;
    std::memcpy(&h, base + 2 * i, 2);
    return F16ToF32(h);
  }
  float f;
  std::memcpy(&f, base + 4 * i, 4);
  return f;
}

}  // namespace

PageBlocks::PageBlocks(int block_pages) : block_pages_(block_pages) {
  QE_CHECK(block_pages >= 1, "block of %d pages", block_pages);
}

void PageBlocks::Truncate(int length) {
  if (page_size_ == 0) return;
  const int keep = std::max(0, length) / page_size_;
  // A block is refolded from its first page: its bound must not keep the
  // maxima of pages that are gone.
  if (keep < folded_) folded_ = keep / block_pages_ * block_pages_;
}

void PageBlocks::Reset(const PagedKv& kv) {
  type_ = kv.type;
  num_kv_heads_ = kv.num_kv_heads;
  head_dim_ = kv.head_dim;
  page_size_ = kv.page_size;
  folded_ = 0;
  kmax_.assign(num_kv_heads_, {});
  kmin_.assign(num_kv_heads_, {});
  abs_max_.assign(num_kv_heads_, {});
}

void PageBlocks::Update(const PagedKv& kv, const Sequence& seq, int num_threads) {
  if (kv.type != type_ || kv.num_kv_heads != num_kv_heads_ || kv.head_dim != head_dim_ ||
      kv.page_size != page_size_) {
    Reset(kv);
  }
  const int full = seq.length / page_size_;
  Truncate(seq.length);
  if (full == folded_) return;
  const int blocks = (full + block_pages_ - 1) / block_pages_;
  const size_t row = static_cast<size_t>(head_dim_) * KvElementBytes(KvMetaType(type_));
  // A long prefill folds many pages at once: one KV head per thread.
#pragma omp parallel for num_threads(std::max(1, num_threads)) if (full - folded_ > 256)
  for (int h = 0; h < num_kv_heads_; ++h) {
    kmax_[h].resize(blocks * row);
    kmin_[h].resize(blocks * row);
    abs_max_[h].resize(blocks);
    for (int p = folded_; p < full; ++p) Fold(kv, h, p, seq.pages[p]);
  }
  folded_ = full;
}

// Folds page number page_index (physical id page) into its block; the first
// page of a block starts it.
void PageBlocks::Fold(const PagedKv& kv, int h, int page_index, int32_t page) {
  const int b = page_index / block_pages_;
  const KvType meta = KvMetaType(type_);
  const size_t esize = KvElementBytes(meta);
  const size_t row = static_cast<size_t>(head_dim_) * esize;
  const uint8_t* pmax = static_cast<const uint8_t*>(kv.kmax) + kv.MetaOffset(page, h) * esize;
  const uint8_t* pmin = static_cast<const uint8_t*>(kv.kmin) + kv.MetaOffset(page, h) * esize;
  uint8_t* bmax = kmax_[h].data() + b * row;
  uint8_t* bmin = kmin_[h].data() + b * row;
  if (page_index % block_pages_ == 0) {
    std::memcpy(bmax, pmax, row);
    std::memcpy(bmin, pmin, row);
  } else {
    // Keeps the stored bits of the larger (smaller) value, so the block holds
    // exactly the values some page holds.
    for (int i = 0; i < head_dim_; ++i) {
      if (ToF32(pmax, meta, i) > ToF32(bmax, meta, i)) {
        std::memcpy(bmax + i * esize, pmax + i * esize, esize);
      }
      if (ToF32(pmin, meta, i) < ToF32(bmin, meta, i)) {
        std::memcpy(bmin + i * esize, pmin + i * esize, esize);
      }
    }
  }
  float a = 0;
  for (int i = 0; i < head_dim_; ++i) {
    a = std::max({a, std::fabs(ToF32(bmax, meta, i)), std::fabs(ToF32(bmin, meta, i))});
  }
  abs_max_[h][b] = a;
}

PagedKv PageBlocks::BlockView(int kv_head) const {
  PagedKv v;
  v.kmax = kmax_[kv_head].data();
  v.kmin = kmin_[kv_head].data();
  v.type = type_;
  v.num_kv_heads = 1;
  v.num_pages = num_blocks();
  v.page_size = page_size_;
  v.head_dim = head_dim_;
  return v;
}

}  // namespace quest
