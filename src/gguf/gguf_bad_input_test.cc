// The reader on hostile bytes: every truncation, random corruption of the
// header/metadata/tensor-info region, and crafted lies (counts, lengths, types,
// offsets, duplicates). Each must give a named error or a valid parse, never a
// crash, a hang or a huge allocation (ASan/UBSan run these).
#include <gtest/gtest.h>

#include <random>

#include "src/gguf/gguf.h"
#include "src/gguf/gguf_info.h"
#include "src/gguf/gguf_test_util.h"

namespace quest {
namespace {

using testing::FindGgufString;
using testing::FindTensorInfo;
using testing::Peek;
using testing::Poke;
using testing::SampleWriter;

// Parses an exact-size heap copy, so ASan sees any read past the end.
Result<GgufFile> ParseCopy(const std::vector<uint8_t>& bytes, size_t size) {
  static std::vector<uint8_t> copy;  // outlives the GgufFile for the caller's checks
  copy.assign(bytes.begin(), bytes.begin() + size);
  copy.shrink_to_fit();
  return GgufFile::FromMemory(copy.data(), copy.size(), "bad.gguf");
}

// Touches everything a consumer might: all values, tensor bytes, info output.
void UseEverything(const GgufFile& f) {
  size_t sum = 0;
  for (const std::string& key : f.Keys()) {
    sum += f.ValueToString(key).size();
    (void)f.GetInt(key);
    (void)f.GetU32(key);
    (void)f.GetF32(key);
    (void)f.GetBool(key);
    (void)f.GetString(key);
    (void)f.GetStringArray(key);
    (void)f.GetF32Array(key);
    (void)f.GetI32Array(key);
  }
  for (const GgufTensor& t : f.tensors()) {
    if (t.nbytes > 0) sum += t.data[0] + t.data[t.nbytes - 1];
  }
  sum += GgufInfoJson(f).dump().size() + GgufInfoText(f).size();
  EXPECT_GT(sum, 0u);
}

// The error names the file and a byte offset, and mentions `what`.
void ExpectError(const std::vector<uint8_t>& bytes, const std::string& what) {
  Result<GgufFile> f = ParseCopy(bytes, bytes.size());
  ASSERT_FALSE(f.ok()) << "expected an error about " << what;
  const std::string& m = f.status().message();
  EXPECT_EQ(m.rfind("bad.gguf: ", 0), 0u) << m;
  EXPECT_NE(m.find(" at offset "), std::string::npos) << m;
  EXPECT_NE(m.find(what), std::string::npos) << m << "\n  lacks: " << what;
}

class GgufTruncation : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufTruncation, EveryPrefixIsAnErrorUntilTheLastTensorEnds) {
  const std::vector<uint8_t> bytes = SampleWriter(GetParam()).Serialize();
  Result<GgufFile> full = ParseCopy(bytes, bytes.size());
  ASSERT_TRUE(full.ok()) << full.status().message();
  size_t data_end = 0;
  for (const GgufTensor& t : full->tensors()) {
    data_end = std::max<size_t>(data_end, full->data_offset() + t.offset + t.nbytes);
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    Result<GgufFile> f = ParseCopy(bytes, n);
    if (n < data_end) {
      ASSERT_FALSE(f.ok()) << "prefix of " << n << " bytes parsed";
      const std::string& m = f.status().message();
      ASSERT_EQ(m.rfind("bad.gguf: ", 0), 0u) << m;
      ASSERT_NE(m.find(" at offset "), std::string::npos) << m;
    } else {
      ASSERT_TRUE(f.ok()) << n << ": " << f.status().message();  // only trailing padding cut
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufTruncation, ::testing::Values(32u, 64u));

TEST(GgufBadInput, RandomByteFlipsInTheHeadNeverCrash) {
  const std::vector<uint8_t> bytes = SampleWriter().Serialize();
  Result<GgufFile> full = ParseCopy(bytes, bytes.size());
  ASSERT_TRUE(full.ok());
  const size_t head = full->data_offset();
  int parsed = 0;
  for (uint32_t seed = 0; seed < 3000; ++seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> b = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) {
      const size_t at = rng() % head;
      switch (rng() % 3) {
        case 0:
          b[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;  // one bit
        case 1:
          b[at] = static_cast<uint8_t>(rng());
          break;  // one byte
        default:
          b[at] = (rng() % 2) ? 0xFF : 0x00;
          break;  // extremes
      }
    }
    Result<GgufFile> f = ParseCopy(b, b.size());
    if (f.ok()) {
      ++parsed;
      UseEverything(*f);
    } else {
      ASSERT_EQ(f.status().message().rfind("bad.gguf: ", 0), 0u) << f.status().message();
    }
  }
  // Flips inside values (numbers, string bytes) leave a valid file: both paths ran.
  EXPECT_GT(parsed, 100);
  EXPECT_LT(parsed, 2900);
}

TEST(GgufBadInput, Magic) {
  std::vector<uint8_t> b = SampleWriter().Serialize();
  b[0] = 'X';
  ExpectError(b, "expected \"GGUF\", found \"XGUF\"");
  ExpectError({}, "header magic");
  ExpectError({'G', 'G'}, "header magic");
}

TEST(GgufBadInput, Versions) {
  std::vector<uint8_t> b = SampleWriter().Serialize();
  Poke<uint32_t>(&b, 4, 1);
  ExpectError(b, "GGUF v1 is not supported");
  Poke<uint32_t>(&b, 4, 4);
  ExpectError(b, "unsupported GGUF version 4");
  Poke<uint32_t>(&b, 4, 0x03000000);
  ExpectError(b, "big-endian");
}

TEST(GgufBadInput, HugeCounts) {
  const std::vector<uint8_t> good = SampleWriter().Serialize();
  std::vector<uint8_t> b = good;
  Poke<uint64_t>(&b, 8, uint64_t{1} << 40);
  ExpectError(b, "header tensor_count");
  Poke<uint64_t>(&b, 8, kGgufMaxTensors);  // within the limit, but the bytes are not there
  ExpectError(b, "tensor infos");
  b = good;
  Poke<uint64_t>(&b, 16, ~uint64_t{0});
  ExpectError(b, "exceeds the limit");
  Poke<uint64_t>(&b, 16, kGgufMaxKeys);
  ExpectError(b, "header metadata_kv_count");
  b = good;
  Poke<uint64_t>(&b, 16, Peek<uint64_t>(b, 16) + 1);  // one key more: eats the first tensor info
  ExpectError(b, "");
}

TEST(GgufBadInput, LyingStringAndArrayLengths) {
  const std::vector<uint8_t> good = SampleWriter().Serialize();
  std::vector<uint8_t> b = good;
  const size_t key = FindGgufString(b, "test.string");
  const size_t value = key + 8 + 11 + 4;  // key length, key, type id
  Poke<uint64_t>(&b, value, uint64_t{1} << 62);
  ExpectError(b, "exceeds the limit");
  Poke<uint64_t>(&b, value, uint64_t{1} << 29);
  ExpectError(b, "past the end of the file");
  Poke<uint64_t>(&b, key, uint64_t{1} << 20);  // the key's own length
  ExpectError(b, "exceeds the limit of 65535");

  b = good;
  const size_t arr = FindGgufString(b, "test.strings") + 8 + 12 + 4;
  Poke<uint64_t>(&b, arr + 4, uint64_t{1} << 61);
  ExpectError(b, "array of 2305843009213693952 string elements");
  Poke<uint64_t>(&b, arr + 4, 100000);
  ExpectError(b, "array of 100000 string elements");
  Poke<uint32_t>(&b, arr, 13);
  ExpectError(b, "unknown array element type 13");

  b = good;
  const size_t f32s = FindGgufString(b, "test.f32s") + 8 + 9 + 4;
  Poke<uint64_t>(&b, f32s + 4, (uint64_t{1} << 62) + 1);  // count * 4 would wrap
  ExpectError(b, "array of 4611686018427387905 f32 elements");
}

TEST(GgufBadInput, BadValues) {
  std::vector<uint8_t> b = SampleWriter().Serialize();
  const size_t type_at = FindGgufString(b, "test.u8") + 8 + 7;
  Poke<uint32_t>(&b, type_at, 99);
  ExpectError(b, "unknown value type 99");

  b = SampleWriter().Serialize();
  Poke<uint8_t>(&b, FindGgufString(b, "test.bool") + 8 + 9 + 4, 2);
  ExpectError(b, "bool value 2");
  b = SampleWriter().Serialize();
  Poke<uint8_t>(&b, FindGgufString(b, "test.bools") + 8 + 10 + 4 + 12 + 1, 7);
  ExpectError(b, "\"test.bools\"[1]");

  // Arrays nested 9 deep.
  std::vector<uint8_t> payload;
  for (int i = 0; i < 9; ++i) {
    const uint32_t t = static_cast<uint32_t>(GgufValueType::kArray);
    const uint64_t n = 1;
    payload.insert(payload.end(), reinterpret_cast<const uint8_t*>(&t),
                   reinterpret_cast<const uint8_t*>(&t) + 4);
    payload.insert(payload.end(), reinterpret_cast<const uint8_t*>(&n),
                   reinterpret_cast<const uint8_t*>(&n) + 8);
  }
  GgufWriter w;
  w.SetRaw("deep", GgufValueType::kArray, payload);
  ExpectError(w.Serialize(), "nested more than 8 deep");

  // 2^20 + 1 empty arrays inside one array: real bytes, but too many values.
  const uint64_t n = kGgufMaxNestedArrays + 1;
  std::vector<uint8_t> many(12 + 12 * n, 0);
  Poke<uint32_t>(&many, 0, static_cast<uint32_t>(GgufValueType::kArray));
  Poke<uint64_t>(&many, 4, n);  // each element: type u8 (0) and count 0, all zero bytes
  GgufWriter w2;
  w2.SetRaw("many", GgufValueType::kArray, many);
  ExpectError(w2.Serialize(), "more than 1048576 nested arrays");
  Poke<uint64_t>(&many, 4, n - 1);  // exactly the limit parses
  many.resize(many.size() - 12);
  GgufWriter w3;
  w3.SetRaw("many", GgufValueType::kArray, many);
  const std::vector<uint8_t> ok = w3.Serialize();
  EXPECT_TRUE(ParseCopy(ok, ok.size()).ok());
}

TEST(GgufBadInput, DuplicateKeysAndNames) {
  std::vector<uint8_t> b = SampleWriter().Serialize();
  b[FindGgufString(b, "test.i8") + 8 + 5] = 'u';  // test.i8 -> test.u8
  ExpectError(b, "\"test.u8\" at offset");
  ExpectError(b, "duplicate key (first defined as key #1)");

  b = SampleWriter().Serialize();
  b[FindGgufString(b, "test.u8") + 8] = 0;  // embedded NUL is fine (escaped), not a duplicate
  ASSERT_TRUE(ParseCopy(b, b.size()).ok());
  Poke<uint64_t>(&b, FindGgufString(b, "general.architecture"), 0);
  ExpectError(b, "metadata key #0 at offset 24: empty key");
}

TEST(GgufBadInput, DuplicateTensorNames) {
  GgufWriter w;
  const std::vector<uint8_t> data(64);
  w.AddTensor("a.weight", GgmlType::kF32, {4}, data.data(), 16);
  w.AddTensor("b.weight", GgmlType::kF32, {4}, data.data(), 16);
  std::vector<uint8_t> b = w.Serialize();
  b[FindGgufString(b, "b.weight") + 8] = 'a';
  ExpectError(b, "tensor #1 \"a.weight\" at offset");
  ExpectError(b, "duplicate tensor name (first defined as tensor #0)");
}

TEST(GgufBadInput, TensorInfos) {
  const std::vector<uint8_t> good = SampleWriter().Serialize();
  const std::string name = "blk.0.attn_q.weight";  // q8_0 [64, 2, 3]
  const testing::TensorInfoOffsets o = FindTensorInfo(good, name);
  std::vector<uint8_t> b;

  b = good;
  Poke<uint32_t>(&b, o.type, 4);
  ExpectError(b, "tensor #2 \"blk.0.attn_q.weight\" type at offset");
  ExpectError(b, "unknown ggml type id 4");
  Poke<uint32_t>(&b, o.type, 0xDEADBEEF);
  ExpectError(b, "unknown ggml type id 3735928559");

  b = good;
  Poke<uint32_t>(&b, o.n_dims, 5);
  ExpectError(b, "5 dimensions (expected 1 to 4)");
  Poke<uint32_t>(&b, o.n_dims, 0);
  ExpectError(b, "0 dimensions");

  b = good;
  Poke<uint64_t>(&b, o.dims + 8, 0);
  ExpectError(b, "ne[1] at offset");
  Poke<uint64_t>(&b, o.dims + 8, ~uint64_t{0});
  ExpectError(b, "out of range");
  Poke<uint64_t>(&b, o.dims, uint64_t{1} << 62);
  Poke<uint64_t>(&b, o.dims + 8, uint64_t{1} << 62);
  ExpectError(b, "element count overflows");
  Poke<uint64_t>(&b, o.dims, uint64_t{1} << 56);
  Poke<uint64_t>(&b, o.dims + 8, 2);
  Poke<uint64_t>(&b, o.dims + 16, 64);  // 2^63 elements overflow int64 too
  ExpectError(b, "overflows");
  Poke<uint64_t>(&b, o.dims + 16, 8);  // 2^60 elements: bytes fit in 64 bits, not the file
  ExpectError(b, "past the end of the file");

  b = good;
  Poke<uint64_t>(&b, o.dims, 48);
  ExpectError(b, "row length 48 is not a multiple of the q8_0 block size 32");

  b = good;
  Poke<uint64_t>(&b, o.offset, Peek<uint64_t>(b, o.offset) + 1);
  ExpectError(b, "not a multiple of the alignment 32");
  Poke<uint64_t>(&b, o.offset, uint64_t{1} << 40);
  ExpectError(b, "runs past the end of the file");
  Poke<uint64_t>(&b, o.offset, ~uint64_t{31});
  ExpectError(b, "runs past the end of the file");
  Poke<uint64_t>(&b, o.offset, 0);  // lands on token_embd.weight
  ExpectError(b, "overlaps tensor #0 \"token_embd.weight\"");
}

TEST(GgufBadInput, Alignment) {
  GgufWriter w;
  w.SetU32(kGgufAlignmentKey, 48);
  ExpectError(w.Serialize(), "alignment 48 is not a power of two");
  w.SetU32(kGgufAlignmentKey, 0);
  ExpectError(w.Serialize(), "alignment 0 is not a power of two");
  // Powers of two below 8 would leave f32 tensors misaligned.
  for (uint32_t a : {1u, 2u, 4u}) {
    w.SetU32(kGgufAlignmentKey, a);
    ExpectError(w.Serialize(), StrFormat("alignment %u is not a multiple of 8", a));
  }
  w.SetString(kGgufAlignmentKey, "32");
  ExpectError(w.Serialize(), "has type string, expected an integer");
  w.SetI32(kGgufAlignmentKey, -32);
  ExpectError(w.Serialize(), "does not fit in uint32");
  w.SetU8(kGgufAlignmentKey, 16);  // any integer type holding a power of two is accepted
  EXPECT_TRUE(ParseCopy(w.Serialize(), w.Serialize().size()).ok());
}

TEST(GgufBadInput, DataSectionPastTheEnd) {
  // The tensor infos end, the padding to a 4096 alignment is missing.
  GgufWriter w;
  w.SetAlignment(4096);
  const std::vector<uint8_t> data(16);
  w.AddTensor("t", GgmlType::kF32, {4}, data.data(), 16);
  const std::vector<uint8_t> b = w.Serialize();
  Result<GgufFile> full = ParseCopy(b, b.size());
  ASSERT_TRUE(full.ok());
  Result<GgufFile> cut = ParseCopy(b, full->data_offset() - 1);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("data section at offset"), std::string::npos)
      << cut.status().message();
}

}  // namespace
}  // namespace quest
