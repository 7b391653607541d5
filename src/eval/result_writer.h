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
  // A run writes into out_dir + ".partial" (created afresh) and Finish renames
  // it to out_dir, so out_dir only ever holds a finished run, and its rows and
  // summary cover the same run. An existing non-empty out_dir is refused (its
  // results are kept) unless `overwrite`; then Finish replaces it. Checks up
  // front that the directory is writable (a probe file); errors name it.
  static Result<std::unique_ptr<ResultWriter>> Open(const std::string& out_dir,
                                                    bool overwrite = false);
  // Without Finish, the partial directory is removed if it holds no row, and
  // otherwise kept for inspection; out_dir is untouched either way.
  ~ResultWriter();
  ResultWriter(const ResultWriter&) = delete;
  ResultWriter& operator=(const ResultWriter&) = delete;

  // One JSON line to rows.jsonl, flushed before returning.
  Status AppendRow(const nlohmann::json& row);

  // Another result file of the run (e.g. curves.json), written atomically.
  Status WriteFile(const std::string& name, const std::string& text);

  // Writes summary.json (an array of the rows) and summary.csv (columns model,
  // task, method, semantics, gqa, page_size, budget, length, depth, metric,
  // value, ci_low, ci_high, n, then any other keys in sorted order; a missing
  // key is an empty cell), then moves the run into out_dir. Each summary
  // row has at least model, task, method, semantics, gqa, page_size, budget,
  // length, (depth when set), metric ("accuracy" | "ppl" | "kl_mean" |
  // "top1_agreement" | "recall"), value, ci_low, ci_high, n.
  Status Finish(const std::vector<nlohmann::json>& summary_rows);

  const std::string& dir() const { return dir_; }              // the final directory
  const std::string& partial_dir() const { return partial_; }  // where the run writes

 private:
  ResultWriter(std::string dir, std::string partial, std::FILE* rows)
      : dir_(std::move(dir)), partial_(std::move(partial)), rows_(rows) {}
  std::string dir_;
  std::string partial_;
  std::FILE* rows_;  // partial/rows.jsonl
  bool any_row_ = false;
  bool finished_ = false;
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
