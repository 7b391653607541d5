// ResultWriter files (rows flushed per row, a run moved into place only at
// Finish, existing results refused or replaced whole, an unwritable directory
// named in the error) and SummarizeScores grouping.
#include "src/eval/result_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace quest::eval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class ResultWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "quest_results_" + std::to_string(::getpid()) + "/a/b";
    fs::remove_all(fs::path(dir_).parent_path().parent_path());
  }
  void TearDown() override { fs::remove_all(fs::path(dir_).parent_path().parent_path()); }
  std::string dir_;
};

TEST_F(ResultWriterTest, RowsThenSummaryOnlyAfterFinish) {
  Result<std::unique_ptr<ResultWriter>> w = ResultWriter::Open(dir_);
  ASSERT_TRUE(w.ok()) << w.status().message();
  ASSERT_TRUE((*w)->AppendRow({{"task", "passkey"}, {"score", 1}}).ok());
  ASSERT_TRUE((*w)->AppendRow({{"task", "passkey"}, {"score", 0}}).ok());
  // Flushed per row into the partial directory; out_dir appears only at Finish.
  EXPECT_EQ((*w)->partial_dir(), dir_ + ".partial");
  EXPECT_EQ(Read(dir_ + ".partial/rows.jsonl"),
            "{\"score\":1,\"task\":\"passkey\"}\n{\"score\":0,\"task\":\"passkey\"}\n");
  EXPECT_FALSE(fs::exists(dir_));
  EXPECT_FALSE(fs::exists(dir_ + ".partial/.write_probe"));

  std::vector<json> summary = {{{"model", "m"},
                                {"task", "passkey"},
                                {"method", "quest"},
                                {"budget", 64},
                                {"metric", "accuracy"},
                                {"value", 0.5},
                                {"ci_low", 0.1},
                                {"ci_high", 0.9},
                                {"n", 2},
                                {"note", "a, \"b\""}},
                               {{"model", "m"},
                                {"task", "passkey"},
                                {"method", "dense"},
                                {"metric", "accuracy"},
                                {"value", 1},
                                {"n", 2}}};
  ASSERT_TRUE((*w)->Finish(summary).ok());
  EXPECT_EQ(json::parse(Read(dir_ + "/summary.json")), json(summary));
  const std::string csv = Read(dir_ + "/summary.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "model,task,method,semantics,gqa,page_size,budget,length,depth,metric,value,ci_low,"
            "ci_high,n,note");
  EXPECT_NE(csv.find("m,passkey,quest,,,,64,,,accuracy,0.5,0.1,0.9,2,\"a, \"\"b\"\"\""),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("m,passkey,dense,,,,,,,accuracy,1,,,2,\n"), std::string::npos) << csv;
  EXPECT_FALSE(fs::exists(dir_ + "/summary.json.tmp"));
  EXPECT_FALSE(fs::exists(dir_ + "/summary.csv.tmp"));
  EXPECT_EQ(Read(dir_ + "/rows.jsonl"),
            "{\"score\":1,\"task\":\"passkey\"}\n{\"score\":0,\"task\":\"passkey\"}\n");
  EXPECT_FALSE(fs::exists(dir_ + ".partial"));
}

// One finished run, written and closed.
void WriteRun(const std::string& dir, bool overwrite, int row) {
  auto w = ResultWriter::Open(dir, overwrite);
  ASSERT_TRUE(w.ok()) << w.status().message();
  ASSERT_TRUE((*w)->AppendRow({{"i", row}}).ok());
  ASSERT_TRUE((*w)->WriteFile("curves.json", "[]\n").ok());
  ASSERT_TRUE((*w)->Finish({{{"i", row}}}).ok());
}

TEST_F(ResultWriterTest, ExistingResultsAreRefusedAndKept) {
  WriteRun(dir_, false, 1);
  Result<std::unique_ptr<ResultWriter>> again = ResultWriter::Open(dir_);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find(dir_ + " already holds results"), std::string::npos)
      << again.status().message();
  EXPECT_NE(again.status().message().find("--overwrite"), std::string::npos);
  EXPECT_EQ(Read(dir_ + "/rows.jsonl"), "{\"i\":1}\n");
  EXPECT_EQ(json::parse(Read(dir_ + "/summary.json")), json::parse("[{\"i\":1}]"));
  EXPECT_TRUE(fs::exists(dir_ + "/summary.csv"));
  EXPECT_TRUE(fs::exists(dir_ + "/curves.json"));
}

TEST_F(ResultWriterTest, OverwriteReplacesTheRunWholeAtFinish) {
  WriteRun(dir_, false, 1);
  {
    auto w = ResultWriter::Open(dir_, /*overwrite=*/true);
    ASSERT_TRUE(w.ok()) << w.status().message();
    ASSERT_TRUE((*w)->AppendRow({{"i", 2}}).ok());
    EXPECT_EQ(Read(dir_ + "/rows.jsonl"), "{\"i\":1}\n");  // the old run until Finish
    EXPECT_TRUE(fs::exists(dir_ + "/summary.json"));
    ASSERT_TRUE((*w)->Finish({{{"i", 2}}}).ok());
  }
  // Rows and summary of the new run only: nothing appended to the old rows.
  EXPECT_EQ(Read(dir_ + "/rows.jsonl"), "{\"i\":2}\n");
  EXPECT_EQ(json::parse(Read(dir_ + "/summary.json")), json::parse("[{\"i\":2}]"));
  EXPECT_FALSE(fs::exists(dir_ + "/curves.json"));  // not written by the new run
  EXPECT_FALSE(fs::exists(dir_ + ".partial"));
  EXPECT_FALSE(fs::exists(dir_ + ".partial.old"));
}

TEST_F(ResultWriterTest, AnUnfinishedRunLeavesTheResultsAlone) {
  WriteRun(dir_, false, 1);
  {
    auto w = ResultWriter::Open(dir_, /*overwrite=*/true);
    ASSERT_TRUE(w.ok());
  }  // failed before any row: nothing left behind
  EXPECT_FALSE(fs::exists(dir_ + ".partial"));
  {
    auto w = ResultWriter::Open(dir_, /*overwrite=*/true);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->AppendRow({{"i", 3}}).ok());
  }  // failed mid-run: its rows kept aside for inspection
  EXPECT_EQ(Read(dir_ + ".partial/rows.jsonl"), "{\"i\":3}\n");
  EXPECT_EQ(Read(dir_ + "/rows.jsonl"), "{\"i\":1}\n");
  EXPECT_TRUE(fs::exists(dir_ + "/summary.json"));
}

TEST_F(ResultWriterTest, AnEmptyExistingDirectoryIsUsed) {
  fs::create_directories(dir_);
  WriteRun(dir_, false, 4);
  EXPECT_EQ(Read(dir_ + "/rows.jsonl"), "{\"i\":4}\n");
}

TEST_F(ResultWriterTest, UnwritableDirectoryIsNamed) {
  Result<std::unique_ptr<ResultWriter>> w = ResultWriter::Open("/proc/quest_x");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("/proc/quest_x"), std::string::npos) << w.status().message();
  if (::geteuid() != 0) {  // root writes anywhere
    const fs::path parent = fs::path(dir_).parent_path();
    fs::create_directories(parent);
    fs::permissions(parent, fs::perms::owner_read | fs::perms::owner_exec);
    Result<std::unique_ptr<ResultWriter>> ro = ResultWriter::Open(dir_);
    fs::permissions(parent, fs::perms::owner_all);
    ASSERT_FALSE(ro.ok());
    EXPECT_NE(ro.status().message().find(dir_), std::string::npos) << ro.status().message();
  }
  // A regular file where the directory should be.
  fs::create_directories(fs::path(dir_).parent_path());
  std::ofstream(dir_) << "x";
  Result<std::unique_ptr<ResultWriter>> file = ResultWriter::Open(dir_);
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find(dir_), std::string::npos);
}

TEST(SummarizeScores, GroupsByConfiguration) {
  std::vector<json> rows;
  for (int s = 0; s < 10; ++s) {
    rows.push_back({{"model", "m"},
                    {"task", "passkey"},
                    {"method", "quest"},
                    {"budget", 64},
                    {"length", 1024},
                    {"depth", 0.5},
                    {"seed", s},
                    {"sample", s},
                    {"expected", {"1"}},
                    {"answer", "x"},
                    {"score", s < 8 ? 1 : 0},
                    {"seconds", 0.1 * s},
                    {"needle_token", 100 + s}});
  }
  rows.push_back({{"model", "m"},
                  {"task", "passkey"},
                  {"method", "dense"},
                  {"budget", nullptr},
                  {"length", 1024},
                  {"depth", 0.5},
                  {"seed", 0},
                  {"score", 1}});
  rows.push_back({{"model", "m"}, {"task", "passkey"}, {"method", "dense"}, {"note", "no score"}});
  std::vector<json> out = SummarizeScores(rows, /*binary=*/true);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["method"], "quest");
  EXPECT_EQ(out[0]["budget"], 64);
  EXPECT_EQ(out[0]["depth"], 0.5);
  EXPECT_EQ(out[0]["metric"], "accuracy");
  EXPECT_DOUBLE_EQ(out[0]["value"].get<double>(), 0.8);
  EXPECT_NEAR(out[0]["ci_low"].get<double>(), 0.4902, 5e-4);
  EXPECT_NEAR(out[0]["ci_high"].get<double>(), 0.9433, 5e-4);
  EXPECT_EQ(out[0]["n"], 10);
  for (const char* k : {"seed", "sample", "expected", "answer", "score", "seconds"}) {
    EXPECT_FALSE(out[0].contains(k)) << k;
  }
  EXPECT_EQ(out[1]["method"], "dense");
  EXPECT_EQ(out[1]["n"], 1);

  std::vector<json> recall = {{{"task", "vt"}, {"score", 0.4}},
                              {{"task", "vt"}, {"score", 0.8}},
                              {{"task", "cwe"}, {"score", 1.0}}};
  std::vector<json> r = SummarizeScores(recall, /*binary=*/false);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0]["task"], "vt");
  EXPECT_EQ(r[0]["metric"], "recall");
  EXPECT_NEAR(r[0]["value"].get<double>(), 0.6, 1e-12);
  EXPECT_LT(r[0]["ci_low"].get<double>(), 0.6);
  EXPECT_EQ(r[1]["task"], "cwe");
}

}  // namespace
}  // namespace quest::eval
