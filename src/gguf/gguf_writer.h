// GGUF v3 writer: collects metadata and tensors in memory and writes a file
// that GgufFile (and llama.cpp) can read, atomically (temporary file, rename).
// Used by tests to build inputs and by tools that emit GGUF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "src/gguf/ggml_type.h"
#include "src/gguf/gguf_types.h"
#include "src/util/check.h"

namespace quest {

class GgufWriter {
 public:
  // Metadata. Keys keep the order of their first Set; setting a key again
  // replaces its value in place. Keys must be non-empty (QE_CHECK).
  void SetU8(std::string key, uint8_t v);
  void SetI8(std::string key, int8_t v);
  void SetU16(std::string key, uint16_t v);
  void SetI16(std::string key, int16_t v);
  void SetU32(std::string key, uint32_t v);
  void SetI32(std::string key, int32_t v);
  void SetU64(std::string key, uint64_t v);
  void SetI64(std::string key, int64_t v);
  void SetF32(std::string key, float v);
  void SetF64(std::string key, double v);
  void SetBool(std::string key, bool v);
  void SetString(std::string key, std::string v);
  void SetStringArray(std::string key, std::vector<std::string> v);
  void SetF32Array(std::string key, std::vector<float> v);
  void SetI32Array(std::string key, std::vector<int32_t> v);
  // An array of any scalar element type: `count` elements of
  // GgufScalarSize(elem) bytes each at `data`, in host (little-endian) order.
  void SetScalarArray(std::string key, GgufValueType elem, const void* data, size_t count);
  // A pre-encoded value: `payload` is exactly the bytes that follow the type id
  // in the file (for arrays of arrays, and for tests that need odd values).
  void SetRaw(std::string key, GgufValueType type, std::vector<uint8_t> payload);

  // general.alignment (a power of two, at least 8; QE_CHECK); data offsets and the data
  // section are aligned to it. Without a call, 32 and no key is written.
  void SetAlignment(uint32_t alignment);

  // Copies `nbytes` at `data`. QE_CHECKs (programmer bugs): a new non-empty
  // name, a known type, 1 to 4 dims each > 0, shape[0] a multiple of the
  // type's block size, and nbytes equal to the size the shape implies.
  void AddTensor(std::string name, GgmlType type, std::vector<int64_t> shape, const void* data,
                 size_t nbytes);

  // Writes `path` via `path`.tmp.<pid> and rename(2); errors name the path and errno text.
  // A tensor whose data WriteStreaming asks for when writing (files larger
  // than memory: make-model's 8B presets).
  void AddTensorInfo(std::string name, GgmlType type, std::vector<int64_t> shape);
  // Fills the data of the tensor with this index (in AddTensor order).
  using TensorFiller = std::function<void(size_t index, uint8_t* data, size_t nbytes)>;
  // Write() for files with AddTensorInfo tensors: each one's data comes from
  // fill, one tensor at a time.
  Status WriteStreaming(const std::string& path, const TensorFiller& fill) const;
  Status Write(const std::string& path) const;
  // The whole file in memory.
  std::vector<uint8_t> Serialize() const;

  size_t num_tensors() const { return tensors_.size(); }

 private:
  struct Kv {
    std::string key;
    std::vector<uint8_t> value;  // type id followed by the payload
  };
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> shape;
    std::vector<uint8_t> data;  // empty for tensors whose data is streamed
    size_t nbytes = 0;
  };
  // Checks a tensor's name, type and shape; returns its byte size.
  size_t CheckTensor(const std::string& name, GgmlType type,
                     const std::vector<int64_t>& shape) const;

  void Set(std::string key, GgufValueType type, std::vector<uint8_t> payload);
  // Header, metadata and tensor infos, padded to the alignment: everything
  // before the first tensor's data.
  std::vector<uint8_t> SerializeHead() const;
  size_t Padding(size_t n) const { return (alignment_ - n % alignment_) % alignment_; }

  std::vector<Kv> kvs_;
  std::vector<Tensor> tensors_;
  uint32_t alignment_ = kGgufDefaultAlignment;
};

}  // namespace quest
