#include "src/kv/page_ranges.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace quest {
namespace {

PagedKv Shape(int kv_heads, int num_pages, int page_size, int head_dim, KvType type) {
  PagedKv kv;
  kv.type = type;
  kv.num_kv_heads = kv_heads;
  kv.num_pages = num_pages;
  kv.page_size = page_size;
  kv.head_dim = head_dim;
  return kv;
}

// A page list whose lists mix runs of consecutive page ids with jumps.
PageList RandomLists(std::mt19937& rng, int lists, int num_pages) {
  PageList pl;
  pl.indptr.push_back(0);
  for (int li = 0; li < lists; ++li) {
    const int n = std::uniform_int_distribution<int>(0, num_pages)(rng);
    std::set<int32_t> ids;
    while (static_cast<int>(ids.size()) < n) {
      const int32_t start = std::uniform_int_distribution<int32_t>(0, num_pages - 1)(rng);
      const int run = std::uniform_int_distribution<int>(1, 4)(rng);
      for (int32_t p = start; p < std::min(num_pages, start + run); ++p) {
        if (static_cast<int>(ids.size()) < n) ids.insert(p);
      }
    }
    pl.indices.insert(pl.indices.end(), ids.begin(), ids.end());
    pl.indptr.push_back(static_cast<int32_t>(pl.indices.size()));
    pl.last_page_len.push_back(1);
  }
  return pl;
}

TEST(PageListByteRanges, CoverExactlyTheListedPagesInFewestRuns) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const int kv_heads = std::uniform_int_distribution<int>(1, 4)(rng);
    const int group = std::uniform_int_distribution<int>(1, 3)(rng);
    const int num_pages = std::uniform_int_distribution<int>(1, 40)(rng);
    const int page_size = 4 << std::uniform_int_distribution<int>(0, 3)(rng);
    const int head_dim = 16 * std::uniform_int_distribution<int>(1, 4)(rng);
    const KvType type = trial % 3 == 0 ? KvType::kF16 : trial % 3 == 1 ? KvType::kF32 : KvType::kQ8;
    const PagedKv kv = Shape(kv_heads, num_pages, page_size, head_dim, type);
    const bool per_query_head = group > 1 && trial % 4 == 0;
    const int lists = per_query_head ? kv_heads * group : kv_heads;
    const PageList pl = RandomLists(rng, lists, num_pages);
    // Layout by hand: head-major pages, each a K block and a V block (q8:
    // int8, then the K and V scales, f32, padded to KvScaleStride each).
    const size_t block = type == KvType::kQ8
                             ? 2ull * page_size * head_dim + 2 * KvScaleStride(page_size) * 4
                             : 2ull * page_size * head_dim * (type == KvType::kF16 ? 2 : 4);
    std::set<size_t> want;
    size_t runs = 0;
    for (int li = 0; li < lists; ++li) {
      const int head = per_query_head ? li / group : li;
      for (int j = pl.indptr[li]; j < pl.indptr[li + 1]; ++j) {
        want.insert((static_cast<size_t>(head) * num_pages + pl.indices[j]) * block);
        runs += j == pl.indptr[li] || pl.indices[j] != pl.indices[j - 1] + 1;
      }
    }
    const std::vector<ByteRange> ranges = PageListByteRanges(kv, pl);
    std::set<size_t> got;
    for (const ByteRange& r : ranges) {
      ASSERT_GT(r.size, 0u);
      ASSERT_EQ(r.size % block, 0u);
      ASSERT_EQ(r.offset % block, 0u);
      for (size_t o = r.offset; o < r.offset + r.size; o += block) got.insert(o);
    }
    EXPECT_EQ(got, want) << "trial " << trial;
    EXPECT_EQ(ranges.size(), runs) << "trial " << trial;
  }
}

TEST(PageListByteRanges, EmptyListsAndOnePage) {
  const PagedKv kv = Shape(2, 8, 16, 64, KvType::kF16);
  PageList empty;
  empty.indptr = {0, 0, 0};
  empty.last_page_len = {1, 1};
  EXPECT_TRUE(PageListByteRanges(kv, empty).empty());
  EXPECT_TRUE(PageListByteRanges(kv, PageList{}).empty());
  PageList one;
  one.indptr = {0, 0, 1};
  one.indices = {5};
  one.last_page_len = {1, 1};
  const std::vector<ByteRange> r = PageListByteRanges(kv, one);
  ASSERT_EQ(r.size(), 1u);
  const size_t block = 2 * 16 * 64 * 2;
  EXPECT_EQ(r[0].offset, (8 + 5) * block);  // head 1's page 5
  EXPECT_EQ(r[0].size, block);
}

}  // namespace
}  // namespace quest
