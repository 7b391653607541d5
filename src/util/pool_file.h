// A scratch file mapped read-write (MAP_SHARED): memory for a K/V page pool
// larger than RAM, paged in and out by the kernel. Its blocks are allocated up
// front (a full disk is an error here, not a SIGBUS later), and the file is
// unlinked at once: it never outlives the process, and an existing file at the
// path is refused rather than overwritten.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "src/util/check.h"

namespace quest {

class PoolFile {
 public:
  static Result<PoolFile> Create(const std::string& path, size_t size);

  PoolFile() = default;
  ~PoolFile();
  PoolFile(PoolFile&& other) noexcept;
  PoolFile& operator=(PoolFile&& other) noexcept;
  PoolFile(const PoolFile&) = delete;
  PoolFile& operator=(const PoolFile&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // Asks the kernel to start reading [offset, offset + size) from disk now
  // (madvise WILLNEED, widened to whole OS pages); does not wait for it.
  void WillNeed(size_t offset, size_t size) const;

 private:
  PoolFile(uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace quest
