// GgufFile's typed metadata getters, tensor lookup and one-line value
// rendering. Parsing and validation live in gguf_parser.cc.
#include "src/gguf/gguf.h"

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>

namespace quest {

namespace {

using ull = unsigned long long;

// A scalar metadata value widened to 64 bits, keeping its kind.
struct Number {
  enum Kind { kUnsigned, kSigned, kFloat, kBool } kind;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
};

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Precondition: `t` is a scalar type and `p` holds GgufScalarSize(t) bytes.
Number LoadNumber(GgufValueType t, const uint8_t* p) {
  Number n{Number::kUnsigned};
  switch (t) {
    case GgufValueType::kU8:
      n.u = Load<uint8_t>(p);
      break;
    case GgufValueType::kU16:
      n.u = Load<uint16_t>(p);
      break;
    case GgufValueType::kU32:
      n.u = Load<uint32_t>(p);
      break;
    case GgufValueType::kU64:
      n.u = Load<uint64_t>(p);
      break;
    case GgufValueType::kI8:
      n = {Number::kSigned};
      n.i = Load<int8_t>(p);
      break;
    case GgufValueType::kI16:
      n = {Number::kSigned};
      n.i = Load<int16_t>(p);
      break;
    case GgufValueType::kI32:
      n = {Number::kSigned};
      n.i = Load<int32_t>(p);
      break;
    case GgufValueType::kI64:
      n = {Number::kSigned};
      n.i = Load<int64_t>(p);
      break;
    case GgufValueType::kF32:
      n = {Number::kFloat};
      n.f = Load<float>(p);
      break;
    case GgufValueType::kF64:
      n = {Number::kFloat};
      n.f = Load<double>(p);
      break;
    case GgufValueType::kBool:
      n = {Number::kBool};
      n.u = Load<uint8_t>(p);
      break;
    case GgufValueType::kString:
    case GgufValueType::kArray:
      QE_CHECK(false, "LoadNumber on a non-scalar type");
  }
  return n;
}

bool IsInteger(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kU16:
    case GgufValueType::kI16:
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kU64:
    case GgufValueType::kI64:
      return true;
    default:
      return false;
  }
}

bool IsFloat(GgufValueType t) { return t == GgufValueType::kF32 || t == GgufValueType::kF64; }

// Whether the integer `n` lies in [lo, hi].
bool IntegerFits(const Number& n, int64_t lo, uint64_t hi) {
  if (n.kind == Number::kUnsigned) return n.u <= hi;
  return n.i >= lo && (n.i < 0 || static_cast<uint64_t>(n.i) <= hi);
}

std::string IntegerText(const Number& n) {
  return n.kind == Number::kUnsigned ? StrFormat("%llu", static_cast<ull>(n.u))
                                     : StrFormat("%lld", static_cast<long long>(n.i));
}

// f32 keeps NaN and infinities; a finite f64 beyond f32's range is an error.
bool ToF32(double d, float* out) {
  if (std::isfinite(d) && std::fabs(d) > FLT_MAX) return false;
  *out = static_cast<float>(d);
  return true;
}

void AppendScalar(std::string* out, GgufValueType t, const uint8_t* p) {
  const Number n = LoadNumber(t, p);
  switch (n.kind) {
    case Number::kBool:
      *out += n.u ? "true" : "false";
      break;
    case Number::kFloat:
      *out += StrFormat(t == GgufValueType::kF32 ? "%.9g" : "%.17g", n.f);
      break;
    default:
      *out += IntegerText(n);
      break;
  }
}

void AppendValue(std::string* out, const GgufValue& v, size_t max_items, size_t max_string) {
  if (v.type == GgufValueType::kString) {
    *out += GgufQuote(v.str, max_string);
    return;
  }
  if (v.type != GgufValueType::kArray) {
    AppendScalar(out, v.type, v.scalar);
    return;
  }
  *out += '[';
  const size_t scalar = GgufScalarSize(v.array_type);
  const uint64_t shown = std::min<uint64_t>(v.array_size, max_items);
  for (uint64_t i = 0; i < shown; ++i) {
    if (i != 0) *out += ", ";
    if (scalar != 0) {
      AppendScalar(out, v.array_type, v.array_data + i * scalar);
    } else if (v.array_type == GgufValueType::kString) {
      *out += GgufQuote(v.strings[i], 64);
    } else {
      AppendValue(out, v.arrays[i], max_items, 64);
    }
  }
  if (shown < v.array_size) {
    *out += StrFormat("%s... (%llu items)", shown != 0 ? ", " : "", static_cast<ull>(v.array_size));
  }
  *out += ']';
}

}  // namespace

int64_t GgufTensor::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // the parser checked that this does not overflow
  return n;
}

std::string GgufQuote(const std::string& s, size_t max_bytes) {
  size_t cut = s.size();
  if (cut > max_bytes) {
    cut = max_bytes;
    while (cut > 0 && (static_cast<uint8_t>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  }
  std::string out = "\"";
  for (size_t i = 0; i < cut; ++i) {
    const auto c = static_cast<uint8_t>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += StrFormat("\\x%02x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  if (cut < s.size()) out += StrFormat("... (%zu bytes)", s.size());
  return out;
}

std::string GgufValueToString(const GgufValue& value, size_t max_array_items) {
  std::string out;
  AppendValue(&out, value, max_array_items, 256);
  return out;
}

GgufValueType GgufFile::TypeOf(const std::string& key) const {
  const GgufValue* v = Find(key);
  QE_CHECK(v != nullptr, "TypeOf(\"%s\") on a missing key", key.c_str());
  return v->type;
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  const auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &values_[it->second];
}

const GgufTensor* GgufFile::FindTensor(const std::string& name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::string GgufFile::ValueToString(const std::string& key, size_t max_array_items) const {
  const GgufValue* v = Find(key);
  return v == nullptr ? "(missing)" : GgufValueToString(*v, max_array_items);
}

// --- typed getters ---

namespace {

// "<file>: metadata "key" at offset N: <what>".
Status ValueError(const std::string& path, const std::string& key, const GgufValue& v,
                  const std::string& what) {
  return Status::Error(StrFormat("%s: metadata %s at offset %zu: %s", path.c_str(),
                                 GgufQuote(key, 128).c_str(), v.offset, what.c_str()));
}

std::string TypeText(const GgufValue& v) {
  if (v.type != GgufValueType::kArray) return GgufValueTypeName(v.type);
  return StrFormat("array of %s", GgufValueTypeName(v.array_type));
}

Status WrongType(const std::string& path, const std::string& key, const GgufValue& v,
                 const char* expected) {
  return ValueError(path, key, v,
                    StrFormat("has type %s, expected %s", TypeText(v).c_str(), expected));
}

}  // namespace

#define QE_GGUF_FIND_OR_RETURN(v, key)                                                            \
  const GgufValue* v = Find(key);                                                                 \
  if (v == nullptr) {                                                                             \
    return Status::Error(                                                                         \
        StrFormat("%s: metadata key %s is missing", path_.c_str(), GgufQuote(key, 128).c_str())); \
  }

Result<int64_t> GgufFile::GetInt(const std::string& key) const {
  QE_GGUF_FIND_OR_RETURN(v, key);
  if (!IsInteger(v->type)) return WrongType(path_, key, *v, "an integer");
  const Number n = LoadNumber(v->type, v->scalar);
  if (!IntegerFits(n, INT64_MIN, static_cast<uint64_t>(INT64_MAX))) {
    return ValueError(path_, key, *v, "value " + IntegerText(n) + " does not fit in int64");
  }
  return n.kind == Number::kUnsigned ? static_cast<int64_t>(n.u) : n.i;
}

Result<uint32_t> GgufFile::GetU32(const std::string& key) const {
  QE_GGUF_FIND_OR_RETURN(v, key);
  if (!IsInteger(v->type)) return WrongType(path_, key, *v, "an integer");
  const Number n = LoadNumber(v->type, v->scalar);
  if (!IntegerFits(n, 0, UINT32_MAX)) {
    return ValueError(path_, key, *v, "value " + IntegerText(n) + " does not fit in uint32");
  }
  return static_cast<uint32_t>(n.kind == Number::kUnsigned ? n.u : static_cast<uint64_t>(n.i));
}

Result<float> GgufFile::GetF32(const std::string& key) const {
  QE_GGUF_FIND_OR_RETURN(v, key);
  if (!IsFloat(v->type)) return WrongType(path_, key, *v, "f32 or f64");
  float f = 0;
  const double d = LoadNumber(v->type, v->scalar).f;
  if (!ToF32(d, &f)) return ValueError(path_, key, *v, StrFormat("value %g overflows f32", d));
  return f;
}

Result<bool> GgufFile::GetBool(const std::string& key) const {
  QE_GGUF_FIND_OR_RETURN(v, key);
  if (v->type != GgufValueType::kBool) return WrongType(path_, key, *v, "bool");
  return *v->scalar != 0;
}

Result<std::string> GgufFile::GetString(const std::string& key) const {
  QE_GGUF_FIND_OR_RETURN(v, key);
  if (v->type != GgufValueType::kString) return WrongType(path_, key, *v, "string");
  return v->str;
}

Result<const std::vector<std::string>*> GgufFile::GetStringArray(const std::string& key) const {
  QE_GGUF_FIND_OR_RETURN(v, key);
  if (v->type != GgufValueType::kArray || v->array_type != GgufValueType::kString) {
    return WrongType(path_, key, *v, "array of string");
  }
  return &v->strings;
}

Result<std::vector<float>> GgufFile::GetF32Array(const std::string& key) const {
  QE_GGUF_FIND_OR_RETURN(v, key);
  if (v->type != GgufValueType::kArray || !IsFloat(v->array_type)) {
    return WrongType(path_, key, *v, "array of f32 or f64");
  }
  const size_t step = GgufScalarSize(v->array_type);
  std::vector<float> out(v->array_size);
  for (size_t i = 0; i < out.size(); ++i) {
    const double d = LoadNumber(v->array_type, v->array_data + i * step).f;
    if (!ToF32(d, &out[i])) {
      return ValueError(path_, key, *v, StrFormat("element %zu (value %g) overflows f32", i, d));
    }
  }
  return out;
}

Result<std::vector<int32_t>> GgufFile::GetI32Array(const std::string& key) const {
  QE_GGUF_FIND_OR_RETURN(v, key);
  if (v->type != GgufValueType::kArray || !IsInteger(v->array_type)) {
    return WrongType(path_, key, *v, "array of integers");
  }
  const size_t step = GgufScalarSize(v->array_type);
  std::vector<int32_t> out(v->array_size);
  for (size_t i = 0; i < out.size(); ++i) {
    const Number n = LoadNumber(v->array_type, v->array_data + i * step);
    if (!IntegerFits(n, INT32_MIN, INT32_MAX)) {
      return ValueError(
          path_, key, *v,
          StrFormat("element %zu (value %s) does not fit in int32", i, IntegerText(n).c_str()));
    }
    out[i] = static_cast<int32_t>(n.kind == Number::kUnsigned ? static_cast<int64_t>(n.u) : n.i);
  }
  return out;
}

#undef QE_GGUF_FIND_OR_RETURN

}  // namespace quest
