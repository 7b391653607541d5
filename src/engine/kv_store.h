// The K/V pages of every sequence of one model: the globally attending layers'
// page pool, and for sliding-window layers either a ring of pages per
// sequence (only the window is kept: the least memory) or pages in the same
// pool as the global layers (every token kept: pages can then be shared
// between sequences, as the prefix cache does).
#pragma once

#include <memory>

#include "src/engine/sequence_state.h"
#include "src/kv/kv_cache.h"
#include "src/model/config.h"

namespace quest {

struct KvStoreOptions {
  int page_size = 16;
  KvType type = KvType::kF16;
  int num_pages = 0;           // pages of the shared pool
  bool window_rings = true;    // sliding-window layers keep only their window
  int max_sequences = 1;       // rings to hold (window_rings only)
  int max_chunk = 256;         // most tokens one sequence adds per forward pass
  std::string pool_file;       // the shared pool's pages in this scratch file (KvCacheConfig)
};

class KvStore {
 public:
  static Result<std::unique_ptr<KvStore>> Create(const ModelConfig& config,
                                                 const KvStoreOptions& options);

  // The cache holding a layer's K/V, the layer's index in it, and the page
  // table it is read and written through.
  KvCache& CacheOf(int layer) { return IsRing(layer) ? *local_ : global_; }
  const KvCache& CacheOf(int layer) const { return IsRing(layer) ? *local_ : global_; }
  int SlotOf(int layer) const { return slot_[layer]; }
  const Sequence& TableOf(const SequenceState& s, int layer) const {
    return IsRing(layer) ? s.ring_seq : s.seq;
  }
  PagedKv View(int layer) const { return CacheOf(layer).View(slot_[layer]); }
  void Prefetch(int layer, const PageList& pages) const {
    CacheOf(layer).Prefetch(slot_[layer], pages);
  }

  // Whether the layer lives in the sliding-window rings, and their size.
  bool InRing(int layer) const { return IsRing(layer); }
  int ring_pages() const { return ring_pages_; }

  KvCache& pool() { return global_; }
  const KvCache& pool() const { return global_; }
  bool window_rings() const { return local_ != nullptr; }

  // Gives a new sequence its ring (ring mode); fails when every ring is taken.
  Status Open(SequenceState* s);
  // Returns the sequence's ring, and its global pages to the pool. Callers
  // that share pages release s->seq themselves first.
  void Close(SequenceState* s);
  // Pages for n more tokens: the global table from the pool, the ring's table
  // extended.
  Status Reserve(SequenceState* s, int n);
  // Marks n written tokens as part of the sequence (after every layer wrote).
  void Advance(SequenceState* s, int n);

  // An exact copy of src's pools (same configuration): src's sequences are
  // valid here too.
  Status CopyFrom(const KvStore& src);
  size_t bytes() const;

 private:
  KvStore(KvCache global, std::unique_ptr<KvCache> local, std::vector<int> slot,
          std::vector<char> ring_layer, int ring_pages);
  bool IsRing(int layer) const { return ring_layer_[layer] != 0; }

  KvCache global_;
  std::unique_ptr<KvCache> local_;  // the rings (null without window rings)
  std::vector<int> slot_;           // [layer] index in its cache
  std::vector<char> ring_layer_;    // [layer] kept in a ring
  int ring_pages_ = 0;              // pages per ring
};

}  // namespace quest
