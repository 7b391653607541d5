// `quest bench decode`: end-to-end decode tokens/s, dense against Quest, at
// several KV depths, in one run, next to prefill speed, memory and the
// machine's read bandwidth.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "src/util/check.h"

namespace quest {

struct DecodeBenchOptions {
  std::string model;
  std::vector<int> depths = {0, 8192, 32768};
  int budget = 2048;
  int page_size = 16;
  std::string semantics = "kernel";
  std::string gqa = "per-kv-head";
  int dense_layers = 2;
  int sink_pages = 0;
  std::string kv_type = "f16";  // f16 | f32 | q8
  int steps = 16;            // timed decode steps per method and depth
  int prefill_tokens = 512;  // prompt length of the prefill measurement
  std::string kv_fill = "auto";  // auto | prefill | synthetic
  int threads = 0;
  double membw_gb = 2.0;
  bool repack = false;  // Q4_0 matrices repacked for the decode MatVec (LoadOptions)
  std::string kv_file;  // the K/V pool in this scratch file (SessionOptions::kv_file)
};

Result<nlohmann::json> RunDecodeBench(const DecodeBenchOptions& o, std::ostream& progress);
std::string FormatDecodeTable(const nlohmann::json& rows);

}  // namespace quest
