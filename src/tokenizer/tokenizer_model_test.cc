// Goldens on the real models: token ids from independent implementations
// (tests/testdata/tokenizer/README.md), round trips, chat templates rendered
// by jinja2, and encode speed on a long text.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "src/gguf/gguf.h"
#include "src/tokenizer/chat_template.h"
#include "src/tokenizer/tokenizer.h"

namespace quest {
namespace {

constexpr const char* kU2581 = "\xE2\x96\x81";

struct Model {
  const char* name;  // golden file stem
  const char* file;  // under models/
};
constexpr Model kModels[] = {{"gemma3", "gemma-3-270m-q4_k_m.gguf"},
                             {"smollm2", "smollm2-135m-instruct-q4_1.gguf"}};

struct Loaded {
  std::optional<GgufFile> gguf;
  std::optional<Tokenizer> tokenizer;
};

// Loads once per model; a missing model file fails (as every model test does).
const Loaded* Load(const Model& m) {
  static std::map<std::string, Loaded> cache;
  auto it = cache.find(m.name);
  if (it != cache.end()) return &it->second;
  Loaded& l = cache[m.name];
  const std::string path = std::string(QUEST_MODELS_DIR) + "/" + m.file;
  Result<GgufFile> f = GgufFile::Open(path);
  EXPECT_TRUE(f.ok()) << f.status().message() << " (run `make setup`)";
  if (!f.ok()) return &l;
  Result<Vocab> v = LoadVocab(*f);
  EXPECT_TRUE(v.ok()) << v.status().message();
  if (!v.ok()) return &l;
  Result<Tokenizer> t = Tokenizer::Create(std::move(*v));
  EXPECT_TRUE(t.ok()) << t.status().message();
  l.gguf.emplace(std::move(*f));
  if (t.ok()) l.tokenizer.emplace(std::move(*t));
  return &l;
}

nlohmann::json ReadJson(const std::string& name) {
  std::ifstream in(std::string(QUEST_TOKENIZER_TESTDATA) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  return nlohmann::json::parse(in);
}

class ModelTest : public ::testing::TestWithParam<Model> {
 protected:
  void SetUp() override {
    loaded_ = Load(GetParam());
    ASSERT_TRUE(loaded_->tokenizer) << GetParam().file << ": no tokenizer (see above)";
  }
  const Tokenizer& tok() const { return *loaded_->tokenizer; }
  const Loaded* loaded_ = nullptr;
};

TEST_P(ModelTest, SpecialIds) {
  const Vocab& v = tok().vocab();
  if (std::string(GetParam().name) == "gemma3") {
    EXPECT_EQ(v.kind, VocabKind::kSpm);
    EXPECT_EQ(tok().vocab_size(), 262144u);
    EXPECT_EQ(tok().bos(), 2);
    EXPECT_EQ(tok().eos(), 1);
    EXPECT_EQ(tok().eot(), 106);  // <end_of_turn>
    EXPECT_TRUE(v.add_bos);
    EXPECT_FALSE(v.add_space_prefix);
    EXPECT_TRUE(tok().IsEndOfGeneration(106));
  } else {
    EXPECT_EQ(v.kind, VocabKind::kBpe);
    EXPECT_EQ(v.pre, "smollm");
    EXPECT_EQ(tok().vocab_size(), 49152u);
    EXPECT_EQ(tok().bos(), 1);
    EXPECT_EQ(tok().eos(), 2);  // <|im_end|>
    EXPECT_FALSE(v.add_bos);
    EXPECT_TRUE(tok().IsEndOfGeneration(2));
    EXPECT_TRUE(tok().IsEndOfGeneration(0));  // <|endoftext|>
  }
  EXPECT_FALSE(tok().IsEndOfGeneration(tok().bos()));
}

TEST_P(ModelTest, EncodeMatchesGoldens) {
  const nlohmann::json cases = ReadJson(std::string(GetParam().name) + ".json");
  ASSERT_GE(cases.size(), 50u);
  int mismatches = 0;
  for (const auto& c : cases) {
    const std::string text = c["text"];
    const bool parse_special = c["parse_special"];
    const std::vector<int32_t> want = c["ids"];
    const std::vector<int32_t> got = tok().Encode(text, /*add_special=*/true, parse_special);
    // One known llama.cpp quirk: it retypes "</s>" (a user-defined HTML tag in
    // Gemma's vocabulary) as control because the text looks like an end
    // marker, so without parse_special it splits it. quest keeps the file's
    // type and agrees with HF tokenizers (hf_ids) there.
    if (got != want && c.contains("hf_ids") && text.find("</s>") != std::string::npos &&
        !parse_special && got == c["hf_ids"].get<std::vector<int32_t>>()) {
      continue;
    }
    if (got != want) {
      ++mismatches;
      ADD_FAILURE() << "text " << nlohmann::json(text).dump() << " parse_special=" << parse_special
                    << "\n want " << nlohmann::json(want).dump() << "\n  got "
                    << nlohmann::json(got).dump();
    }
  }
  std::printf("[%s] %zu goldens, %d mismatches\n", GetParam().name, cases.size(), mismatches);
}

TEST_P(ModelTest, DecodeInvertsEncode) {
  const nlohmann::json cases = ReadJson(std::string(GetParam().name) + ".json");
  for (const auto& c : cases) {
    const std::string text = c["text"];
    // Both vocabularies are lossless (byte fallback, byte-level BPE) except
    // that SentencePiece reads a literal U+2581 in the text as a space.
    if (tok().vocab().kind == VocabKind::kSpm && text.find(kU2581) != std::string::npos) continue;
    EXPECT_EQ(tok().Decode(tok().Encode(text, false, true)), text);
    EXPECT_EQ(tok().Decode(tok().Encode(text, false, false)), text);
  }
}

TEST_P(ModelTest, InvalidUtf8DoesNotCrash) {
  for (std::string s : {std::string("\xFF\xFE\xFD"), std::string("abc\xC3"), std::string("\xE2\x96"),
                        std::string("\xF0\x9F\x98 x"), std::string("\x80 1 \xBF")}) {
    const std::vector<int32_t> ids = tok().Encode(s, true, true);
    for (int32_t id : ids) EXPECT_LT(static_cast<size_t>(id), tok().vocab_size());
    // SPM keeps every byte (byte fallback); SmolLM2's byte-level vocabulary
    // has no token for 0xF5..0xFF and drops those, as llama.cpp does.
    if (tok().vocab().kind == VocabKind::kSpm) {
      EXPECT_EQ(tok().Decode(tok().Encode(s, false, false)), s);
    }
  }
}

TEST_P(ModelTest, ChatTemplateMatchesJinja) {
  Result<ChatTemplate> t = ChatTemplate::FromGguf(*loaded_->gguf, tok().vocab());
  ASSERT_TRUE(t.ok()) << t.status().message();
  const nlohmann::json cases = ReadJson(std::string(GetParam().name) + "_chat.json");
  ASSERT_GE(cases.size(), 5u);
  for (const auto& c : cases) {
    std::vector<ChatMessage> messages;
    for (const auto& m : c["messages"]) messages.push_back({m["role"], m["content"]});
    Result<std::string> got = t->Apply(messages, c["add_generation_prompt"]);
    if (c.contains("error")) {
      EXPECT_FALSE(got.ok()) << c.dump();
      continue;
    }
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(*got, c["expected"].get<std::string>()) << c.dump();
    // The prompt tokenizes with its special tokens whole.
    const std::vector<int32_t> ids = tok().Encode(*got, false, true);
    EXPECT_EQ(tok().Decode(ids), *got);
  }
}

// Long text encodes whole and decodes back (its speed is a benchmark's concern).
TEST_P(ModelTest, LongTextEncodesAndDecodesWhole) {
  // About 32k tokens of varied text, built from the goldens.
  const nlohmann::json cases = ReadJson(std::string(GetParam().name) + ".json");
  std::string text;
  for (int rep = 0; text.size() < 140000; ++rep) {
    for (const auto& c : cases) {
      if (c["text"].get<std::string>().find(kU2581) != std::string::npos) continue;
      text += c["text"].get<std::string>();
      text += rep % 2 ? "\n" : " The quick brown fox jumps over the lazy dog. ";
    }
  }
  const std::vector<int32_t> ids = tok().Encode(text, /*add_special=*/false, false);
  EXPECT_GT(ids.size(), 25000u);
  EXPECT_EQ(tok().Decode(ids), text);
}

INSTANTIATE_TEST_SUITE_P(Real, ModelTest, ::testing::ValuesIn(kModels),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace quest
