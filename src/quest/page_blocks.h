// The second level of Quest's page metadata: blocks of consecutive pages of a
// sequence, each with the channel-wise max of its pages' kmax and min of their
// kmin, per KV head. A block's bound is then >= the bound of every page in it,
// which lets selection skip whole blocks (two_level_select.h). Kept beside the
// selector and fed the page metadata as pages fill.
#pragma once

#include <cstdint>
#include <vector>

#include "src/kernels/paged_kv.h"
#include "src/kv/kv_cache.h"

namespace quest {

class PageBlocks {
 public:
  // Chosen by `quest bench select` (docs/DESIGN.md, "Two-level selection").
  // The most metadata skipped: at 1M structured keys 4-page blocks score 33%
  // of the pages, 8-page 78%, 16-page 97%; the index costs 1/4 of the page
  // metadata's memory.
  static constexpr int kDefaultBlockPages = 4;

  explicit PageBlocks(int block_pages = kDefaultBlockPages);

  int block_pages() const { return block_pages_; }
  // Pages folded in so far: the sequence's first full pages.
  int folded_pages() const { return folded_; }
  int num_blocks() const { return (folded_ + block_pages_ - 1) / block_pages_; }

  // Forgets every page from the one holding token `length` on: those pages may
  // be rewritten (a sequence truncated, or released and refilled with the
  // same page ids). Call before tokens at or past `length` are written.
  void Truncate(int length);
  // Folds the full pages of seq not folded yet; starts afresh when the cache's
  // shape differs from the folded one's.
  void Update(const PagedKv& kv, const Sequence& seq, int num_threads = 1);

  // kv_head's block metadata as a one-head PagedKv whose pages are blocks
  // (ids 0 .. num_blocks - 1): the scoring kernel reads it like page metadata.
  PagedKv BlockView(int kv_head) const;
  // max over channels of max(|kmax|, |kmin|) of each block of kv_head: what
  // the rounding margin of a block's bound scales with.
  //   [num_blocks]
  const float* abs_max(int kv_head) const { return abs_max_[kv_head].data(); }

 private:
  void Reset(const PagedKv& kv);
  void Fold(const PagedKv& kv, int kv_head, int page_index, int32_t page);

  int block_pages_;
  int folded_ = 0;
  // The shape of what was folded.
  KvType type_ = KvType::kF16;
  int num_kv_heads_ = 0, head_dim_ = 0, page_size_ = 0;
  // [kv_head] [block][head_dim] in the cache's metadata type (KvMetaType): a max of stored
  // values is itself a stored value, so the bounds are exact.
  std::vector<std::vector<uint8_t>> kmax_, kmin_;
  std::vector<std::vector<float>> abs_max_;  // [kv_head][block]
};

}  // namespace quest
