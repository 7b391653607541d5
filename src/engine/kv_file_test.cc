// K/V files on the real models (label `model`): a context saved after a
// prefill and loaded into a fresh session continues exactly as the original
// (the same logits bit for bit, so the same greedy tokens), including Gemma
// 3's sliding-window rings past their wrap; a prompt that extends the stored
// tokens prefills only the rest; and every damaged or foreign file is refused
// with a message naming the problem, leaving the session empty and usable.
#include "src/engine/kv_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "src/engine/session.h"

namespace quest {
namespace {

std::vector<int32_t> Prompt(int n, int vocab) {
  std::vector<int32_t> t(n);
  for (int i = 0; i < n; ++i) t[i] = 300 + (i * 7919) % (vocab - 600);
  return t;
}

int32_t Argmax(const std::vector<float>& l) {
  return static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
}

// Greedy continuation of n tokens from logits; returns every step's logits.
std::vector<std::vector<float>> Greedy(Session& s, std::vector<float> logits, int n) {
  std::vector<std::vector<float>> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(logits);
    EXPECT_TRUE(s.Decode(Argmax(logits), logits.data()).ok());
  }
  return out;
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/kvfile_" + std::to_string(getpid()) + "_" + name;
}

std::vector<char> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void WriteBytes(const std::string& path, const std::vector<char>& b) {
  std::ofstream(path, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
}

std::unique_ptr<Model> LoadModel(const char* file) {
  auto m = Model::Load(std::string(QUEST_MODELS_DIR) + "/" + file);
  EXPECT_TRUE(m.ok()) << m.status().message() << " (run `make setup`)";
  return m.ok() ? std::move(*m) : nullptr;
}

SessionOptions Options(int page_size = 16) {
  SessionOptions o;
  o.context = 2048;
  o.attention.method = AttentionMethod::kQuest;
  o.attention.quest.budget = 64;  // below the context: selection runs while decoding
  o.attention.page_size = page_size;
  return o;
}

class KvFileModelTest : public ::testing::TestWithParam<const char*> {};

TEST_P(KvFileModelTest, LoadedContextContinuesBitForBit) {
  std::unique_ptr<Model> m = LoadModel(GetParam());
  ASSERT_NE(m, nullptr);
  const int vocab = m->config().vocab_size;
  // Past Gemma 3's window rings (512-token window, rings of 51 pages of 16).
  const int n = m->config().sliding_window > 0 ? 1100 : 300;
  const std::vector<int32_t> prompt = Prompt(n, vocab);
  auto a = Session::Create(*m, Options());
  ASSERT_TRUE(a.ok());
  std::vector<float> logits(vocab);
  ASSERT_TRUE((*a)->Prefill(prompt.data(), static_cast<int>(prompt.size()), logits.data()).ok());
  const std::string path = TempPath(std::string(GetParam()) + ".kv");
  ASSERT_TRUE((*a)->SaveKv(path, prompt, logits).ok());
  const auto want = Greedy(**a, logits, 12);

  auto b = Session::Create(*m, Options());
  ASSERT_TRUE(b.ok());
  Result<KvSnapshot> snap = (*b)->LoadKv(path);
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_EQ(snap->tokens, prompt);
  EXPECT_EQ((*b)->position(), static_cast<int>(prompt.size()));
  const auto got = Greedy(**b, snap->logits, 12);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "step " << i;
  std::remove(path.c_str());
}

TEST_P(KvFileModelTest, ExtendingPromptPrefillsOnlyTheRest) {
  std::unique_ptr<Model> m = LoadModel(GetParam());
  ASSERT_NE(m, nullptr);
  const int vocab = m->config().vocab_size;
  const std::vector<int32_t> prompt = Prompt(600, vocab);
  const int stored = 512;  // a prefill-chunk boundary: the same chunks as one prefill
  std::vector<float> full(vocab), part(vocab), rest(vocab);
  auto a = Session::Create(*m, Options());
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->Prefill(prompt.data(), stored, part.data()).ok());
  const std::string path = TempPath(std::string(GetParam()) + "_prefix.kv");
  ASSERT_TRUE((*a)->SaveKv(path, {prompt.data(), static_cast<size_t>(stored)}, part).ok());
  ASSERT_TRUE((*a)->Prefill(prompt.data() + stored, 600 - stored, full.data()).ok());

  auto b = Session::Create(*m, Options());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->LoadKv(path).ok());
  ASSERT_TRUE((*b)->Prefill(prompt.data() + stored, 600 - stored, rest.data()).ok());
  EXPECT_EQ(rest, full);
  EXPECT_EQ(Greedy(**b, rest, 6), Greedy(**a, full, 6));
  std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(RealModels, KvFileModelTest,
                         ::testing::Values("gemma-3-270m-q4_k_m.gguf",
                                           "smollm2-135m-instruct-q4_1.gguf"));

// A q8 cache saves and loads as f16 does (each page record carries its
// scales): the loaded context continues bit for bit; an f16 session refuses
// the file, naming both types and the flag.
TEST(KvFileQ8Test, LoadedContextContinuesBitForBitAndTypeIsNamed) {
  std::unique_ptr<Model> m = LoadModel("smollm2-135m-instruct-q4_1.gguf");
  ASSERT_NE(m, nullptr);
  const int vocab = m->config().vocab_size;
  const std::vector<int32_t> prompt = Prompt(100, vocab);  // past the budget: Quest selects
  SessionOptions o = Options();
  o.attention.kv_type = KvType::kQ8;
  auto a = Session::Create(*m, o);
  ASSERT_TRUE(a.ok());
  std::vector<float> logits(vocab);
  ASSERT_TRUE((*a)->Prefill(prompt.data(), static_cast<int>(prompt.size()), logits.data()).ok());
  const std::string path = TempPath("smol_q8.kv");
  ASSERT_TRUE((*a)->SaveKv(path, prompt, logits).ok());
  const auto want = Greedy(**a, logits, 4);

  auto b = Session::Create(*m, o);
  ASSERT_TRUE(b.ok());
  Result<KvSnapshot> snap = (*b)->LoadKv(path);
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  const auto got = Greedy(**b, snap->logits, 4);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "step " << i;

  auto f16 = Session::Create(*m, Options());
  ASSERT_TRUE(f16.ok());
  const Result<KvSnapshot> refused = (*f16)->LoadKv(path);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("holds q8 K/V; this run uses f16 (pass --kv-type q8)"),
            std::string::npos)
      << refused.status().message();
  std::remove(path.c_str());
}

// A saved SmolLM2 context, damaged in each way a file can be, and loaded by
// Gemma 3 or with another page size: each load fails with its own message.
class KvFileBadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    smol_ = LoadModel("smollm2-135m-instruct-q4_1.gguf").release();
    gemma_ = LoadModel("gemma-3-270m-q4_k_m.gguf").release();
    ASSERT_NE(smol_, nullptr);
    auto s = Session::Create(*smol_, Options());
    ASSERT_TRUE(s.ok());
    const std::vector<int32_t> prompt = Prompt(40, smol_->config().vocab_size);
    std::vector<float> logits(smol_->config().vocab_size);
    ASSERT_TRUE((*s)->Prefill(prompt.data(), 40, logits.data()).ok());
    path_ = new std::string(TempPath("good.kv"));
    ASSERT_TRUE((*s)->SaveKv(*path_, prompt, logits).ok());
  }
  static void TearDownTestSuite() {
    std::remove(path_->c_str());
    delete smol_;
    delete gemma_;
    delete path_;
  }

  // Loads `bytes` written to a file into a fresh SmolLM2 session (page size
  // 16 unless given) and returns the error message ("" if it loaded).
  static std::string LoadError(const std::vector<char>& bytes, const Model* m = nullptr,
                               int page_size = 16) {
    const std::string bad = TempPath("bad.kv");
    WriteBytes(bad, bytes);
    auto s = Session::Create(m != nullptr ? *m : *smol_, Options(page_size));
    EXPECT_TRUE(s.ok());
    Result<KvSnapshot> r = (*s)->LoadKv(bad);
    std::remove(bad.c_str());
    if (r.ok()) return "";
    // The failed load left the session empty and usable.
    EXPECT_EQ((*s)->position(), 0);
    std::vector<float> logits(smol_->config().vocab_size);
    const int32_t t = 300;
    if (m == nullptr) {
      EXPECT_TRUE((*s)->Prefill(&t, 1, logits.data()).ok());
    }
    return r.status().message();
  }

  static Model* smol_;
  static Model* gemma_;
  static std::string* path_;
};
Model* KvFileBadInputTest::smol_ = nullptr;
Model* KvFileBadInputTest::gemma_ = nullptr;
std::string* KvFileBadInputTest::path_ = nullptr;

TEST_F(KvFileBadInputTest, TheGoodFileLoads) { EXPECT_EQ(LoadError(ReadBytes(*path_)), ""); }

TEST_F(KvFileBadInputTest, TruncatedFileIsNamedTruncated) {
  std::vector<char> b = ReadBytes(*path_);
  b.resize(b.size() - 100);
  EXPECT_NE(LoadError(b).find("truncated"), std::string::npos) << LoadError(b);
  b.resize(20);
  EXPECT_NE(LoadError(b).find("too short"), std::string::npos);
}

TEST_F(KvFileBadInputTest, FlippedPageByteFailsTheChecksum) {
  std::vector<char> b = ReadBytes(*path_);
  b[b.size() - 3000] ^= 0x10;
  EXPECT_NE(LoadError(b).find("checksum"), std::string::npos) << LoadError(b);
}

TEST_F(KvFileBadInputTest, FlippedHeaderByteIsNamed) {
  std::vector<char> b = ReadBytes(*path_);
  b[offsetof(KvFileHeader, num_tokens)] ^= 0x01;
  EXPECT_NE(LoadError(b).find("header's checksum"), std::string::npos) << LoadError(b);
  b = ReadBytes(*path_);
  b[0] = 'X';
  EXPECT_NE(LoadError(b).find("not a quest K/V file"), std::string::npos);
}

TEST_F(KvFileBadInputTest, TrailingBytesAreRefused) {
  std::vector<char> b = ReadBytes(*path_);
  b.push_back(0);
  EXPECT_NE(LoadError(b).find("after its last page"), std::string::npos) << LoadError(b);
}

TEST_F(KvFileBadInputTest, AnotherModelOrPageSizeIsNamed) {
  const std::vector<char> b = ReadBytes(*path_);
  EXPECT_NE(LoadError(b, gemma_).find("another model"), std::string::npos) << LoadError(b, gemma_);
  EXPECT_NE(LoadError(b, smol_, 32).find("page size 16"), std::string::npos)
      << LoadError(b, smol_, 32);
}

}  // namespace
}  // namespace quest
