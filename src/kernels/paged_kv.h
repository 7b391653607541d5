// The data the decode kernels read: a view of one layer's paged K/V storage
// with its Quest page metadata, and the PageList that says which pages to read.
// PageList is the seam between page selection (plan) and attention (run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace quest {

// K/V storage types. q8: int8 with one f32 scale per token and KV head for K
// and one for V (symmetric absmax: x = q * scale, |q| <= 127); docs/DESIGN.md
// has the measurements that chose this granularity. The value is what K/V
// files store in their header.
enum class KvType : int { kF16 = 0, kF32 = 1, kQ8 = 2 };

// Bytes of one stored K or V element (a q8 page's scales come on top).
inline size_t KvElementBytes(KvType t) {
  return t == KvType::kF32 ? 4 : t == KvType::kF16 ? 2 : 1;
}

// The type of the page metadata (kmax, kmin): the storage type for f16 and
// f32; f16 for q8, its extremes rounded outward (kmax up, kmin down) from the
// dequantized keys, so U(p) still bounds every stored key. f32 metadata would
// double the metadata that Quest reads each step (docs/DESIGN.md).
inline KvType KvMetaType(KvType t) { return t == KvType::kF32 ? KvType::kF32 : KvType::kF16; }

// q8 keys are clipped to this magnitude (values beyond store as +-127 codes
// of a row scaled to it), so that their f16 metadata, rounded outward, stays
// finite; f16 storage itself overflows to inf beyond 65504.
inline constexpr float kQ8KeyLimit = 65000.0f;

// q8: a page's K scales and its V scales each fill a multiple of this many
// floats, so that a vector of scales loaded at any token of the page (16 lanes
// at most) stays within the page.
inline constexpr int kScaleMultiple = 16;
inline size_t KvScaleStride(int page_size) {
  return (static_cast<size_t>(page_size) + kScaleMultiple - 1) / kScaleMultiple * kScaleMultiple;
}

// Elements (of KvElementBytes) of one page of one KV head: K block, V block
// and, for q8, the K scales then the V scales (f32, KvScaleStride each).
inline size_t KvPageElems(KvType t, int page_size, int head_dim) {
  const size_t kv = 2 * static_cast<size_t>(page_size) * head_dim;
  return t == KvType::kQ8 ? kv + 2 * KvScaleStride(page_size) * sizeof(float) : kv;
}

// Bytes of one token's K and V rows of one KV head, scales included (the
// decode read per token, without page padding or metadata).
inline size_t KvTokenBytes(KvType t, int head_dim) {
  return 2 * (static_cast<size_t>(head_dim) * KvElementBytes(t) +
              (t == KvType::kQ8 ? sizeof(float) : 0));
}

// "f16", "f32", "q8" (the --kv-type values); "?" for anything else.
inline const char* KvTypeName(KvType t) {
  return t == KvType::kF16 ? "f16" : t == KvType::kF32 ? "f32" : t == KvType::kQ8 ? "q8" : "?";
}
// Parses a --kv-type value; false if it is none of KvTypeName's names.
inline bool ParseKvType(const std::string& name, KvType* t) {
  for (KvType x : {KvType::kF16, KvType::kF32, KvType::kQ8}) {
    if (name == KvTypeName(x)) {
      *t = x;
      return true;
    }
  }
  return false;
}

// head_dim must be a multiple of this: f16 rows then fill whole vectors on every
// target up to AVX-512 (16 lanes), so no kernel needs a tail loop.
inline constexpr int kHeadDimMultiple = 16;

// One layer of the paged cache. Each KV head owns a contiguous run of pages,
// and a page's K block is followed by its V block:
//   k:          [num_kv_heads][num_pages][K block | V block]
//     K block:  [head_dim][page_size], channel-major: channel i of the page's
//               tokens is one contiguous run (element (t, i) at i * S + t)
//     V block:  [page_size][head_dim], token-major
//     q8 only:  [KvScaleStride] f32 K scales, one per token, then as many V
//               scales (element (t, i) of K is k[i * S + t] * kscale[t])
//   v:          k + page_size * head_dim (the same array, at the V half)
//   kmax, kmin: [num_kv_heads][num_pages][head_dim]  channel-wise max / min of
//               the page's post-RoPE keys (exact: computed from stored values,
//               dequantized for q8), in KvMetaType
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

  // Elements of one page of one KV head (KvPageElems).
  size_t PageElems() const { return KvPageElems(type, page_size, head_dim); }
  // Element offset of (page, kv_head)'s K block from k, or of its V block
  // (token 0's row) from v.
  size_t RowOffset(int32_t page, int kv_head) const {
    return (static_cast<size_t>(kv_head) * num_pages + page) * PageElems();
  }
  // q8: byte offset from k of (page, kv_head)'s K scales ([page_size] f32,
  // token t's at [t]); its V scales follow at + KvScaleStride floats.
  size_t KScaleOffset(int32_t page, int kv_head) const {
    return RowOffset(page, kv_head) + 2 * static_cast<size_t>(page_size) * head_dim;
  }
  const float* KScales(int32_t page, int kv_head) const {
    return reinterpret_cast<const float*>(static_cast<const char*>(k) +
                                          KScaleOffset(page, kv_head));
  }
  const float* VScales(int32_t page, int kv_head) const {
    return KScales(page, kv_head) + KvScaleStride(page_size);
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
