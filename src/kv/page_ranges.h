// The byte ranges of a layer's K/V storage that a PageList reads, merged where
// pages sit next to each other. A pool in a mapped file hands these to the
// kernel before attention (PoolFile::WillNeed), so the reads of a step's pages
// are queued together instead of faulting in one 4 KB page at a time.
#pragma once

#include <cstddef>
#include <vector>

#include "src/kernels/paged_kv.h"

namespace quest {

struct ByteRange {
  size_t offset = 0;  // from kv.k
  size_t size = 0;
};

// One range per run of consecutive page blocks (K block then V block) in each
// list, in list order; runs are not merged across lists.
std::vector<ByteRange> PageListByteRanges(const PagedKv& kv, const PageList& pages);

}  // namespace quest
