// Summaries of a parsed GGUF file for `quest info`: a JSON document and a
// human-readable text. Long arrays (vocabularies) are summarised, not dumped.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "src/gguf/gguf.h"

namespace quest {

// {"path", "version", "alignment", "data_offset", "file_bytes",
//  "metadata": {key: value}, where arrays become
//      {"type": "array", "element_type": "string", "count": N, "first": [up to 8 items]},
//  "tensors": [{"name", "type", "shape", "offset", "bytes"}],
//  "totals": {"tensors", "metadata_keys", "elements", "bytes",
//             "by_type": {"q4_K": {"tensors", "bytes"}}}}
// Strings that are not valid UTF-8 have their bad bytes replaced by U+FFFD, so
// dump() never throws.
nlohmann::json GgufInfoJson(const GgufFile& file);

// The same as lines of text: a header, "key = value" per metadata key, then a
// table of tensors (name, type, shape, bytes) and the totals.
std::string GgufInfoText(const GgufFile& file);

}  // namespace quest
