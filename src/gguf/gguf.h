// GGUF v2/v3 reader: maps a file, parses and validates the header, metadata
// key/values and tensor infos, and exposes typed views into the mapping. It
// knows the container, no model: every byte it reads is treated as untrusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/gguf/ggml_type.h"
#include "src/gguf/gguf_types.h"
#include "src/util/check.h"
#include "src/util/mapped_file.h"

namespace quest {

// One tensor's description; `data` points into the mapping (no copy) and is
// valid while the GgufFile lives. The parser has checked that
// [data, data + nbytes) lies inside the file.
struct GgufTensor {
  std::string name;
  GgmlType type;
  std::vector<int64_t> shape;  // ggml ne[], innermost (row length) first; 1..4 dims, each > 0
  uint64_t offset;             // bytes from the start of the data section; a multiple of alignment
  const uint8_t* data;         // [nbytes]
  size_t nbytes;               // shape[0] / block_size * type_size * shape[1] * ...
  int64_t num_elements() const;
};

// A parsed metadata value. Scalars and arrays of scalars are not copied: they
// point at their little-endian bytes inside the file (possibly unaligned; read
// them with memcpy). Strings are copied, as callers keep them as std::string.
struct GgufValue {
  GgufValueType type = GgufValueType::kU8;
  size_t offset = 0;                // where the value's bytes start in the file (for messages)
  const uint8_t* scalar = nullptr;  // scalar types: GgufScalarSize(type) bytes

  std::string str;  // kString

  // kArray only.
  GgufValueType array_type = GgufValueType::kU8;
  uint64_t array_size = 0;              // element count
  const uint8_t* array_data = nullptr;  // scalar elements: array_size * GgufScalarSize bytes
  std::vector<std::string> strings;     // string elements [array_size]
  std::vector<GgufValue> arrays;        // array elements [array_size]
};

class GgufFile {
 public:
  // Maps `path` and parses it. Errors name the file, the field and its offset.
  static Result<GgufFile> Open(const std::string& path);
  // Parses `size` bytes at `data` without copying; the caller keeps them alive
  // as long as the GgufFile. `name` stands for the path in messages.
  static Result<GgufFile> FromMemory(const uint8_t* data, size_t size, std::string name);

  GgufFile(GgufFile&&) = default;
  GgufFile& operator=(GgufFile&&) = default;
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  size_t data_offset() const { return data_offset_; }  // start of the data section in the file
  const uint8_t* file_data() const { return data_; }
  size_t file_size() const { return size_; }

  // --- metadata ---
  bool Has(const std::string& key) const { return key_index_.count(key) != 0; }
  GgufValueType TypeOf(const std::string& key) const;   // precondition: Has(key)
  const GgufValue* Find(const std::string& key) const;  // nullptr if absent

  // Typed getters. Errors name the file and key, and say "missing" or the
  // actual type (or value, when it does not fit).
  Result<int64_t> GetInt(const std::string& key) const;   // any integer type
  Result<uint32_t> GetU32(const std::string& key) const;  // any integer type whose value fits
  Result<float> GetF32(const std::string& key) const;     // f32, or f64 within f32 range
  Result<bool> GetBool(const std::string& key) const;
  Result<std::string> GetString(const std::string& key) const;
  // No copy: the pointer lives as long as this GgufFile.
  Result<const std::vector<std::string>*> GetStringArray(const std::string& key) const;
  Result<std::vector<float>> GetF32Array(const std::string& key) const;    // f32 or f64 elements
  Result<std::vector<int32_t>> GetI32Array(const std::string& key) const;  // integers that fit

  std::vector<std::string> Keys() const { return keys_; }  // in file order
  // One-line rendering: numbers, quoted and escaped strings (long ones cut),
  // arrays as [a, b, ... (N items)] showing at most `max_array_items`.
  std::string ValueToString(const std::string& key, size_t max_array_items = 8) const;

  // --- tensors ---
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* FindTensor(const std::string& name) const;  // nullptr if absent

 private:
  friend class GgufParser;
  GgufFile() = default;

  std::optional<MappedFile> mapping_;  // set by Open; FromMemory borrows the caller's bytes
  const uint8_t* data_ = nullptr;      // [size_] whole file
  size_t size_ = 0;
  std::string path_;
  uint32_t version_ = 0;
  size_t alignment_ = kGgufDefaultAlignment;
  size_t data_offset_ = 0;

  std::vector<std::string> keys_;  // file order
  std::vector<GgufValue> values_;  // parallel to keys_
  std::unordered_map<std::string, size_t> key_index_;
  std::vector<GgufTensor> tensors_;  // file order
  std::unordered_map<std::string, size_t> tensor_index_;
};

// Renders one value as GgufFile::ValueToString does.
std::string GgufValueToString(const GgufValue& value, size_t max_array_items = 8);

}  // namespace quest

namespace quest {

// `s` with quotes and escapes (\", \\, \n, \t, \r, \xNN for other control
// bytes), cut after about `max_bytes` at a UTF-8 boundary with a note of the
// full length. Used for values and for untrusted names in error messages.
std::string GgufQuote(const std::string& s, size_t max_bytes = 256);

}  // namespace quest
