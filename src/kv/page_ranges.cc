#include "src/kv/page_ranges.h"

namespace quest {

std::vector<ByteRange> PageListByteRanges(const PagedKv& kv, const PageList& pages) {
  const size_t es = KvElementBytes(kv.type);
  const size_t block = kv.PageElems() * es;
  const int lists = pages.num_lists();
  // Per-query-head lists share their KV head's pages (G lists per KV head).
  const int group = lists > kv.num_kv_heads ? lists / kv.num_kv_heads : 1;
  std::vector<ByteRange> ranges;
  for (int li = 0; li < lists; ++li) {
    const int kv_head = li / group;
    const size_t first = ranges.size();
    for (int32_t j = pages.indptr[li]; j < pages.indptr[li + 1]; ++j) {
      const size_t offset = kv.RowOffset(pages.indices[j], kv_head) * es;
      if (ranges.size() > first && ranges.back().offset + ranges.back().size == offset) {
        ranges.back().size += block;
      } else {
        ranges.push_back({offset, block});
      }
    }
  }
  return ranges;
}

}  // namespace quest
