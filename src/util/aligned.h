// Aligned, zero-initialised heap arrays for SIMD data. Move-only: copies of
// caches are explicit. Large arrays (KV caches) ask for transparent huge pages:
// decode reads 4 KB blocks scattered over gigabytes, and with 4 KB pages every
// block would cost a TLB miss.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

#include <sys/mman.h>
#include <utility>

namespace quest {

inline constexpr size_t kAlignment = 64;  // a cache line; >= any vector width we dispatch to
inline constexpr size_t kHugePage = size_t{2} << 20;

template <typename T>
class AlignedArray {
 public:
  AlignedArray() = default;
  explicit AlignedArray(size_t n) : size_(n) {
    if (n == 0) return;
    const size_t align = n * sizeof(T) >= kHugePage ? kHugePage : kAlignment;
    const size_t bytes = (n * sizeof(T) + align - 1) / align * align;
    data_ = static_cast<T*>(std::aligned_alloc(align, bytes));
    if (data_ == nullptr) throw std::bad_alloc();
    // A hint: without THP (or with it off) the array still works, only slower.
    if (align == kHugePage) madvise(data_, bytes, MADV_HUGEPAGE);
    std::memset(static_cast<void*>(data_), 0, bytes);
  }
  ~AlignedArray() { std::free(data_); }
  AlignedArray(AlignedArray&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  AlignedArray& operator=(AlignedArray&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }
  AlignedArray(const AlignedArray&) = delete;
  AlignedArray& operator=(const AlignedArray&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace quest
