// The GGUF container's vocabulary shared by the reader and the writer: the
// metadata value types, their on-disk sizes and names, and the format's
// constants and the reader's sanity limits.
#pragma once

#include <cstddef>
#include <cstdint>

namespace quest {

// Metadata value type ids, as stored in the file (uint32).
enum class GgufValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian uint32
inline constexpr uint32_t kGgufVersion = 3;         // what the writer produces
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr const char* kGgufAlignmentKey = "general.alignment";
inline constexpr int kGgufMaxDims = 4;  // GGML_MAX_DIMS

// Reader limits: far above any real model, low enough that a lying count can
// never make the reader allocate or loop much more than the file's own size.
inline constexpr uint64_t kGgufMaxTensors = uint64_t{1} << 20;
inline constexpr uint64_t kGgufMaxKeys = uint64_t{1} << 20;
inline constexpr uint64_t kGgufMaxStringBytes = uint64_t{1} << 30;
inline constexpr uint64_t kGgufMaxNameBytes = 65535;  // keys and tensor names
inline constexpr int kGgufMaxArrayNesting = 8;        // arrays of arrays of ...
// Arrays of arrays in the whole file: each costs ~128 bytes of memory for 12
// on disk, so this bounds the blow-up; real models use none.
inline constexpr uint64_t kGgufMaxNestedArrays = uint64_t{1} << 20;

// True for the ids 0..12.
inline bool IsValidGgufValueType(uint32_t id) { return id <= 12; }

// "u8", "string", "array", ...; "?" for an invalid id.
inline const char* GgufValueTypeName(GgufValueType t) {
  static constexpr const char* kNames[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                           "bool", "string", "array", "u64", "i64", "f64"};
  const auto id = static_cast<uint32_t>(t);
  return IsValidGgufValueType(id) ? kNames[id] : "?";
}

// Bytes of one scalar value on disk; 0 for string and array (variable size).
inline size_t GgufScalarSize(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kU16:
    case GgufValueType::kI16:
      return 2;
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kF32:
      return 4;
    case GgufValueType::kU64:
    case GgufValueType::kI64:
    case GgufValueType::kF64:
      return 8;
    case GgufValueType::kString:
    case GgufValueType::kArray:
      return 0;
  }
  return 0;
}

}  // namespace quest
