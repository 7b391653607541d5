// The data the decode kernels read: a view of one layer's paged K/V storage
// with its Quest page metadata, and the PageList that says which pages to read.
// PageList is the seam between page selection (plan) and attention (run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace quest {

enum class KvType : int { kF16 = 0, kF32 = 1 };

inline size_t KvTypeSize(KvType t) { return t == KvType::kF16 ? 2 : 4; }

// head_dim must be a multiple of this: f16 rows then fill whole vectors on every
// target up to AVX-512 (16 lanes), so no kernel needs a tail loop.
inline constexpr int kHeadDimMultiple = 16;

// One layer of the paged cache. Each KV head owns a contiguous run of pages,
// and a page's K block is followed by its V block:
//   k:          [num_kv_heads][num_pages][K block | V block]
//     K block:  [head_dim][page_size], channel-major: channel i of the page's
//               tokens is one contiguous run (element (t, i) at i * S + t)
//     V block:  [page_size][head_dim], token-major
//   v:          k + page_size * head_dim (the same array, at the V half)
//   kmax, kmin: [num_kv_heads][num_pages][head_dim]  channel-wise max / min of
//               the page's post-RoPE keys (exact: computed from stored values)
// Why head-major: decode streams one head's pages; with pages of all heads
// interleaved (FlashInfer's HND), a head's blocks sit a power-of-two stride
// apart, which measured half the DRAM read bandwidth here. K beside V makes
// every page one contiguous run of 2 * page_size * head_dim elements.
// Why K channel-major: a decode query's logits over a page are then outer
// products, one query element broadcast against the same channel of S tokens,
// with the tokens in vector lanes; token-major K needed a horizontal
// (transposed) reduction per token and query head, as many shuffles and adds
// as the FMAs themselves with GQA at head_dim 64. V stays token-major: its
// weighted sum over tokens is already an outer product.
struct PagedKv {
  const void* k = nullptr;
  const void* v = nullptr;
  const void* kmax = nullptr;
  const void* kmin = nullptr;
  KvType type = KvType::kF16;
  int num_kv_heads = 0;
  int num_pages = 0;  // pages per head in the pool (the pool's capacity)
  int page_size = 0;
  int head_dim = 0;

  // Element offset of (page, kv_head)'s K block from k, or of its V block
  // (token 0's row) from v.
  size_t RowOffset(int32_t page, int kv_head) const {
    return (static_cast<size_t>(kv_head) * num_pages + page) * 2 * page_size * head_dim;
  }
  // Element offset from k of channel i of token t (of the page) in the K block.
  size_t KOffset(int32_t page, int kv_head, int t, int i) const {
    return RowOffset(page, kv_head) + static_cast<size_t>(i) * page_size + t;
  }
  // Element offset from v of channel i of token t in the V block.
  size_t VOffset(int32_t page, int kv_head, int t, int i) const {
    return RowOffset(page, kv_head) + static_cast<size_t>(t) * head_dim + i;
  }
  // Element offset of (page, kv_head) in kmax / kmin.
  size_t MetaOffset(int32_t page, int kv_head) const {
    return (static_cast<size_t>(kv_head) * num_pages + page) * head_dim;
  }
};

// Pages to read, in CSR form (FlashInfer's vocabulary). There is one list per
// KV head (all G query heads of the group share it: each page is read once) or
// one list per query head (num_lists == num_heads). Pages are physical ids in
// ascending token order; every page is full except possibly the last of a list,
// which holds last_page_len[list] tokens.
struct PageList {
  std::vector<int32_t> indptr;         // [num_lists + 1]
  std::vector<int32_t> indices;        // [indptr.back()] physical page ids
  std::vector<int32_t> last_page_len;  // [num_lists], in 1..page_size

  int num_lists() const { return indptr.empty() ? 0 : static_cast<int>(indptr.size()) - 1; }
  int NumTokens(int list, int page_size) const {
    const int n = indptr[list + 1] - indptr[list];
    return n == 0 ? 0 : (n - 1) * page_size + last_page_len[list];
  }
};

// Arbitrary tokens to attend to (eviction baselines: H2O, TOVA, StreamingLLM),
// one list per KV head or per query head like PageList. A slot is
// physical_page * page_size + offset_in_page.
struct TokenList {
  std::vector<int32_t> indptr;  // [num_lists + 1]
  std::vector<int32_t> slots;   // [indptr.back()]
  int num_lists() const { return indptr.empty() ? 0 : static_cast<int>(indptr.size()) - 1; }
};

}  // namespace quest
