// GGUF v3 serialization of GgufWriter's metadata and tensors, and the atomic
// write to disk.
#include "src/gguf/gguf_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace quest {

namespace {

template <typename T>
void Put(std::vector<uint8_t>* out, T v) {
  const size_t n = out->size();  // resize + memcpy: insert() trips a GCC 12 -Wstringop-overflow
  out->resize(n + sizeof(T));
  std::memcpy(out->data() + n, &v, sizeof(T));
}

void PutString(std::vector<uint8_t>* out, const std::string& s) {
  Put<uint64_t>(out, s.size());
  out->insert(out->end(), s.begin(), s.end());
}

template <typename T>
std::vector<uint8_t> Bytes(T v) {
  std::vector<uint8_t> out;
  Put(&out, v);
  return out;
}

// Writes all of [p, p + n) to fd, retrying short writes and EINTR.
bool WriteAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

void GgufWriter::Set(std::string key, GgufValueType type, std::vector<uint8_t> payload) {
  QE_CHECK(!key.empty(), "empty GGUF metadata key");
  QE_CHECK(key.size() <= kGgufMaxNameBytes, "GGUF key of %zu bytes", key.size());
  std::vector<uint8_t> value = Bytes(static_cast<uint32_t>(type));
  value.insert(value.end(), payload.begin(), payload.end());
  for (Kv& kv : kvs_) {
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  }
  kvs_.push_back({std::move(key), std::move(value)});
}

void GgufWriter::SetU8(std::string key, uint8_t v) {
  Set(std::move(key), GgufValueType::kU8, Bytes(v));
}
void GgufWriter::SetI8(std::string key, int8_t v) {
  Set(std::move(key), GgufValueType::kI8, Bytes(v));
}
void GgufWriter::SetU16(std::string key, uint16_t v) {
  Set(std::move(key), GgufValueType::kU16, Bytes(v));
}
void GgufWriter::SetI16(std::string key, int16_t v) {
  Set(std::move(key), GgufValueType::kI16, Bytes(v));
}
void GgufWriter::SetU32(std::string key, uint32_t v) {
  Set(std::move(key), GgufValueType::kU32, Bytes(v));
}
void GgufWriter::SetI32(std::string key, int32_t v) {
  Set(std::move(key), GgufValueType::kI32, Bytes(v));
}
void GgufWriter::SetU64(std::string key, uint64_t v) {
  Set(std::move(key), GgufValueType::kU64, Bytes(v));
}
void GgufWriter::SetI64(std::string key, int64_t v) {
  Set(std::move(key), GgufValueType::kI64, Bytes(v));
}
void GgufWriter::SetF32(std::string key, float v) {
  Set(std::move(key), GgufValueType::kF32, Bytes(v));
}
void GgufWriter::SetF64(std::string key, double v) {
  Set(std::move(key), GgufValueType::kF64, Bytes(v));
}

void GgufWriter::SetBool(std::string key, bool v) {
  Set(std::move(key), GgufValueType::kBool, Bytes<uint8_t>(v ? 1 : 0));
}

void GgufWriter::SetString(std::string key, std::string v) {
  QE_CHECK(v.size() <= kGgufMaxStringBytes, "GGUF string of %zu bytes", v.size());
  std::vector<uint8_t> payload;
  PutString(&payload, v);
  Set(std::move(key), GgufValueType::kString, std::move(payload));
}

void GgufWriter::SetStringArray(std::string key, std::vector<std::string> v) {
  std::vector<uint8_t> payload = Bytes(static_cast<uint32_t>(GgufValueType::kString));
  Put<uint64_t>(&payload, v.size());
  for (const std::string& s : v) PutString(&payload, s);
  Set(std::move(key), GgufValueType::kArray, std::move(payload));
}

void GgufWriter::SetScalarArray(std::string key, GgufValueType elem, const void* data,
                                size_t count) {
  const size_t size = GgufScalarSize(elem);
  QE_CHECK(size != 0, "SetScalarArray with element type %s", GgufValueTypeName(elem));
  QE_CHECK(data != nullptr || count == 0);
  std::vector<uint8_t> payload = Bytes(static_cast<uint32_t>(elem));
  Put<uint64_t>(&payload, count);
  const auto* p = static_cast<const uint8_t*>(data);
  if (count != 0) payload.insert(payload.end(), p, p + count * size);
  Set(std::move(key), GgufValueType::kArray, std::move(payload));
}

void GgufWriter::SetF32Array(std::string key, std::vector<float> v) {
  SetScalarArray(std::move(key), GgufValueType::kF32, v.data(), v.size());
}

void GgufWriter::SetI32Array(std::string key, std::vector<int32_t> v) {
  SetScalarArray(std::move(key), GgufValueType::kI32, v.data(), v.size());
}

void GgufWriter::SetRaw(std::string key, GgufValueType type, std::vector<uint8_t> payload) {
  Set(std::move(key), type, std::move(payload));
}

void GgufWriter::SetAlignment(uint32_t alignment) {
  // GGUF: a power of two and a multiple of 8 (the reader refuses others).
  QE_CHECK(alignment >= 8 && std::has_single_bit(alignment), "alignment %u", alignment);
  alignment_ = alignment;
  SetU32(kGgufAlignmentKey, alignment);
}

size_t GgufWriter::CheckTensor(const std::string& name, GgmlType type,
                               const std::vector<int64_t>& shape) const {
  QE_CHECK(!name.empty() && name.size() <= kGgufMaxNameBytes, "tensor name of %zu bytes",
           name.size());
  for (const Tensor& t : tensors_) QE_CHECK(t.name != name, "duplicate tensor %s", name.c_str());
  const GgmlTypeTraits* traits = GetGgmlTypeTraits(static_cast<uint32_t>(type));
  QE_CHECK(traits != nullptr, "unknown ggml type %u", static_cast<uint32_t>(type));
  QE_CHECK(!shape.empty() && shape.size() <= kGgufMaxDims, "%s: %zu dims", name.c_str(),
           shape.size());
  for (int64_t d : shape) QE_CHECK(d > 0, "%s: dimension %lld", name.c_str(), (long long)d);
  QE_CHECK(shape[0] % traits->block_size == 0, "%s: row length %lld vs %s block size %u",
           name.c_str(), (long long)shape[0], traits->name, traits->block_size);
  size_t expected = static_cast<size_t>(shape[0]) / traits->block_size * traits->type_size;
  for (size_t d = 1; d < shape.size(); ++d) expected *= static_cast<size_t>(shape[d]);
  return expected;
}

void GgufWriter::AddTensor(std::string name, GgmlType type, std::vector<int64_t> shape,
                           const void* data, size_t nbytes) {
  const size_t expected = CheckTensor(name, type, shape);
  QE_CHECK(nbytes == expected, "%s: %zu bytes given, the shape needs %zu", name.c_str(), nbytes,
           expected);
  QE_CHECK(data != nullptr, "%s: null data", name.c_str());
  const auto* p = static_cast<const uint8_t*>(data);
  tensors_.push_back(
      {std::move(name), type, std::move(shape), std::vector<uint8_t>(p, p + nbytes), nbytes});
}

void GgufWriter::AddTensorInfo(std::string name, GgmlType type, std::vector<int64_t> shape) {
  const size_t nbytes = CheckTensor(name, type, shape);
  tensors_.push_back({std::move(name), type, std::move(shape), {}, nbytes});
}

std::vector<uint8_t> GgufWriter::SerializeHead() const {
  std::vector<uint8_t> out;
  Put<uint32_t>(&out, kGgufMagic);
  Put<uint32_t>(&out, kGgufVersion);
  Put<uint64_t>(&out, tensors_.size());
  Put<uint64_t>(&out, kvs_.size());
  for (const Kv& kv : kvs_) {
    PutString(&out, kv.key);
    out.insert(out.end(), kv.value.begin(), kv.value.end());
  }
  uint64_t offset = 0;  // in the data section; each tensor's data is padded to the alignment
  for (const Tensor& t : tensors_) {
    PutString(&out, t.name);
    Put<uint32_t>(&out, static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) Put<uint64_t>(&out, static_cast<uint64_t>(d));
    Put<uint32_t>(&out, static_cast<uint32_t>(t.type));
    Put<uint64_t>(&out, offset);
    offset += t.nbytes + Padding(t.nbytes);
  }
  out.resize(out.size() + Padding(out.size()), 0);
  return out;
}

std::vector<uint8_t> GgufWriter::Serialize() const {
  std::vector<uint8_t> out = SerializeHead();
  for (const Tensor& t : tensors_) {
    QE_CHECK(t.data.size() == t.nbytes, "%s: streamed tensor: use WriteStreaming", t.name.c_str());
    out.insert(out.end(), t.data.begin(), t.data.end());
    out.resize(out.size() + Padding(t.data.size()), 0);
  }
  return out;
}

Status GgufWriter::Write(const std::string& path) const {
  return WriteStreaming(path, [](size_t index, uint8_t*, size_t) {
    QE_CHECK(false, "tensor %zu was added with AddTensorInfo: use WriteStreaming", index);
  });
}

Status GgufWriter::WriteStreaming(const std::string& path, const TensorFiller& fill) const {
  const std::string tmp = StrFormat("%s.tmp.%d", path.c_str(), static_cast<int>(::getpid()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::Error(StrFormat("%s: cannot create: %s", tmp.c_str(), std::strerror(errno)));
  }
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::Error(StrFormat("%s: %s: %s", tmp.c_str(), what, std::strerror(err)));
  };
  const std::vector<uint8_t> head = SerializeHead();
  if (!WriteAll(fd, head.data(), head.size())) return fail("write failed");
  static constexpr uint8_t kZeros[256] = {};  // alignments above 256 pad in several writes
  std::vector<uint8_t> streamed;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = tensors_[i];
    const uint8_t* data = t.data.data();
    if (t.data.size() != t.nbytes) {  // AddTensorInfo: ask for the data now
      streamed.resize(t.nbytes);
      fill(i, streamed.data(), t.nbytes);
      data = streamed.data();
    }
    if (!WriteAll(fd, data, t.nbytes)) return fail("write failed");
    for (size_t pad = Padding(t.nbytes); pad > 0;) {
      const size_t n = std::min(pad, sizeof(kZeros));
      if (!WriteAll(fd, kZeros, n)) return fail("write failed");
      pad -= n;
    }
  }
  if (::fsync(fd) != 0) return fail("fsync failed");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Status::Error(StrFormat("%s: close failed: %s", tmp.c_str(), std::strerror(err)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Status::Error(StrFormat("%s: cannot rename %s into place: %s", path.c_str(), tmp.c_str(),
                                   std::strerror(err)));
  }
  return Status();
}

}  // namespace quest
