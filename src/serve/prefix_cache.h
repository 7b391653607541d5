// Full pages of tokens shared between sequences: a request whose tokens begin
// with pages another sequence already computed (a shared system prompt, a
// second question about the same document) takes those pages, K/V and Quest
// metadata alike, instead of prefilling them. Pages are reference-counted;
// a page no sequence holds stays cached until the pool needs it, and then
// the least recently used go first.
//
// A page is identified by its tokens and the identity of every page before
// it (a chain), so two sequences share a page only when their whole prefix
// up to it is equal. Only full pages are shared: a sequence never writes into
// a page it did not fill itself.
#pragma once

#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

#include "src/kv/kv_cache.h"

namespace quest {

class PrefixCache {
 public:
  explicit PrefixCache(KvCache* pool) : pool_(pool) {}

  // The longest run of cached pages that begins `tokens`, at most max_pages:
  // a reference on each, appended to the empty `seq` with its length set.
  // Returns the tokens covered.
  int Acquire(std::span<const int32_t> tokens, int max_pages, Sequence* seq);
  // Registers seq's full pages, whose tokens are tokens[0, seq.length), so
  // that later sequences can share them. Already registered pages are kept.
  void Publish(std::span<const int32_t> tokens, const Sequence& seq);
  // Gives back seq's pages: a registered page loses a reference (and stays
  // cached at zero), any other page returns to the pool.
  void Release(Sequence* seq);
  // Evicts unreferenced cached pages, least recently used first, until the
  // pool has `pages` free. False if it cannot.
  bool MakeFree(int pages);

  int cached_pages() const { return static_cast<int>(lru_.size()); }  // unreferenced
  int registered_pages() const { return static_cast<int>(entries_.size()); }

 private:
  struct Entry {
    uint64_t parent = 0;          // key of the page before (0: the first page)
    std::vector<int32_t> tokens;  // the page's tokens, compared on every hit
    int32_t page = -1;
    int refs = 0;
    std::list<uint64_t>::iterator lru;  // valid while refs == 0
  };
  static uint64_t KeyOf(uint64_t parent, std::span<const int32_t> tokens);
  // The entry for (parent, tokens), or null (a hash collision counts as a miss).
  Entry* Find(uint64_t key, uint64_t parent, std::span<const int32_t> tokens);
  void Unref(Entry* e, uint64_t key);

  KvCache* pool_;
  std::unordered_map<uint64_t, Entry> entries_;     // key -> entry
  std::unordered_map<int32_t, uint64_t> page_key_;  // registered page -> key
  std::list<uint64_t> lru_;  // unreferenced keys, least recently used first
};

}  // namespace quest
