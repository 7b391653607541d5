// Evaluation result files: per-sample rows appended to rows.jsonl as they come,
// and summary.json / summary.csv written atomically at the end; plus the
// grouping of per-sample scores into summary rows.
#pragma once

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/util/check.h"

namespace quest::eval {

class ResultWriter {
 public:
  // Creates out_dir (and its parents) and checks up front that it is writable
  // by writing and removing a probe file; errors name the directory. Rows go to
  // out_dir/rows.jsonl, appended (an existing file is continued). A summary
  // left by an earlier run is removed, so only a finished run has one.
  static Result<std::unique_ptr<ResultWriter>> Open(const std::string& out_dir);
  ~ResultWriter();
  ResultWriter(const ResultWriter&) = delete;
  ResultWriter& operator=(const ResultWriter&) = delete;

  // One JSON line, flushed before returning.
  Status AppendRow(const nlohmann::json& row);

  // Writes summary.json (an array of the rows) and summary.csv (columns model,
  // task, method, semantics, gqa, page_size, budget, length, depth, metric,
  // value, ci_low, ci_high, n, then any other keys in sorted order; a missing
  // key is an empty cell), each to *.tmp and renamed into place. Each summary
  // row has at least model, task, method, semantics, gqa, page_size, budget,
  // length, (depth when set), metric ("accuracy" | "ppl" | "kl_mean" |
  // "top1_agreement" | "recall"), value, ci_low, ci_high, n.
  Status Finish(const std::vector<nlohmann::json>& summary_rows);

  const std::string& dir() const { return dir_; }

 private:
  ResultWriter(std::string dir, std::FILE* rows) : dir_(std::move(dir)), rows_(rows) {}
  std::string dir_;
  std::FILE* rows_;  // out_dir/rows.jsonl, append mode
};

// Row keys that vary per sample and so do not define a configuration.
const std::vector<std::string>&
SampleKeys();  // seed, sample, expected, answer, score, seconds, needle_token

// Groups rows by every key except SampleKeys() (groups in order of first
// appearance) and summarizes their "score": accuracy with the Wilson interval
// when `binary` (a score > 0.5 counts as a success), else mean recall ± z·SE.
// Each output row is the group's keys plus metric ("accuracy" | "recall"),
// value, ci_low, ci_high, n. Rows without a numeric score are skipped.
std::vector<nlohmann::json> SummarizeScores(const std::vector<nlohmann::json>& rows, bool binary);

}  // namespace quest::eval
