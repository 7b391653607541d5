// ResultWriter (rows.jsonl, summary.json / summary.csv, one finished run per
// directory) and
// SummarizeScores.
#include "src/eval/result_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "src/eval/stats.h"

namespace quest::eval {
namespace fs = std::filesystem;
namespace {

// Writes `text` to path.tmp, then renames it to path.
Status WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    return Status::Error(StrFormat("cannot write %s: %s", tmp.c_str(), std::strerror(errno)));
  }
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed) {
    std::remove(tmp.c_str());
    return Status::Error(StrFormat("cannot write %s", tmp.c_str()));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::Error(
        StrFormat("cannot rename %s to %s: %s", tmp.c_str(), path.c_str(), std::strerror(errno)));
  }
  return Status();
}

std::string CsvCell(const nlohmann::json& v) {
  if (v.is_null()) return "";
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.find_first_of(",\"\n\r") != std::string::npos) {
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  }
  return s;
}

}  // namespace

Result<std::unique_ptr<ResultWriter>> ResultWriter::Open(const std::string& out_dir,
                                                        bool overwrite) {
  std::error_code ec;
  if (fs::exists(out_dir, ec)) {
    if (!fs::is_directory(out_dir, ec)) {
      return Status::Error(
          StrFormat("cannot create output directory %s: not a directory", out_dir.c_str()));
    }
    if (!overwrite && !fs::is_empty(out_dir, ec)) {
      return Status::Error(StrFormat(
          "output directory %s already holds results; pass --overwrite to replace them, or "
          "choose another --out",
          out_dir.c_str()));
    }
  }
  std::string partial = out_dir;
  while (!partial.empty() && partial.back() == '/') partial.pop_back();
  partial += ".partial";
  fs::remove_all(partial, ec);  // an earlier run that did not finish
  fs::create_directories(partial, ec);
  if (ec || !fs::is_directory(partial)) {
    return Status::Error(StrFormat("cannot create output directory %s: %s", partial.c_str(),
                                   ec ? ec.message().c_str() : "not a directory"));
  }
  const std::string probe = partial + "/.write_probe";
  std::FILE* p = std::fopen(probe.c_str(), "wb");
  if (p == nullptr || std::fputs("probe\n", p) < 0 || std::fclose(p) != 0) {
    const std::string why = std::strerror(errno);
    fs::remove_all(partial, ec);
    return Status::Error(
        StrFormat("output directory %s is not writable: %s", partial.c_str(), why.c_str()));
  }
  std::remove(probe.c_str());
  const std::string rows_path = partial + "/rows.jsonl";
  std::FILE* rows = std::fopen(rows_path.c_str(), "wb");
  if (rows == nullptr) {
    return Status::Error(StrFormat("cannot open %s: %s", rows_path.c_str(), std::strerror(errno)));
  }
  return std::unique_ptr<ResultWriter>(new ResultWriter(out_dir, partial, rows));
}

ResultWriter::~ResultWriter() {
  if (rows_ != nullptr) std::fclose(rows_);
  if (!finished_ && !any_row_) {
    std::error_code ec;
    fs::remove_all(partial_, ec);
  }
}

Status ResultWriter::AppendRow(const nlohmann::json& row) {
  const std::string line = row.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), rows_) != line.size() || std::fflush(rows_) != 0) {
    return Status::Error(
        StrFormat("cannot append to %s/rows.jsonl: %s", partial_.c_str(), std::strerror(errno)));
  }
  any_row_ = true;
  return Status();
}

Status ResultWriter::WriteFile(const std::string& name, const std::string& text) {
  return WriteAtomically(partial_ + "/" + name, text);
}

Status ResultWriter::Finish(const std::vector<nlohmann::json>& summary_rows) {
  if (std::fflush(rows_) != 0) {
    return Status::Error(StrFormat("cannot flush %s/rows.jsonl", partial_.c_str()));
  }
  static const std::vector<std::string> kFirst = {
      "model",  "task",  "method", "semantics", "gqa",    "page_size", "budget",
      "length", "depth", "metric", "value",     "ci_low", "ci_high",   "n"};
  std::vector<std::string> columns = kFirst;
  std::set<std::string> extra;
  for (const nlohmann::json& row : summary_rows) {
    if (!row.is_object()) return Status::Error("summary rows must be JSON objects");
    for (const auto& [key, value] : row.items()) {
      if (std::find(kFirst.begin(), kFirst.end(), key) == kFirst.end()) extra.insert(key);
    }
  }
  columns.insert(columns.end(), extra.begin(), extra.end());
  std::string csv;
  for (size_t i = 0; i < columns.size(); ++i) csv += (i ? "," : "") + columns[i];
  csv += "\n";
  for (const nlohmann::json& row : summary_rows) {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i) csv += ",";
      auto it = row.find(columns[i]);
      if (it != row.end()) csv += CsvCell(*it);
    }
    csv += "\n";
  }
  QE_RETURN_IF_ERROR(WriteAtomically(partial_ + "/summary.csv", csv));
  QE_RETURN_IF_ERROR(
      WriteAtomically(partial_ + "/summary.json", nlohmann::json(summary_rows).dump(2) + "\n"));
  // The finished run replaces out_dir (empty, or --overwrite): the old one is
  // moved aside first, so out_dir is never a mix of the two.
  std::error_code ec;
  const std::string old = partial_ + ".old";
  fs::remove_all(old, ec);
  if (fs::exists(dir_, ec)) {
    fs::rename(dir_, old, ec);
    if (ec) {
      return Status::Error(StrFormat("cannot move %s aside: %s", dir_.c_str(), ec.message().c_str()));
    }
  }
  fs::rename(partial_, dir_, ec);
  if (ec) {
    return Status::Error(StrFormat("cannot rename %s to %s: %s", partial_.c_str(), dir_.c_str(),
                                   ec.message().c_str()));
  }
  fs::remove_all(old, ec);
  finished_ = true;
  return Status();
}

const std::vector<std::string>& SampleKeys() {
  static const std::vector<std::string> kKeys = {"seed",  "sample",  "expected",    "answer",
                                                 "score", "seconds", "needle_token"};
  return kKeys;
}

std::vector<nlohmann::json> SummarizeScores(const std::vector<nlohmann::json>& rows, bool binary) {
  std::vector<nlohmann::json> keys;  // group keys in order of first appearance
  std::map<std::string, size_t> index;
  std::vector<std::vector<double>> scores;
  for (const nlohmann::json& row : rows) {
    if (!row.is_object()) continue;
    auto s = row.find("score");
    if (s == row.end() || !s->is_number()) continue;
    nlohmann::json key = row;
    for (const std::string& k : SampleKeys()) key.erase(k);
    const std::string id = key.dump();  // object keys are sorted: a canonical form
    auto [it, inserted] = index.emplace(id, keys.size());
    if (inserted) {
      keys.push_back(std::move(key));
      scores.emplace_back();
    }
    scores[it->second].push_back(s->get<double>());
  }
  std::vector<nlohmann::json> out;
  for (size_t g = 0; g < keys.size(); ++g) {
    Interval iv;
    if (binary) {
      const int64_t successes =
          std::count_if(scores[g].begin(), scores[g].end(), [](double x) { return x > 0.5; });
      iv = Wilson(successes, static_cast<int64_t>(scores[g].size()));
    } else {
      iv = MeanWithStdErr(scores[g]);
    }
    nlohmann::json r = keys[g];
    r["metric"] = binary ? "accuracy" : "recall";
    r["value"] = iv.value;
    r["ci_low"] = iv.low;
    r["ci_high"] = iv.high;
    r["n"] = iv.n;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace quest::eval
