// libFuzzer target for the GGUF reader: any bytes must give a named error or a
// valid GgufFile whose every value, tensor and info rendering can be used.
//
// Build and run (clang; `apt-get install clang` if it is missing):
//   CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug \
//     -DQUEST_BUILD_FUZZERS=ON -DQUEST_BUILD_BENCH=OFF -DQUEST_BUILD_TESTS=OFF \
//     -DCMAKE_CXX_FLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined"
//   cmake --build build/fuzz --target quest_gguf_fuzzer
//   mkdir -p build/fuzz/corpus && build/fuzz/src/gguf/quest_gguf_fuzzer \
//     build/fuzz/corpus -max_total_time=120 -max_len=65536 -rss_limit_mb=2048
// The first run seeds the corpus itself (a sample file from GgufWriter); a
// crash leaves crash-<hash> in the working directory: replay it by passing
// that file instead of the corpus directory.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "src/gguf/gguf.h"
#include "src/gguf/gguf_info.h"
#include "src/gguf/gguf_writer.h"

namespace {

// A small valid file with every value type, so mutations start from real structure.
std::vector<uint8_t> SeedFile() {
  quest::GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.SetAlignment(32);
  w.SetU8("a.u8", 1);
  w.SetI8("a.i8", -1);
  w.SetU16("a.u16", 2);
  w.SetI16("a.i16", -2);
  w.SetU32("a.u32", 3);
  w.SetI32("a.i32", -3);
  w.SetU64("a.u64", 4);
  w.SetI64("a.i64", -4);
  w.SetF32("a.f32", 0.5f);
  w.SetF64("a.f64", 0.25);
  w.SetBool("a.bool", true);
  w.SetStringArray("a.strs", {"x", "yz"});
  w.SetF32Array("a.f32s", {1.0f, 2.0f});
  w.SetI32Array("a.i32s", {1, 2});
  const uint8_t data[144 * 2] = {};
  w.AddTensor("t.q4k", quest::GgmlType::kQ4_K, {256, 2}, data, 288);
  w.AddTensor("t.f32", quest::GgmlType::kF32, {4, 2}, data, 32);
  return w.Serialize();
}

}  // namespace

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

// Half of the mutations start from the seed, so the fuzzer keeps exploring
// near-valid files instead of only garbage that fails at the magic.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  static const std::vector<uint8_t> kSeed = SeedFile();
  if (seed % 8 == 0 && kSeed.size() <= max_size) {
    std::memcpy(data, kSeed.data(), kSeed.size());
    size = kSeed.size();
  }
  return LLVMFuzzerMutate(data, size, max_size);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  quest::Result<quest::GgufFile> f = quest::GgufFile::FromMemory(data, size, "fuzz.gguf");
  if (!f.ok()) return 0;
  volatile size_t sink = 0;
  for (const std::string& key : f->Keys()) {
    sink = sink + f->ValueToString(key).size();
    (void)f->GetInt(key);
    (void)f->GetU32(key);
    (void)f->GetF32(key);
    (void)f->GetBool(key);
    (void)f->GetString(key);
    (void)f->GetStringArray(key);
    (void)f->GetF32Array(key);
    (void)f->GetI32Array(key);
  }
  for (const quest::GgufTensor& t : f->tensors()) {
    sink = sink + t.data[0] + t.data[t.nbytes - 1] + static_cast<size_t>(t.num_elements());
  }
  sink = sink + quest::GgufInfoJson(*f).dump().size() + quest::GgufInfoText(*f).size();
  return 0;
}
