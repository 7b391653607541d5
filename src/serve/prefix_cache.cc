#include "src/serve/prefix_cache.h"

#include <algorithm>

namespace quest {

uint64_t PrefixCache::KeyOf(uint64_t parent, std::span<const int32_t> tokens) {
  // FNV-1a over the parent key and the token ids; never 0 (0 is "no parent").
  uint64_t h = 1469598103934665603ULL ^ parent;
  for (int32_t t : tokens) {
    for (int b = 0; b < 4; ++b) {
      h ^= (static_cast<uint32_t>(t) >> (8 * b)) & 0xFF;
      h *= 1099511628211ULL;
    }
  }
  return h == 0 ? 1 : h;
}

PrefixCache::Entry* PrefixCache::Find(uint64_t key, uint64_t parent,
                                      std::span<const int32_t> tokens) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  Entry& e = it->second;
  if (e.parent != parent || !std::equal(tokens.begin(), tokens.end(), e.tokens.begin(),
                                        e.tokens.end())) {
    return nullptr;
  }
  return &e;
}

int PrefixCache::Acquire(std::span<const int32_t> tokens, int max_pages, Sequence* seq) {
  QE_CHECK(seq->pages.empty(), "prefix pages go into an empty sequence");
  const int S = pool_->config().page_size;
  const int full = std::min<int>(max_pages, static_cast<int>(tokens.size()) / S);
  uint64_t parent = 0;
  std::vector<Entry*> hit;
  for (int p = 0; p < full; ++p) {
    const std::span<const int32_t> page = tokens.subspan(static_cast<size_t>(p) * S, S);
    const uint64_t key = KeyOf(parent, page);
    Entry* e = Find(key, parent, page);
    if (e == nullptr) break;
    hit.push_back(e);
    parent = key;
  }
  // Referenced pages leave the LRU list; the deepest first so that, were any
  // left there, parents would stay more recent than their children.
  for (auto it = hit.rbegin(); it != hit.rend(); ++it) {
    Entry* e = *it;
    if (e->refs++ == 0) lru_.erase(e->lru);
  }
  for (Entry* e : hit) seq->pages.push_back(e->page);
  seq->length = static_cast<int>(hit.size()) * S;
  return seq->length;
}

void PrefixCache::Publish(std::span<const int32_t> tokens, const Sequence& seq) {
  const int S = pool_->config().page_size;
  QE_CHECK(static_cast<int>(tokens.size()) >= seq.length, "tokens of every stored position");
  const int full = seq.length / S;
  uint64_t parent = 0;
  for (int p = 0; p < full; ++p) {
    const std::span<const int32_t> page = tokens.subspan(static_cast<size_t>(p) * S, S);
    const uint64_t key = KeyOf(parent, page);
    const int32_t id = seq.pages[p];
    auto registered = page_key_.find(id);
    if (registered != page_key_.end()) {
      if (registered->second != key) return;  // a different chain owns it: stop here
    } else if (entries_.count(key) != 0) {
      return;  // the same tokens in another page (or a collision): keep the first
    } else {
      Entry e;
      e.parent = parent;
      e.tokens.assign(page.begin(), page.end());
      e.page = id;
      e.refs = 1;  // held by seq, which will Release it
      entries_.emplace(key, std::move(e));
      page_key_.emplace(id, key);
    }
    parent = key;
  }
}

void PrefixCache::Unref(Entry* e, uint64_t key) {
  QE_CHECK(e->refs > 0, "page released more often than acquired");
  if (--e->refs == 0) e->lru = lru_.insert(lru_.end(), key);
}

void PrefixCache::Release(Sequence* seq) {
  // Deepest page first, so the chain's head ends up the most recently used.
  for (auto it = seq->pages.rbegin(); it != seq->pages.rend(); ++it) {
    auto registered = page_key_.find(*it);
    if (registered == page_key_.end()) {
      pool_->FreePage(*it);
    } else {
      Unref(&entries_.at(registered->second), registered->second);
    }
  }
  seq->pages.clear();
  seq->length = 0;
}

bool PrefixCache::MakeFree(int pages) {
  while (pool_->free_pages() < pages && !lru_.empty()) {
    const uint64_t key = lru_.front();
    lru_.pop_front();
    auto it = entries_.find(key);
    pool_->FreePage(it->second.page);
    page_key_.erase(it->second.page);
    entries_.erase(it);
  }
  return pool_->free_pages() >= pages;
}

}  // namespace quest
