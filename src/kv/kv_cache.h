// Paged K/V storage for all layers, with Quest page metadata (channel-wise
// max / min of post-RoPE keys) kept up to date on every append. Pages come from
// one pool shared by all sequences; a page id addresses the same slot in every
// layer (vLLM-style), so one page table per sequence serves all layers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "src/kernels/paged_kv.h"
#include "src/util/aligned.h"
#include "src/util/check.h"
#include "src/util/pool_file.h"

namespace quest {

struct KvCacheConfig {
  int num_layers = 1;
  int num_kv_heads = 1;
  int head_dim = 128;  // a multiple of kHeadDimMultiple, at most kMaxHeadDim
  int page_size = 16;  // a power of two in [kMinPageSize, kMaxPageSize]
  KvType type = KvType::kF16;
  int num_pages = 0;  // capacity of the pool, shared by all sequences
  // Empty: the K/V pages live in RAM. Else a scratch file created at this path
  // and mapped (PoolFile), so the pool may exceed RAM; metadata stays in RAM.
  std::string pool_file;

  static constexpr int kMinPageSize = 4;
  static constexpr int kMaxPageSize = 128;
  static constexpr int kMaxHeadDim = 512;

  // Names the first invalid field and its value.
  Status Validate() const;
  // K + V + metadata bytes of one page in one layer.
  size_t BytesPerPage() const;
};

// One sequence's page table: physical page ids in token order, and its length.
struct Sequence {
  std::vector<int32_t> pages;
  int length = 0;
  int num_pages() const { return static_cast<int>(pages.size()); }
};

class KvCache {
 public:
  static Result<KvCache> Create(const KvCacheConfig& config);
  KvCache(KvCache&&) = default;
  KvCache& operator=(KvCache&&) = default;

  const KvCacheConfig& config() const { return config_; }
  int free_pages() const { return static_cast<int>(free_.size()); }

  // Takes pages from the pool so that seq can hold n more tokens.
  Status Reserve(Sequence* seq, int n);
  // Stores the K/V rows of tokens [seq.length, seq.length + n) for one layer,
  // converting to the storage type, and folds the keys into their pages'
  // metadata (a page's first token resets it).
  //   k, v: [n][num_kv_heads][head_dim] f32, post-RoPE keys.
  void Write(const Sequence& seq, int layer, int n, const float* k, const float* v,
             int num_threads = 1);
  // Marks n written tokens as part of the sequence (after all layers wrote).
  void Advance(Sequence* seq, int n) const;
  // Returns the sequence's pages to the pool.
  void Release(Sequence* seq);
  // One page from the pool (-1 when it is empty), and one page back: for
  // owners that share pages between sequences (the prefix cache).
  int32_t TakePage();
  void FreePage(int32_t page);
  // Makes this cache an exact copy of src (same config): pages, metadata and
  // the free list, so src's sequences are valid here too. An explicit copy of
  // the whole pool (a snapshot), reusing this cache's allocation.
  Status CopyFrom(const KvCache& src);

  PagedKv View(int layer) const;
  // With the pool in a file: starts reading the pages a list will attend
  // (PageListByteRanges), so their faults overlap. Nothing for a RAM pool.
  void Prefetch(int layer, const PageList& pages) const;

  // One page of one layer as a flat record (what K/V files hold): for every
  // KV head its K and V blocks, then every head's kmax and kmin rows, in the
  // storage type. ImportPage writes such a record back, metadata included.
  size_t PageRecordBytes() const;
  void ExportPage(int layer, int32_t page, uint8_t* out) const;
  void ImportPage(int layer, int32_t page, const uint8_t* in);

 private:
  KvCache(const KvCacheConfig& config, PoolFile file);
  size_t KvBytesPerLayer() const;

  KvCacheConfig config_;
  size_t kv_elems_ = 0;    // elements of one layer's K and V: heads * pages * 2 * S * D
  size_t meta_elems_ = 0;  // elements of one layer's kmax (or kmin)
  std::vector<AlignedArray<uint8_t>> kv_ram_, kmax_, kmin_;  // [layer], layout of PagedKv
  PoolFile file_;                 // the K/V pages when config_.pool_file is set
  std::vector<uint8_t*> kv_;      // [layer] its K/V pages, in kv_ram_ or file_
  std::vector<int32_t> free_;                            // stack of free page ids
};

// The list of all pages of seq (dense attention), one list per KV head or per
// query head.
PageList DensePageList(const Sequence& seq, int page_size, int num_lists);

}  // namespace quest
