// JSON and text summaries of a parsed GGUF file (for `quest info`).
#include "src/gguf/gguf_info.h"

#include <cstring>
#include <map>

namespace quest {

namespace {

constexpr size_t kMaxArrayItems = 8;

// `s` as valid UTF-8: each byte that does not start a well-formed sequence
// (overlong, surrogate, > U+10FFFF, truncated) becomes U+FFFD.
std::string SanitizeUtf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      len = 1, cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    }
    bool ok = len != 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMinForLen[5] = {0, 0, 0x80, 0x800, 0x10000};
    ok = ok && cp >= kMinForLen[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

nlohmann::json ScalarJson(GgufValueType t, const uint8_t* p) {
  switch (t) {
    case GgufValueType::kU8:
      return Load<uint8_t>(p);
    case GgufValueType::kI8:
      return Load<int8_t>(p);
    case GgufValueType::kU16:
      return Load<uint16_t>(p);
    case GgufValueType::kI16:
      return Load<int16_t>(p);
    case GgufValueType::kU32:
      return Load<uint32_t>(p);
    case GgufValueType::kI32:
      return Load<int32_t>(p);
    case GgufValueType::kU64:
      return Load<uint64_t>(p);
    case GgufValueType::kI64:
      return Load<int64_t>(p);
    case GgufValueType::kF32:
      return Load<float>(p);  // NaN/inf dump as null
    case GgufValueType::kF64:
      return Load<double>(p);
    case GgufValueType::kBool:
      return Load<uint8_t>(p) != 0;
    case GgufValueType::kString:
    case GgufValueType::kArray:
      break;
  }
  return nullptr;
}

nlohmann::json ValueJson(const GgufValue& v) {
  if (v.type == GgufValueType::kString) return SanitizeUtf8(v.str);
  if (v.type != GgufValueType::kArray) return ScalarJson(v.type, v.scalar);
  nlohmann::json first = nlohmann::json::array();
  const size_t scalar = GgufScalarSize(v.array_type);
  for (uint64_t i = 0; i < std::min<uint64_t>(v.array_size, kMaxArrayItems); ++i) {
    if (scalar != 0) {
      first.push_back(ScalarJson(v.array_type, v.array_data + i * scalar));
    } else if (v.array_type == GgufValueType::kString) {
      first.push_back(SanitizeUtf8(v.strings[i]));
    } else {
      first.push_back(ValueJson(v.arrays[i]));
    }
  }
  return {{"type", "array"},
          {"element_type", GgufValueTypeName(v.array_type)},
          {"count", v.array_size},
          {"first", std::move(first)}};
}

const char* TypeName(GgmlType t) {
  const GgmlTypeTraits* traits = GetGgmlTypeTraits(static_cast<uint32_t>(t));
  return traits != nullptr ? traits->name : "?";  // the parser admits known types only
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    s += StrFormat("%s%lld", i != 0 ? ", " : "", static_cast<long long>(shape[i]));
  }
  return s + "]";
}

std::string Bytes(uint64_t n) {
  if (n >= (uint64_t{1} << 30)) return StrFormat("%.2f GiB", n / double(uint64_t{1} << 30));
  if (n >= (uint64_t{1} << 20)) return StrFormat("%.2f MiB", n / double(uint64_t{1} << 20));
  if (n >= (uint64_t{1} << 10)) return StrFormat("%.2f KiB", n / double(uint64_t{1} << 10));
  return StrFormat("%llu B", static_cast<unsigned long long>(n));
}

struct Totals {
  uint64_t elements = 0;
  uint64_t bytes = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // name -> (tensors, bytes)
};

Totals ComputeTotals(const GgufFile& file) {
  Totals t;
  for (const GgufTensor& x : file.tensors()) {
    t.elements += static_cast<uint64_t>(x.num_elements());
    t.bytes += x.nbytes;
    auto& [count, bytes] = t.by_type[TypeName(x.type)];
    ++count;
    bytes += x.nbytes;
  }
  return t;
}

}  // namespace

nlohmann::json GgufInfoJson(const GgufFile& file) {
  nlohmann::json metadata = nlohmann::json::object();
  for (const std::string& key : file.Keys()) {
    metadata[SanitizeUtf8(key)] = ValueJson(*file.Find(key));
  }
  nlohmann::json tensors = nlohmann::json::array();
  for (const GgufTensor& t : file.tensors()) {
    tensors.push_back({{"name", SanitizeUtf8(t.name)},
                       {"type", TypeName(t.type)},
                       {"shape", t.shape},
                       {"offset", t.offset},
                       {"bytes", t.nbytes}});
  }
  const Totals totals = ComputeTotals(file);
  nlohmann::json by_type = nlohmann::json::object();
  for (const auto& [name, cb] : totals.by_type) {
    by_type[name] = {{"tensors", cb.first}, {"bytes", cb.second}};
  }
  return {{"path", SanitizeUtf8(file.path())},
          {"version", file.version()},
          {"alignment", file.alignment()},
          {"data_offset", file.data_offset()},
          {"file_bytes", file.file_size()},
          {"metadata", std::move(metadata)},
          {"tensors", std::move(tensors)},
          {"totals",
           {{"tensors", file.tensors().size()},
            {"metadata_keys", file.Keys().size()},
            {"elements", totals.elements},
            {"bytes", totals.bytes},
            {"by_type", std::move(by_type)}}}};
}

std::string GgufInfoText(const GgufFile& file) {
  std::string out = StrFormat("%s: GGUF v%u, alignment %zu, %s, data at offset %zu\n",
                              file.path().c_str(), file.version(), file.alignment(),
                              Bytes(file.file_size()).c_str(), file.data_offset());
  const std::vector<std::string> keys = file.Keys();
  out += StrFormat("metadata (%zu keys):\n", keys.size());
  for (const std::string& key : keys) {
    out += "  " + key + " = " + file.ValueToString(key, kMaxArrayItems) + "\n";
  }
  size_t name_width = 4;
  for (const GgufTensor& t : file.tensors()) name_width = std::max(name_width, t.name.size());
  name_width = std::min<size_t>(name_width, 64);
  out += StrFormat("tensors (%zu):\n", file.tensors().size());
  for (const GgufTensor& t : file.tensors()) {
    out += StrFormat("  %-*s %-8s %-24s %s\n", static_cast<int>(name_width), t.name.c_str(),
                     TypeName(t.type), ShapeText(t.shape).c_str(), Bytes(t.nbytes).c_str());
  }
  const Totals totals = ComputeTotals(file);
  out += StrFormat("total: %zu tensors, %llu elements, %s", file.tensors().size(),
                   static_cast<unsigned long long>(totals.elements), Bytes(totals.bytes).c_str());
  for (const auto& [name, cb] : totals.by_type) {
    out += StrFormat("; %s: %llu (%s)", name.c_str(), static_cast<unsigned long long>(cb.first),
                     Bytes(cb.second).c_str());
  }
  return out + "\n";
}

}  // namespace quest
