// GgufWriter -> GgufFile round trips: every metadata value type, arrays,
// tensors of several types and shapes, alignments, typed-getter errors.
#include "src/gguf/gguf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "src/gguf/gguf_test_util.h"
#include "src/gguf/gguf_writer.h"

namespace quest {
namespace {

using testing::SampleTensors;
using testing::SampleWriter;

GgufFile Parse(const std::vector<uint8_t>& bytes) {
  Result<GgufFile> f = GgufFile::FromMemory(bytes.data(), bytes.size(), "mem.gguf");
  QE_CHECK(f.ok(), "%s", f.status().message().c_str());
  return std::move(f.value());
}

// Bytes and the GgufFile that points into them, kept alive together.
struct Parsed {
  explicit Parsed(std::vector<uint8_t> b) : bytes(std::move(b)), file(Parse(bytes)) {}
  std::vector<uint8_t> bytes;
  GgufFile file;
};

class GgufRoundTrip : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufRoundTrip, ScalarsOfEveryType) {
  const std::vector<uint8_t> bytes = SampleWriter(GetParam()).Serialize();
  const GgufFile f = Parse(bytes);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), GetParam());
  EXPECT_EQ(*f.GetString("general.architecture"), "llama");
  EXPECT_EQ(*f.GetInt("test.u8"), 200);
  EXPECT_EQ(*f.GetInt("test.i8"), -100);
  EXPECT_EQ(*f.GetInt("test.u16"), 60000);
  EXPECT_EQ(*f.GetInt("test.i16"), -30000);
  EXPECT_EQ(*f.GetInt("test.u32"), 4000000000ll);
  EXPECT_EQ(*f.GetInt("test.i32"), -2000000000);
  EXPECT_EQ(*f.GetInt("test.u64"), 1ll << 40);
  EXPECT_EQ(*f.GetInt("test.i64"), -(1ll << 40));
  EXPECT_EQ(*f.GetU32("test.u8"), 200u);
  EXPECT_EQ(*f.GetU32("test.u32"), 4000000000u);
  EXPECT_EQ(*f.GetF32("test.f32"), 1.5f);
  EXPECT_EQ(*f.GetF32("test.f64"), 0.1f);
  EXPECT_EQ(*f.GetBool("test.bool"), true);
  EXPECT_EQ(*f.GetString("test.string"), "h\xC3\xA9llo\n");

  const GgufValueType expected[] = {
      GgufValueType::kU8,  GgufValueType::kI8,  GgufValueType::kU16,  GgufValueType::kI16,
      GgufValueType::kU32, GgufValueType::kI32, GgufValueType::kU64,  GgufValueType::kI64,
      GgufValueType::kF32, GgufValueType::kF64, GgufValueType::kBool, GgufValueType::kString};
  const char* keys[] = {"test.u8",  "test.i8",  "test.u16", "test.i16", "test.u32",  "test.i32",
                        "test.u64", "test.i64", "test.f32", "test.f64", "test.bool", "test.string"};
  for (size_t i = 0; i < std::size(keys); ++i) {
    ASSERT_TRUE(f.Has(keys[i])) << keys[i];
    EXPECT_EQ(f.TypeOf(keys[i]), expected[i]) << keys[i];
  }
  EXPECT_FALSE(f.Has("test.absent"));
}

TEST_P(GgufRoundTrip, Arrays) {
  const std::vector<uint8_t> bytes = SampleWriter(GetParam()).Serialize();
  const GgufFile f = Parse(bytes);
  const auto strings = f.GetStringArray("test.strings");
  ASSERT_TRUE(strings.ok()) << strings.status().message();
  EXPECT_EQ(*strings.value(), (std::vector<std::string>{"a", "", "bc", "\xE2\x96\x81the"}));
  EXPECT_EQ(*f.GetF32Array("test.f32s"), (std::vector<float>{0.5f, -1.0f, 3.25f}));
  EXPECT_EQ(*f.GetI32Array("test.i32s"), (std::vector<int32_t>{1, -2, 3, 2147483647}));
  EXPECT_EQ(*f.GetI32Array("test.u8s"),
            (std::vector<int32_t>{7, 8, 9, 10, 11, 12, 13, 14, 15, 16}));
  EXPECT_TRUE((*f.GetStringArray("test.empty"))->empty());

  const GgufValue* bools = f.Find("test.bools");
  ASSERT_NE(bools, nullptr);
  EXPECT_EQ(bools->array_type, GgufValueType::kBool);
  EXPECT_EQ(bools->array_size, 3u);

  const GgufValue* nested = f.Find("test.nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->array_type, GgufValueType::kArray);
  ASSERT_EQ(nested->arrays.size(), 2u);
  EXPECT_EQ(nested->arrays[0].array_type, GgufValueType::kI16);
  EXPECT_EQ(nested->arrays[0].array_size, 3u);
  EXPECT_EQ(nested->arrays[1].strings, (std::vector<std::string>{"x", "yz"}));
  EXPECT_EQ(f.ValueToString("test.nested"), "[[1, 2, -3], [\"x\", \"yz\"]]");
}

TEST_P(GgufRoundTrip, KeysInFileOrder) {
  const Parsed parsed_f(SampleWriter(GetParam()).Serialize());
  const GgufFile& f = parsed_f.file;
  const std::vector<std::string> keys = f.Keys();
  ASSERT_GE(keys.size(), 3u);
  EXPECT_EQ(keys[0], "general.architecture");
  if (GetParam() != kGgufDefaultAlignment) {
    EXPECT_EQ(keys[1], "general.alignment");
  }
  EXPECT_EQ(keys.back(), "test.nested");
}

TEST_P(GgufRoundTrip, Tensors) {
  const std::vector<uint8_t> bytes = SampleWriter(GetParam()).Serialize();
  const GgufFile f = Parse(bytes);
  const std::vector<testing::SampleTensor> expected = SampleTensors();
  ASSERT_EQ(f.tensors().size(), expected.size());
  EXPECT_EQ(f.data_offset() % GetParam(), 0u);
  for (size_t i = 0; i < expected.size(); ++i) {
    const GgufTensor& t = f.tensors()[i];
    EXPECT_EQ(t.name, expected[i].name);
    EXPECT_EQ(t.type, expected[i].type);
    EXPECT_EQ(t.shape, expected[i].shape);
    EXPECT_EQ(t.offset % GetParam(), 0u);
    EXPECT_EQ(t.nbytes, expected[i].data.size());
    EXPECT_EQ(t.data, bytes.data() + f.data_offset() + t.offset);
    EXPECT_EQ(std::vector<uint8_t>(t.data, t.data + t.nbytes), expected[i].data) << t.name;
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    EXPECT_EQ(t.num_elements(), n);
    EXPECT_EQ(f.FindTensor(t.name), &t);
  }
  EXPECT_EQ(f.FindTensor("absent.weight"), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufRoundTrip, ::testing::Values(32u, 64u, 8u, 4096u));

TEST(Gguf, GetterErrorsNameKeyAndType) {
  const Parsed parsed_f(SampleWriter().Serialize());
  const GgufFile& f = parsed_f.file;
  auto expect_error = [](const Status& s, std::vector<std::string> parts) {
    ASSERT_FALSE(s.ok());
    for (const std::string& p : parts) {
      EXPECT_NE(s.message().find(p), std::string::npos) << s.message() << " lacks " << p;
    }
  };
  expect_error(f.GetInt("nope").status(), {"mem.gguf", "\"nope\"", "missing"});
  expect_error(f.GetInt("test.string").status(), {"mem.gguf", "test.string", "string", "offset"});
  expect_error(f.GetU32("test.i8").status(), {"test.i8", "-100", "uint32"});
  expect_error(f.GetU32("test.u64").status(), {"test.u64", "1099511627776"});
  expect_error(f.GetF32("test.u8").status(), {"test.u8", "has type u8"});
  expect_error(f.GetBool("test.u8").status(), {"test.u8", "expected bool"});
  expect_error(f.GetString("test.strings").status(), {"array of string"});
  expect_error(f.GetStringArray("test.f32s").status(), {"array of f32"});
  expect_error(f.GetF32Array("test.i32s").status(), {"array of i32"});
  expect_error(f.GetI32Array("test.strings").status(), {"array of string"});

  GgufWriter w;
  w.SetU64("big", ~uint64_t{0});
  w.SetF64("huge", 1e300);
  const int64_t wide[] = {1, int64_t{1} << 40};
  w.SetScalarArray("wide", GgufValueType::kI64, wide, 2);
  const Parsed parsed_g(w.Serialize());
  const GgufFile& g = parsed_g.file;
  expect_error(g.GetInt("big").status(), {"big", "18446744073709551615", "int64"});
  expect_error(g.GetF32("huge").status(), {"huge", "overflows f32"});
  expect_error(g.GetI32Array("wide").status(), {"wide", "element 1", "int32"});
}

TEST(Gguf, ValueToString) {
  const Parsed parsed_f(SampleWriter().Serialize());
  const GgufFile& f = parsed_f.file;
  EXPECT_EQ(f.ValueToString("test.i8"), "-100");
  EXPECT_EQ(f.ValueToString("test.u64"), "1099511627776");
  EXPECT_EQ(f.ValueToString("test.f32"), "1.5");
  EXPECT_EQ(f.ValueToString("test.bool"), "true");
  EXPECT_EQ(f.ValueToString("test.string"), "\"h\xC3\xA9llo\\n\"");
  EXPECT_EQ(f.ValueToString("test.f32s"), "[0.5, -1, 3.25]");
  EXPECT_EQ(f.ValueToString("test.u8s", 3), "[7, 8, 9, ... (10 items)]");
  EXPECT_EQ(f.ValueToString("test.u8s", 0), "[... (10 items)]");
  EXPECT_EQ(f.ValueToString("test.empty"), "[]");
  EXPECT_EQ(f.ValueToString("test.absent"), "(missing)");
  EXPECT_EQ(GgufQuote(std::string(300, 'a'), 4), "\"aaaa\"... (300 bytes)");
  EXPECT_EQ(GgufQuote("\xC3\xA9\xC3\xA9", 3), "\"\xC3\xA9\"... (4 bytes)");  // no split sequence
  EXPECT_EQ(GgufQuote(std::string("a\0\x7f", 3)), "\"a\\x00\\x7f\"");
}

TEST(Gguf, SettingAKeyAgainReplacesItInPlace) {
  GgufWriter w;
  w.SetU32("a", 1);
  w.SetString("b", "x");
  w.SetF32("a", 2.0f);
  const Parsed parsed_f(w.Serialize());
  const GgufFile& f = parsed_f.file;
  EXPECT_EQ(f.Keys(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*f.GetF32("a"), 2.0f);
}

TEST(Gguf, MetadataOnlyFile) {
  GgufWriter w;
  w.SetString("general.architecture", "gemma3");
  const Parsed parsed_f(w.Serialize());
  const GgufFile& f = parsed_f.file;
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_EQ(*f.GetString("general.architecture"), "gemma3");
}

TEST(Gguf, EmptyFileIsValid) {
  const Parsed parsed_f(GgufWriter().Serialize());
  const GgufFile& f = parsed_f.file;
  EXPECT_TRUE(f.Keys().empty());
  EXPECT_TRUE(f.tensors().empty());
}

TEST(Gguf, ReadsVersion2) {
  std::vector<uint8_t> bytes = SampleWriter().Serialize();
  testing::Poke<uint32_t>(&bytes, 4, 2);
  const GgufFile f = Parse(bytes);
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.tensors().size(), SampleTensors().size());
}

TEST(Gguf, WriteThenOpen) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("quest_gguf_test_" + std::to_string(::getpid()) + ".gguf"))
                               .string();
  const GgufWriter w = SampleWriter(64);
  ASSERT_TRUE(w.Write(path).ok());
  {
    Result<GgufFile> f = GgufFile::Open(path);
    ASSERT_TRUE(f.ok()) << f.status().message();
    EXPECT_EQ(f->path(), path);
    EXPECT_EQ(f->file_size(), w.Serialize().size());
    EXPECT_EQ(f->tensors().size(), SampleTensors().size());
    GgufFile moved = std::move(f.value());  // tensor views survive a move
    const GgufTensor* t = moved.FindTensor("output.weight");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(std::vector<uint8_t>(t->data, t->data + t->nbytes), SampleTensors().back().data);
  }
  std::remove(path.c_str());
  // No temporary left behind.
  for (const auto& e :
       std::filesystem::directory_iterator(std::filesystem::temp_directory_path())) {
    EXPECT_EQ(e.path().string().find(path + ".tmp"), std::string::npos);
  }
}

TEST(Gguf, StreamedTensorsEqualCopiedOnes) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("quest_gguf_stream_" + std::to_string(::getpid()) + ".gguf"))
                               .string();
  std::vector<float> a(64 * 3), b(32);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.5f * i;
  for (size_t i = 0; i < b.size(); ++i) b[i] = -1.0f * i;
  GgufWriter w;
  w.SetString("general.architecture", "test");
  w.AddTensor("copied", GgmlType::kF32, {32}, b.data(), b.size() * 4);
  w.AddTensorInfo("streamed", GgmlType::kF32, {64, 3});
  std::vector<size_t> asked;
  ASSERT_TRUE(w.WriteStreaming(path, [&](size_t index, uint8_t* out, size_t nbytes) {
                 asked.push_back(index);
                 ASSERT_EQ(nbytes, a.size() * 4);
                 std::memcpy(out, a.data(), nbytes);
               }).ok());
  EXPECT_EQ(asked, std::vector<size_t>{1});
  {
    Result<GgufFile> f = GgufFile::Open(path);
    ASSERT_TRUE(f.ok()) << f.status().message();
    const GgufTensor* t = f->FindTensor("streamed");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(std::memcmp(t->data, a.data(), a.size() * 4), 0);
    EXPECT_EQ(std::memcmp(f->FindTensor("copied")->data, b.data(), b.size() * 4), 0);
  }
  std::remove(path.c_str());
}

TEST(Gguf, WriteErrorNamesPath) {
  const Status s = SampleWriter().Write("/nonexistent-dir/x.gguf");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent-dir/x.gguf"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("No such file"), std::string::npos) << s.message();
}

TEST(Gguf, OpenErrorNamesPath) {
  Result<GgufFile> f = GgufFile::Open("/nonexistent-dir/x.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("/nonexistent-dir/x.gguf"), std::string::npos);
}

TEST(GgufWriterDeathTest, RejectsBadTensors) {
  GgufWriter w;
  const std::vector<uint8_t> data(1000);
  EXPECT_DEATH(w.AddTensor("t", GgmlType::kQ4_0, {16}, data.data(), 9), "block size");
  EXPECT_DEATH(w.AddTensor("t", GgmlType::kQ4_0, {32}, data.data(), 20), "needs 18");
  EXPECT_DEATH(w.AddTensor("t", GgmlType::kF32, {1, 1, 1, 1, 1}, data.data(), 4), "dims");
  w.AddTensor("t", GgmlType::kF32, {2}, data.data(), 8);
  EXPECT_DEATH(w.AddTensor("t", GgmlType::kF32, {2}, data.data(), 8), "duplicate");
  EXPECT_DEATH(w.SetAlignment(48), "alignment");
}

}  // namespace
}  // namespace quest
