// What one sequence owns while it is generated: its page tables, its
// attention policy, and the eviction baselines' keep lists. The K/V bytes
// live in a KvStore shared by every sequence; this holds only the ids.
#pragma once

#include <vector>

#include "src/engine/attention_policy.h"
#include "src/evict/token_eviction.h"
#include "src/kv/kv_cache.h"
#include "src/quest/page_blocks.h"

namespace quest {

struct SequenceState {
  Sequence seq;  // the globally attending layers' pages, in token order
  // Sliding-window layers in ring mode (KvStore): the ring's pages, and its
  // page table in token order (page i is ring[i % ring.size()]).
  std::vector<int32_t> ring;
  Sequence ring_seq;
  AttentionPolicy policy;
  std::vector<TokenEviction> eviction;  // [layer] keep lists (eviction methods only)
  // [layer] Quest's two-level index of seq's pages (filled by selection).
  std::vector<PageBlocks> page_blocks;
  double last_kv_bytes = 0;  // K/V + metadata bytes attention read in the last decode step

  int position() const { return seq.length; }
  // Drops the eviction baselines' keep lists (they start again at the next
  // decode step, from the full cache).
  void ResetEviction(int num_layers);
};

}  // namespace quest
