#include "src/util/pool_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace quest {

Result<PoolFile> PoolFile::Create(const std::string& path, size_t size) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Status::Error(StrFormat("--kv-file %s exists: the pool file is scratch space, give "
                                     "a path that does not exist", path.c_str()));
    }
    return Status::Error(StrFormat("--kv-file %s: cannot create: %s", path.c_str(),
                                   std::strerror(errno)));
  }
  ::unlink(path.c_str());  // the mapping keeps the blocks until it goes
  if (size == 0) {
    ::close(fd);
    return PoolFile();
  }
  if (const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(size)); err != 0) {
    ::close(fd);
    return Status::Error(StrFormat("--kv-file %s: cannot allocate %.2f GB: %s", path.c_str(),
                                   size / 1e9, std::strerror(err)));
  }
  void* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int err = errno;
  ::close(fd);
  if (addr == MAP_FAILED) {
    return Status::Error(StrFormat("--kv-file %s: cannot map %.2f GB: %s", path.c_str(),
                                   size / 1e9, std::strerror(err)));
  }
  // Decode reads the few pages Quest selects, scattered: no read-ahead.
  ::madvise(addr, size, MADV_RANDOM);
  return PoolFile(static_cast<uint8_t*>(addr), size);
}

void PoolFile::WillNeed(size_t offset, size_t size) const {
  if (data_ == nullptr || size == 0 || offset >= size_) return;
  static const size_t os_page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t begin = offset / os_page * os_page;
  const size_t end = std::min(size_, offset + size);
  // The kernel reads at most its read-ahead window (128 KB by default) per
  // call, so a long range goes in chunks of that size. Advice only: a failure
  // leaves the reads to page faults, as without it.
  constexpr size_t kChunk = size_t{128} << 10;
  for (size_t at = begin; at < end; at += kChunk) {
    ::madvise(data_ + at, std::min(kChunk, end - at), MADV_WILLNEED);
  }
}

PoolFile::~PoolFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

PoolFile::PoolFile(PoolFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

PoolFile& PoolFile::operator=(PoolFile&& other) noexcept {
  std::swap(data_, other.data_);
  std::swap(size_, other.size_);
  return *this;
}

}  // namespace quest
