// GgufInfoJson / GgufInfoText on the sample file: fields, array summaries,
// totals, and JSON that dumps even when strings are not valid UTF-8.
#include "src/gguf/gguf_info.h"

#include <gtest/gtest.h>

#include "src/gguf/gguf_test_util.h"

namespace quest {
namespace {

TEST(GgufInfo, Json) {
  const std::vector<uint8_t> bytes = testing::SampleWriter(64).Serialize();
  Result<GgufFile> f = GgufFile::FromMemory(bytes.data(), bytes.size(), "sample.gguf");
  ASSERT_TRUE(f.ok()) << f.status().message();
  const nlohmann::json j = GgufInfoJson(*f);
  EXPECT_EQ(j["path"], "sample.gguf");
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["alignment"], 64);
  EXPECT_EQ(j["file_bytes"], bytes.size());
  EXPECT_EQ(j["metadata"]["general.architecture"], "llama");
  EXPECT_EQ(j["metadata"]["test.i8"], -100);
  EXPECT_EQ(j["metadata"]["test.bool"], true);
  EXPECT_EQ(j["metadata"]["test.f32"], 1.5);
  const nlohmann::json& u8s = j["metadata"]["test.u8s"];
  EXPECT_EQ(u8s["type"], "array");
  EXPECT_EQ(u8s["element_type"], "u8");
  EXPECT_EQ(u8s["count"], 10);
  EXPECT_EQ(u8s["first"].size(), 8u);  // summarised
  EXPECT_EQ(j["metadata"]["test.nested"]["first"][1]["first"][1], "yz");

  const std::vector<testing::SampleTensor> ts = testing::SampleTensors();
  ASSERT_EQ(j["tensors"].size(), ts.size());
  size_t bytes_total = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    EXPECT_EQ(j["tensors"][i]["name"], ts[i].name);
    EXPECT_EQ(j["tensors"][i]["shape"], ts[i].shape);
    EXPECT_EQ(j["tensors"][i]["bytes"], ts[i].data.size());
    bytes_total += ts[i].data.size();
  }
  EXPECT_EQ(j["tensors"][0]["type"], "q4_K");
  EXPECT_EQ(j["totals"]["tensors"], ts.size());
  EXPECT_EQ(j["totals"]["bytes"], bytes_total);
  EXPECT_EQ(j["totals"]["by_type"]["f16"]["tensors"], 1);
  // Serializable (valid UTF-8 throughout) and parses back to itself.
  EXPECT_EQ(nlohmann::json::parse(j.dump()), j);
}

TEST(GgufInfo, JsonSurvivesInvalidUtf8) {
  GgufWriter w;
  w.SetString("bad", "a\xFF\xC3(\xED\xA0\x80z");
  w.SetStringArray("bads", {"\xF8", "ok"});
  const std::vector<uint8_t> bytes = w.Serialize();
  Result<GgufFile> f = GgufFile::FromMemory(bytes.data(), bytes.size(), "x\xFF.gguf");
  ASSERT_TRUE(f.ok());
  const nlohmann::json j = GgufInfoJson(*f);
  EXPECT_EQ(j["metadata"]["bad"],
            "a\xEF\xBF\xBD\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz");
  EXPECT_EQ(j["metadata"]["bads"]["first"][1], "ok");
  EXPECT_NO_THROW((void)j.dump());
}

TEST(GgufInfo, Text) {
  const std::vector<uint8_t> bytes = testing::SampleWriter().Serialize();
  Result<GgufFile> f = GgufFile::FromMemory(bytes.data(), bytes.size(), "sample.gguf");
  ASSERT_TRUE(f.ok());
  const std::string text = GgufInfoText(*f);
  for (const char* part : {"sample.gguf: GGUF v3, alignment 32", "general.architecture = \"llama\"",
                           "test.u8s = [7, 8, 9, 10, 11, 12, 13, 14, ... (10 items)]",
                           "blk.0.ffn_up.weight", "q4_K", "[64, 2, 3]", "total: 5 tensors"}) {
    EXPECT_NE(text.find(part), std::string::npos) << "missing: " << part << "\n" << text;
  }
}

}  // namespace
}  // namespace quest
