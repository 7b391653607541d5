// RAII read-only memory mapping of a whole file (model weights are read in
// place, never copied). Move-only; errors name the path and the errno text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "src/util/check.h"

namespace quest {

class MappedFile {
 public:
  // Maps `path` read-only (MAP_PRIVATE). An empty file maps to data() ==
  // nullptr, size() == 0. Directories and other non-regular files are refused.
  static Result<MappedFile> Open(const std::string& path);

  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  void Unmap();

  std::string path_;
  const uint8_t* data_ = nullptr;  // [size_] bytes, page-aligned; nullptr when empty
  size_t size_ = 0;
};

}  // namespace quest
