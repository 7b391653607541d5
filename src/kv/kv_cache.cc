// Paged K/V storage with incremental Quest page metadata.
#include "src/kv/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "src/kernels/kernels.h"
#include "src/kv/page_ranges.h"

namespace quest {

Status KvCacheConfig::Validate() const {
  if (num_layers <= 0)
    return Status::Error(StrFormat("num_layers must be > 0, got %d", num_layers));
  if (num_kv_heads <= 0) {
    return Status::Error(StrFormat("num_kv_heads must be > 0, got %d", num_kv_heads));
  }
  if (head_dim <= 0 || head_dim > kMaxHeadDim || head_dim % kHeadDimMultiple != 0) {
    return Status::Error(StrFormat("head_dim must be a multiple of %d in [%d, %d], got %d",
                                   kHeadDimMultiple, kHeadDimMultiple, kMaxHeadDim, head_dim));
  }
  if (page_size < kMinPageSize || page_size > kMaxPageSize || (page_size & (page_size - 1))) {
    return Status::Error(StrFormat("page_size must be a power of two in [%d, %d], got %d",
                                   kMinPageSize, kMaxPageSize, page_size));
  }
  if (num_pages < 0) return Status::Error(StrFormat("num_pages must be >= 0, got %d", num_pages));
  return Status();
}

size_t KvCacheConfig::BytesPerPage() const {
  return static_cast<size_t>(num_kv_heads) *
         (KvPageElems(type, page_size, head_dim) * KvElementBytes(type) +
          2 * static_cast<size_t>(head_dim) * KvElementBytes(KvMetaType(type)));
}

// A layer's K/V bytes in a pool file start on a 2 MB boundary.
constexpr size_t kFileLayerAlign = size_t{2} << 20;

size_t KvCache::KvBytesPerLayer() const { return kv_elems_ * KvElementBytes(config_.type); }

Result<KvCache> KvCache::Create(const KvCacheConfig& config) {
  QE_RETURN_IF_ERROR(config.Validate());
  PoolFile file;
  if (!config.pool_file.empty()) {
    const size_t layer = static_cast<size_t>(config.num_pages) * config.num_kv_heads *
                         KvPageElems(config.type, config.page_size, config.head_dim) *
                         KvElementBytes(config.type);
    const size_t stride = (layer + kFileLayerAlign - 1) / kFileLayerAlign * kFileLayerAlign;
    Result<PoolFile> f = PoolFile::Create(config.pool_file, stride * config.num_layers);
    if (!f.ok()) return f.status();
    file = std::move(*f);
  }
  return KvCache(config, std::move(file));
}

KvCache::KvCache(const KvCacheConfig& config, PoolFile file)
    : config_(config), file_(std::move(file)) {
  const size_t pages = config.num_pages;
  kv_elems_ = pages * config.num_kv_heads *
              KvPageElems(config.type, config.page_size, config.head_dim);
  meta_elems_ = pages * config.num_kv_heads * config.head_dim;
  const size_t es = KvElementBytes(config.type);
  const size_t ms = KvElementBytes(KvMetaType(config.type));
  const size_t stride = (KvBytesPerLayer() + kFileLayerAlign - 1) / kFileLayerAlign * kFileLayerAlign;
  for (int l = 0; l < config.num_layers; ++l) {
    if (config.pool_file.empty()) {
      kv_ram_.emplace_back(kv_elems_ * es);
      kv_.push_back(kv_ram_.back().data());
    } else {
      kv_.push_back(file_.data() == nullptr ? nullptr : file_.data() + stride * l);
    }
    kmax_.emplace_back(meta_elems_ * ms);
    kmin_.emplace_back(meta_elems_ * ms);
  }
  free_.resize(pages);
  // Stack: pop_back hands out page 0 first, so fresh sequences are contiguous.
  for (size_t i = 0; i < pages; ++i) free_[i] = static_cast<int32_t>(pages - 1 - i);
}

Status KvCache::Reserve(Sequence* seq, int n) {
  if (n < 0) return Status::Error(StrFormat("cannot reserve %d tokens", n));
  const int S = config_.page_size;
  const int needed = (seq->length + n + S - 1) / S - seq->num_pages();
  if (needed > free_pages()) {
    return Status::Error(StrFormat("KV cache full: %d more pages needed for %d tokens, %d free",
                                   needed, n, free_pages()));
  }
  for (int i = 0; i < needed; ++i) {
    seq->pages.push_back(free_.back());
    free_.pop_back();
  }
  return Status();
}

Status KvCache::CopyFrom(const KvCache& src) {
  const KvCacheConfig& a = config_;
  const KvCacheConfig& b = src.config_;
  if (a.num_layers != b.num_layers || a.num_kv_heads != b.num_kv_heads ||
      a.head_dim != b.head_dim || a.page_size != b.page_size || a.type != b.type ||
      a.num_pages != b.num_pages) {
    return Status::Error("KV cache copy: the two caches' configurations differ");
  }
  for (int l = 0; l < a.num_layers; ++l) {
    if (KvBytesPerLayer() > 0) std::memcpy(kv_[l], src.kv_[l], KvBytesPerLayer());
    std::memcpy(kmax_[l].data(), src.kmax_[l].data(), kmax_[l].size());
    std::memcpy(kmin_[l].data(), src.kmin_[l].data(), kmin_[l].size());
  }
  free_ = src.free_;
  return Status();
}

void KvCache::Write(const Sequence& seq, int layer, int n, const float* k, const float* v,
                    int num_threads) {
  const int S = config_.page_size;
  const int D = config_.head_dim;
  const int H = config_.num_kv_heads;
  QE_CHECK(layer >= 0 && layer < config_.num_layers, "layer %d", layer);
  QE_CHECK(seq.length + n <= seq.num_pages() * S, "write past reserved pages");
  const KvType type = config_.type;
  const size_t es = KvElementBytes(type);
  const size_t ms = KvElementBytes(KvMetaType(type));
  const PagedKv view = View(layer);
  uint8_t* kd = kv_[layer];
  uint8_t* vd = kd + static_cast<size_t>(S) * D * es;  // view.v
  uint8_t* kmax = kmax_[layer].data();
  uint8_t* kmin = kmin_[layer].data();
  // Heads own disjoint rows and metadata, so they split across threads safely.
#pragma omp parallel for num_threads(std::max(1, num_threads)) schedule(static)
  for (int h = 0; h < H; ++h) {
    // The key row in the storage type, then scattered into the page's
    // channel-major K block (see PagedKv); for q8 also dequantized (deq), so
    // that the metadata bounds the keys as stored (rounded outward to f16).
    alignas(64) uint8_t key[KvCacheConfig::kMaxHeadDim * sizeof(float)];
    alignas(64) float deq[KvCacheConfig::kMaxHeadDim];
    for (int t = 0; t < n; ++t) {
      const int pos = seq.length + t;
      const int32_t page = seq.pages[pos / S];
      const int off = pos % S;
      const size_t src = (static_cast<size_t>(t) * H + h) * D;
      if (type == KvType::kQ8) {
        int8_t* qk = reinterpret_cast<int8_t*>(key);
        float* scales = reinterpret_cast<float*>(kd + view.KScaleOffset(page, h));
        scales[off] = QuantizeQ8(k + src, D, qk, kQ8KeyLimit);
        DequantizeQ8(qk, D, scales[off], deq);
        scales[KvScaleStride(S) + off] =
            QuantizeQ8(v + src, D, reinterpret_cast<int8_t*>(vd) + view.VOffset(page, h, off, 0));
      } else {
        ConvertToKv(k + src, D, type, key);
        ConvertToKv(v + src, D, type, vd + view.VOffset(page, h, off, 0) * es);
      }
      const size_t k0 = view.KOffset(page, h, off, 0);
      const auto scatter = [&](auto element) {  // element: a value of the storage type
        using E = decltype(element);
        const E* from = reinterpret_cast<const E*>(key);
        E* to = reinterpret_cast<E*>(kd) + k0;
        for (int i = 0; i < D; ++i) to[static_cast<size_t>(i) * S] = from[i];
      };
      if (es == 1) {
        scatter(int8_t{});
      } else if (es == 2) {
        scatter(uint16_t{});
      } else {
        scatter(float{});
      }
      const size_t meta = view.MetaOffset(page, h) * ms;
      if (type == KvType::kQ8) {
        UpdatePageMinMaxOutward(deq, D, off == 0, reinterpret_cast<uint16_t*>(kmax + meta),
                                reinterpret_cast<uint16_t*>(kmin + meta));
      } else {
        UpdatePageMinMax(key, type, D, off == 0, kmax + meta, kmin + meta);
      }
    }
  }
}

void KvCache::Advance(Sequence* seq, int n) const {
  QE_CHECK(seq->length + n <= seq->num_pages() * config_.page_size, "advance past pages");
  seq->length += n;
}

void KvCache::Release(Sequence* seq) {
  for (auto it = seq->pages.rbegin(); it != seq->pages.rend(); ++it) free_.push_back(*it);
  seq->pages.clear();
  seq->length = 0;
}

int32_t KvCache::TakePage() {
  if (free_.empty()) return -1;
  const int32_t page = free_.back();
  free_.pop_back();
  return page;
}

void KvCache::FreePage(int32_t page) {
  QE_CHECK(page >= 0 && page < config_.num_pages, "page %d outside the pool", page);
  free_.push_back(page);
}

size_t KvCache::PageRecordBytes() const { return config_.BytesPerPage(); }

namespace {
// Copies one page's record between the cache (at) and a flat record (rec),
// in the direction `to_record` says.
void CopyPageRecord(const PagedKv& view, uint8_t* kv, uint8_t* kmax, uint8_t* kmin, int32_t page,
                    uint8_t* rec, bool to_record) {
  const size_t es = KvElementBytes(view.type);
  const size_t ms = KvElementBytes(KvMetaType(view.type));
  const size_t block = view.PageElems() * es;  // K, V (and q8 scales)
  const size_t meta = static_cast<size_t>(view.head_dim) * ms;
  const auto copy = [to_record](uint8_t* at, uint8_t* r, size_t n) {
    if (to_record) {
      std::memcpy(r, at, n);
    } else {
      std::memcpy(at, r, n);
    }
  };
  for (int h = 0; h < view.num_kv_heads; ++h) {
    copy(kv + view.RowOffset(page, h) * es, rec, block);
    rec += block;
  }
  for (int h = 0; h < view.num_kv_heads; ++h) {
    copy(kmax + view.MetaOffset(page, h) * ms, rec, meta);
    copy(kmin + view.MetaOffset(page, h) * ms, rec + meta, meta);
    rec += 2 * meta;
  }
}
}  // namespace

void KvCache::ExportPage(int layer, int32_t page, uint8_t* out) const {
  QE_CHECK(page >= 0 && page < config_.num_pages, "page %d outside the pool", page);
  CopyPageRecord(View(layer), kv_[layer],
                 const_cast<uint8_t*>(kmax_[layer].data()),
                 const_cast<uint8_t*>(kmin_[layer].data()), page, out, /*to_record=*/true);
}

void KvCache::ImportPage(int layer, int32_t page, const uint8_t* in) {
  QE_CHECK(page >= 0 && page < config_.num_pages, "page %d outside the pool", page);
  CopyPageRecord(View(layer), kv_[layer], kmax_[layer].data(), kmin_[layer].data(), page,
                 const_cast<uint8_t*>(in), /*to_record=*/false);
}

void KvCache::Prefetch(int layer, const PageList& pages) const {
  if (file_.data() == nullptr) return;
  const size_t base = static_cast<size_t>(kv_[layer] - file_.data());
  for (const ByteRange& r : PageListByteRanges(View(layer), pages)) {
    file_.WillNeed(base + r.offset, r.size);
  }
}

PagedKv KvCache::View(int layer) const {
  PagedKv view;
  view.k = kv_[layer];
  view.v = kv_[layer] +
           static_cast<size_t>(config_.page_size) * config_.head_dim * KvElementBytes(config_.type);
  view.kmax = kmax_[layer].data();
  view.kmin = kmin_[layer].data();
  view.type = config_.type;
  view.num_kv_heads = config_.num_kv_heads;
  view.num_pages = config_.num_pages;
  view.page_size = config_.page_size;
  view.head_dim = config_.head_dim;
  return view;
}

PageList DensePageList(const Sequence& seq, int page_size, int num_lists) {
  PageList list;
  const int n = (seq.length + page_size - 1) / page_size;
  const int last_len = n == 0 ? 0 : seq.length - (n - 1) * page_size;
  list.indptr.push_back(0);
  for (int l = 0; l < num_lists; ++l) {
    list.indices.insert(list.indices.end(), seq.pages.begin(), seq.pages.begin() + n);
    list.indptr.push_back(static_cast<int32_t>(list.indices.size()));
    list.last_page_len.push_back(last_len);
  }
  return list;
}

}  // namespace quest
