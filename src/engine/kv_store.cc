#include "src/engine/kv_store.h"

#include <algorithm>

namespace quest {

void SequenceState::ResetEviction(int num_layers) {
  eviction.clear();
  if (!IsEviction(policy.method)) return;
  const Eviction e = policy.method == AttentionMethod::kStreaming ? Eviction::kStreaming
                     : policy.method == AttentionMethod::kH2O     ? Eviction::kH2O
                                                                  : Eviction::kTova;
  eviction.assign(num_layers, TokenEviction(e, policy.quest.budget, policy.sink_tokens));
}

Result<std::unique_ptr<KvStore>> KvStore::Create(const ModelConfig& c,
                                                 const KvStoreOptions& o) {
  if (o.num_pages < 0) return Status::Error(StrFormat("invalid page count %d", o.num_pages));
  if (o.max_sequences <= 0 || o.max_chunk <= 0) {
    return Status::Error("a KV store needs at least one sequence and one token per chunk");
  }
  int num_local = 0;
  for (int l = 0; l < c.num_layers; ++l) num_local += c.layer_is_local[l] ? 1 : 0;
  // Rings hold the window layers beside a paged cache of the global ones; a
  // model windowed on every layer (Mistral 7B v0.1) keeps all in pages.
  const bool rings = o.window_rings && num_local > 0 && num_local < c.num_layers;
  std::vector<int> slot(c.num_layers);
  std::vector<char> ring_layer(c.num_layers, 0);
  int global = 0, local = 0;
  for (int l = 0; l < c.num_layers; ++l) {
    ring_layer[l] = rings && c.layer_is_local[l];
    slot[l] = ring_layer[l] ? local++ : global++;
  }
  KvCacheConfig kc;
  kc.num_layers = global;
  kc.num_kv_heads = c.num_kv_heads;
  kc.head_dim = c.head_dim;
  kc.page_size = o.page_size;
  kc.type = o.type;
  kc.num_pages = o.num_pages;
  kc.pool_file = o.pool_file;
  Result<KvCache> cache = KvCache::Create(kc);
  if (!cache.ok()) return cache.status();
  std::unique_ptr<KvCache> ring_cache;
  int ring_pages = 0;
  if (rings) {
    // A chunk of n tokens at p0 still needs keys from p0 + 1 - window on while
    // it writes up to p0 + n - 1: window + n - 1 tokens, over at most
    // (window + n - 2) / S + 2 pages; one more so that nothing in use is
    // overwritten at a page boundary.
    const int tokens = c.sliding_window + o.max_chunk;
    ring_pages = std::min(o.num_pages, tokens / o.page_size + 3);
    KvCacheConfig lc = kc;
    lc.num_layers = local;
    lc.num_pages = ring_pages * o.max_sequences;
    Result<KvCache> lcache = KvCache::Create(lc);
    if (!lcache.ok()) return lcache.status();
    ring_cache = std::make_unique<KvCache>(std::move(*lcache));
  }
  return std::unique_ptr<KvStore>(new KvStore(std::move(*cache), std::move(ring_cache),
                                              std::move(slot), std::move(ring_layer),
                                              ring_pages));
}

KvStore::KvStore(KvCache global, std::unique_ptr<KvCache> local, std::vector<int> slot,
                 std::vector<char> ring_layer, int ring_pages)
    : global_(std::move(global)),
      local_(std::move(local)),
      slot_(std::move(slot)),
      ring_layer_(std::move(ring_layer)),
      ring_pages_(ring_pages) {}

Status KvStore::Open(SequenceState* s) {
  if (local_ == nullptr || !s->ring.empty()) return Status();
  if (local_->free_pages() < ring_pages_) {
    return Status::Error("every sliding-window ring of the KV store is in use");
  }
  for (int i = 0; i < ring_pages_; ++i) s->ring.push_back(local_->TakePage());
  return Status();
}

void KvStore::Close(SequenceState* s) {
  s->page_blocks.clear();
  global_.Release(&s->seq);
  if (local_ != nullptr) {
    for (auto it = s->ring.rbegin(); it != s->ring.rend(); ++it) local_->FreePage(*it);
  }
  s->ring.clear();
  s->ring_seq = Sequence();
}

Status KvStore::Reserve(SequenceState* s, int n) {
  QE_RETURN_IF_ERROR(global_.Reserve(&s->seq, n));
  if (local_ != nullptr) {
    QE_CHECK(!s->ring.empty(), "a sequence reserved before Open");
    const int S = local_->config().page_size;
    const int need = (s->ring_seq.length + n + S - 1) / S;
    const int R = static_cast<int>(s->ring.size());
    while (s->ring_seq.num_pages() < need) {
      s->ring_seq.pages.push_back(s->ring[s->ring_seq.num_pages() % R]);
    }
  }
  return Status();
}

void KvStore::Advance(SequenceState* s, int n) {
  // Tokens from seq.length on were just written: pages holding them may have
  // held other keys when the blocks were folded (a released sequence refilled).
  for (PageBlocks& b : s->page_blocks) b.Truncate(s->seq.length);
  global_.Advance(&s->seq, n);
  if (local_ != nullptr) local_->Advance(&s->ring_seq, n);
}

Status KvStore::CopyFrom(const KvStore& src) {
  if ((local_ == nullptr) != (src.local_ == nullptr) || ring_pages_ != src.ring_pages_) {
    return Status::Error("KV store copy: the stores differ in configuration");
  }
  QE_RETURN_IF_ERROR(global_.CopyFrom(src.global_));
  if (local_ != nullptr) QE_RETURN_IF_ERROR(local_->CopyFrom(*src.local_));
  return Status();
}

size_t KvStore::bytes() const {
  const auto bytes = [](const KvCache& k) {
    const KvCacheConfig& c = k.config();
    return static_cast<size_t>(c.num_pages) * c.BytesPerPage() * c.num_layers;
  };
  return bytes(global_) + (local_ != nullptr ? bytes(*local_) : 0);
}

}  // namespace quest
