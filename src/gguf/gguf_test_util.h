// Test helpers for the GGUF tests: a sample file with every metadata value
// type and several tensors, and byte patching of serialized files.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "src/gguf/gguf_writer.h"

namespace quest::testing {

struct SampleTensor {
  std::string name;
  GgmlType type;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

// Tensors of several types and shapes with pseudo-random bytes.
inline std::vector<SampleTensor> SampleTensors() {
  std::vector<SampleTensor> ts = {
      {"token_embd.weight", GgmlType::kQ4_K, {256, 3}, {}},
      {"blk.0.attn_norm.weight", GgmlType::kF32, {8}, {}},
      {"blk.0.attn_q.weight", GgmlType::kQ8_0, {64, 2, 3}, {}},
      {"blk.0.ffn_up.weight", GgmlType::kF16, {5, 3, 2, 2}, {}},
      {"output.weight", GgmlType::kQ4_0, {32, 5}, {}},
  };
  std::mt19937 rng(1234);
  for (SampleTensor& t : ts) {
    const GgmlTypeTraits* traits = GetGgmlTypeTraits(static_cast<uint32_t>(t.type));
    size_t n = t.shape[0] / traits->block_size * traits->type_size;
    for (size_t d = 1; d < t.shape.size(); ++d) n *= t.shape[d];
    t.data.resize(n);
    for (uint8_t& b : t.data) b = static_cast<uint8_t>(rng());
  }
  return ts;
}

// An array of two arrays: [[1, 2, 3] as i16, ["x", "yz"]] encoded by hand.
inline std::vector<uint8_t> NestedArrayPayload() {
  std::vector<uint8_t> p;
  auto put = [&](const void* v, size_t n) {
    p.insert(p.end(), static_cast<const uint8_t*>(v), static_cast<const uint8_t*>(v) + n);
  };
  auto u32 = [&](uint32_t v) { put(&v, 4); };
  auto u64 = [&](uint64_t v) { put(&v, 8); };
  u32(static_cast<uint32_t>(GgufValueType::kArray));
  u64(2);
  u32(static_cast<uint32_t>(GgufValueType::kI16));
  u64(3);
  for (int16_t v : {1, 2, -3}) put(&v, 2);
  u32(static_cast<uint32_t>(GgufValueType::kString));
  u64(2);
  u64(1);
  put("x", 1);
  u64(2);
  put("yz", 2);
  return p;
}

// A writer holding one key of every value type, arrays, and SampleTensors().
inline GgufWriter SampleWriter(uint32_t alignment = kGgufDefaultAlignment) {
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  if (alignment != kGgufDefaultAlignment) w.SetAlignment(alignment);
  w.SetU8("test.u8", 200);
  w.SetI8("test.i8", -100);
  w.SetU16("test.u16", 60000);
  w.SetI16("test.i16", -30000);
  w.SetU32("test.u32", 4000000000u);
  w.SetI32("test.i32", -2000000000);
  w.SetU64("test.u64", 1ull << 40);
  w.SetI64("test.i64", -(1ll << 40));
  w.SetF32("test.f32", 1.5f);
  w.SetF64("test.f64", 0.1);
  w.SetBool("test.bool", true);
  w.SetString("test.string", "h\xC3\xA9llo\n");
  w.SetStringArray("test.strings", {"a", "", "bc", "\xE2\x96\x81the"});
  w.SetF32Array("test.f32s", {0.5f, -1.0f, 3.25f});
  w.SetI32Array("test.i32s", {1, -2, 3, 2147483647});
  const uint8_t bools[] = {1, 0, 1};
  w.SetScalarArray("test.bools", GgufValueType::kBool, bools, 3);
  const uint8_t u8s[] = {7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  w.SetScalarArray("test.u8s", GgufValueType::kU8, u8s, 10);
  w.SetStringArray("test.empty", {});
  w.SetRaw("test.nested", GgufValueType::kArray, NestedArrayPayload());
  for (const SampleTensor& t : SampleTensors()) {
    w.AddTensor(t.name, t.type, t.shape, t.data.data(), t.data.size());
  }
  return w;
}

// Offset of the first occurrence of `needle` in `hay`; QE_CHECKs it exists.
inline size_t FindBytes(const std::vector<uint8_t>& hay, const std::string& needle) {
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (std::memcmp(hay.data() + i, needle.data(), needle.size()) == 0) return i;
  }
  QE_CHECK(false, "bytes \"%s\" not found", needle.c_str());
  return hay.size();
}

// Offset of a length-prefixed GGUF string (a key or a tensor name): the length field.
inline size_t FindGgufString(const std::vector<uint8_t>& hay, const std::string& s) {
  std::string needle(8, '\0');
  const uint64_t len = s.size();
  std::memcpy(needle.data(), &len, 8);
  return FindBytes(hay, needle + s);
}

template <typename T>
void Poke(std::vector<uint8_t>* bytes, size_t offset, T v) {
  QE_CHECK(offset + sizeof(T) <= bytes->size());
  std::memcpy(bytes->data() + offset, &v, sizeof(T));
}

template <typename T>
T Peek(const std::vector<uint8_t>& bytes, size_t offset) {
  QE_CHECK(offset + sizeof(T) <= bytes.size());
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

// Where the fields of a tensor info (found by name) start.
struct TensorInfoOffsets {
  size_t name, n_dims, dims, type, offset;
};
inline TensorInfoOffsets FindTensorInfo(const std::vector<uint8_t>& bytes,
                                        const std::string& name) {
  TensorInfoOffsets o;
  o.name = FindGgufString(bytes, name);
  o.n_dims = o.name + 8 + name.size();
  o.dims = o.n_dims + 4;
  o.type = o.dims + 8 * Peek<uint32_t>(bytes, o.n_dims);
  o.offset = o.type + 4;
  return o;
}

}  // namespace quest::testing
