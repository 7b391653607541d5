#include "src/util/pool_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

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
