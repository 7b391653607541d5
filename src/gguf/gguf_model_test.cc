// The reader on the real models under models/ (label `model`): both open, have
// the expected architecture and in-file tensors, and every truncation of their
// first megabytes is a named error.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "src/gguf/gguf.h"
#include "src/gguf/gguf_info.h"

#ifdef __SANITIZE_ADDRESS__
#define QUEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QUEST_ASAN 1
#endif
#endif
#ifdef QUEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace quest {
namespace {

struct Model {
  const char* file;
  const char* architecture;
};
constexpr Model kModels[] = {
    {"gemma-3-270m-q4_k_m.gguf", "gemma3"},
    {"smollm2-135m-instruct-q4_1.gguf", "llama"},
};

std::string ModelPath(const Model& m) { return std::string(QUEST_MODELS_DIR) + "/" + m.file; }

class GgufModel : public ::testing::TestWithParam<Model> {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(ModelPath(GetParam()))) {
      FAIL() << ModelPath(GetParam()) << " is missing: run `make setup` to install the models";
    }
  }
};

TEST_P(GgufModel, OpensWithArchitectureAndTensorsInsideTheFile) {
  Result<GgufFile> f = GgufFile::Open(ModelPath(GetParam()));
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(*f->GetString("general.architecture"), GetParam().architecture);
  ASSERT_GT(f->tensors().size(), 0u);
  const uint8_t* begin = f->file_data() + f->data_offset();
  const uint8_t* end = f->file_data() + f->file_size();
  for (const GgufTensor& t : f->tensors()) {
    EXPECT_GE(t.data, begin) << t.name;
    EXPECT_LE(t.data + t.nbytes, end) << t.name;
    EXPECT_EQ(t.offset % f->alignment(), 0u) << t.name;
  }
  Result<const std::vector<std::string>*> tokens = f->GetStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok()) << tokens.status().message();
  EXPECT_GT((*tokens)->size(), 1000u);
  const nlohmann::json info = GgufInfoJson(*f);
  EXPECT_EQ(nlohmann::json::parse(info.dump()), info);  // serializable: valid UTF-8 throughout
  EXPECT_EQ(info["totals"]["tensors"], f->tensors().size());
  EXPECT_NE(GgufInfoText(*f).find("total: "), std::string::npos);
}

TEST_P(GgufModel, TruncatedPrefixesGiveNamedErrors) {
  Result<GgufFile> f = GgufFile::Open(ModelPath(GetParam()));
  ASSERT_TRUE(f.ok()) << f.status().message();
  // The first few MB hold the metadata (vocabularies) and the tensor infos.
  const size_t cap = std::min<size_t>(f->file_size() - 1, size_t{8} << 20);
  std::vector<uint8_t> prefix(f->file_data(), f->file_data() + cap);
  std::vector<size_t> cuts;
  for (size_t n = 0; n < 2048; ++n) cuts.push_back(n);
  for (size_t n : {f->data_offset() - 1, f->data_offset(), f->data_offset() + 1, cap}) {
    if (n <= cap) cuts.push_back(n);
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 150; ++i) cuts.push_back(2048 + rng() % (cap - 2048));
  for (size_t n : cuts) {
#ifdef QUEST_ASAN
    ASAN_POISON_MEMORY_REGION(prefix.data() + n, cap - n);  // reads past n are caught
#endif
    Result<GgufFile> cut = GgufFile::FromMemory(prefix.data(), n, "prefix.gguf");
#ifdef QUEST_ASAN
    ASAN_UNPOISON_MEMORY_REGION(prefix.data() + n, cap - n);
#endif
    ASSERT_FALSE(cut.ok()) << "a prefix of " << n << " bytes parsed";
    const std::string& m = cut.status().message();
    ASSERT_EQ(m.rfind("prefix.gguf: ", 0), 0u) << m;
    ASSERT_NE(m.find(" at offset "), std::string::npos) << m;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, GgufModel, ::testing::ValuesIn(kModels),
                         [](const ::testing::TestParamInfo<Model>& info) {
                           return std::string(info.param.architecture);
                         });

}  // namespace
}  // namespace quest
