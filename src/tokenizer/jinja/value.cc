// Value construction and the Python semantics of printing, comparing and
// JSON-encoding values.
#include "src/tokenizer/jinja/value.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "src/tokenizer/jinja/error.h"

namespace quest::jinja {

const Value* ValueDict::Find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k.is_string() && k.str() == key) return &v;
  }
  return nullptr;
}

const Value* ValueDict::FindKey(const Value& key) const {
  for (const auto& [k, v] : entries) {
    if (Equal(k, key)) return &v;
  }
  return nullptr;
}

void ValueDict::Set(Value key, Value value) {
  for (auto& [k, v] : entries) {
    if (Equal(k, key)) {
      v = std::move(value);
      return;
    }
  }
  entries.emplace_back(std::move(key), std::move(value));
}

Value Value::Undefined(std::string name) {
  Value v;
  v.s_ = std::move(name);
  return v;
}
Value Value::None() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}
Value::Value(bool b) : kind_(Kind::kBool), b_(b), i_(b ? 1 : 0) {}
Value::Value(int64_t i) : kind_(Kind::kInt), i_(i) {}
Value::Value(double f) : kind_(Kind::kFloat), f_(f) {}
Value::Value(std::string s) : kind_(Kind::kString), s_(std::move(s)) {}
Value::Value(ValueList list, bool is_tuple)
    : kind_(Kind::kList), is_tuple_(is_tuple),
      list_(std::make_shared<const ValueList>(std::move(list))) {}
Value::Value(ValueDict dict) : kind_(Kind::kDict), dict_(std::make_shared<ValueDict>(std::move(dict))) {}
Value Value::Namespace(ValueDict attributes) {
  Value v(std::move(attributes));
  v.kind_ = Kind::kNamespace;
  return v;
}
Value Value::Func(Function f) {
  Value v;
  v.kind_ = Kind::kFunction;
  v.fn_ = std::make_shared<const Function>(std::move(f));
  return v;
}

double Value::as_float() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(i_); }

bool Truthy(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return v.as_bool();
    case Kind::kInt: return v.as_int() != 0;
    case Kind::kFloat: return v.as_float() != 0;
    case Kind::kString: return !v.str().empty();
    case Kind::kList: return !v.list().empty();
    case Kind::kDict: return !v.dict().entries.empty();
    case Kind::kNamespace:
    case Kind::kFunction: return true;
  }
  return false;
}

std::string FloatRepr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  // The shortest %.Ne that reads back the same double, as Python's repr.
  char buf[40];
  for (int precision = 0; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*e", precision, f);
    if (std::strtod(buf, nullptr) == f) break;
  }
  // buf = [-]d[.ddd]e[+-]xx: split into sign, digits and exponent.
  std::string s = buf;
  const size_t e = s.find('e');
  const int exponent = std::atoi(s.c_str() + e + 1);
  std::string mantissa = s.substr(0, e);
  std::string sign;
  if (mantissa[0] == '-') {
    sign = "-";
    mantissa.erase(0, 1);
  }
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  if (exponent < -4 || exponent >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof(exp), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + exp;
  }
  if (exponent < 0) return sign + "0." + std::string(-exponent - 1, '0') + digits;
  const size_t int_len = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= int_len) return sign + digits + std::string(int_len - digits.size(), '0') + ".0";
  return sign + digits.substr(0, int_len) + "." + digits.substr(int_len);
}

namespace {

std::string QuoteRepr(const std::string& s) {
  const bool use_double = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char quote = use_double ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == '\\' || c == quote) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + quote;
}

void AppendJsonString(const std::string& s, std::string* out) {
  *out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      case '\b': *out += "\\b"; break;
      case '\f': *out += "\\f"; break;
      default:
        if (c < 0x20) {
          char hex[8];
          std::snprintf(hex, sizeof(hex), "\\u%04x", c);
          *out += hex;
        } else {
          *out += static_cast<char>(c);
        }
    }
  }
  *out += '"';
}

// json.dumps writes non-string keys as strings: 1 -> "1", True -> "true".
void AppendJsonKey(const Value& key, std::string* out) {
  switch (key.kind()) {
    case Kind::kString: AppendJsonString(key.str(), out); return;
    case Kind::kInt: AppendJsonString(std::to_string(key.as_int()), out); return;
    case Kind::kFloat: AppendJsonString(FloatRepr(key.as_float()), out); return;
    case Kind::kBool: AppendJsonString(key.as_bool() ? "true" : "false", out); return;
    case Kind::kNone: AppendJsonString("null", out); return;
    default: Fail("tojson: keys must be str, int, float, bool or None, not " + TypeName(key));
  }
}

void AppendJson(const Value& v, int indent, int depth, std::string* out) {
  if (depth > 64) Fail("tojson: value nested deeper than 64 levels");
  const auto newline = [&](int level) {
    if (indent < 0) return;
    *out += '\n';
    out->append(static_cast<size_t>(indent) * level, ' ');
  };
  const char* item_sep = indent >= 0 ? "," : ", ";
  switch (v.kind()) {
    case Kind::kNone: *out += "null"; return;
    case Kind::kBool: *out += v.as_bool() ? "true" : "false"; return;
    case Kind::kInt: *out += std::to_string(v.as_int()); return;
    case Kind::kFloat: {
      const double f = v.as_float();
      *out += std::isnan(f) ? "NaN" : std::isinf(f) ? (f > 0 ? "Infinity" : "-Infinity") : FloatRepr(f);
      return;
    }
    case Kind::kString: AppendJsonString(v.str(), out); return;
    case Kind::kList: {
      if (v.list().empty()) {
        *out += "[]";
        return;
      }
      *out += '[';
      for (size_t i = 0; i < v.list().size(); ++i) {
        if (i > 0) *out += item_sep;
        newline(depth + 1);
        AppendJson(v.list()[i], indent, depth + 1, out);
      }
      newline(depth);
      *out += ']';
      return;
    }
    case Kind::kDict:
    case Kind::kNamespace: {
      if (v.dict().entries.empty()) {
        *out += "{}";
        return;
      }
      *out += '{';
      bool first = true;
      for (const auto& [key, item] : v.dict().entries) {
        if (!first) *out += item_sep;
        first = false;
        newline(depth + 1);
        AppendJsonKey(key, out);
        *out += ": ";
        AppendJson(item, indent, depth + 1, out);
      }
      newline(depth);
      *out += '}';
      return;
    }
    case Kind::kUndefined:
    case Kind::kFunction: break;
  }
  Fail("tojson: a value of type " + TypeName(v) + " is not JSON serializable");
}

}  // namespace

std::string ToStr(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return "";
    case Kind::kString: return v.str();
    default: return Repr(v);
  }
}

std::string Repr(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "None";
    case Kind::kBool: return v.as_bool() ? "True" : "False";
    case Kind::kInt: return std::to_string(v.as_int());
    case Kind::kFloat: return FloatRepr(v.as_float());
    case Kind::kString: return QuoteRepr(v.str());
    case Kind::kList: {
      std::string out = v.is_tuple() ? "(" : "[";
      for (size_t i = 0; i < v.list().size(); ++i) {
        if (i > 0) out += ", ";
        out += Repr(v.list()[i]);
      }
      if (v.is_tuple() && v.list().size() == 1) out += ",";
      return out + (v.is_tuple() ? ")" : "]");
    }
    case Kind::kDict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, item] : v.dict().entries) {
        if (!first) out += ", ";
        first = false;
        out += Repr(key) + ": " + Repr(item);
      }
      return out + "}";
    }
    case Kind::kNamespace: return "<Namespace>";
    case Kind::kFunction: return "<function>";
  }
  return "";
}

std::string TypeName(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return "undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return v.is_tuple() ? "tuple" : "list";
    case Kind::kDict: return "dict";
    case Kind::kNamespace: return "Namespace";
    case Kind::kFunction: return "function";
  }
  return "?";
}

bool Equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind() == Kind::kFloat || b.kind() == Kind::kFloat) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kString: return a.str() == b.str();
    case Kind::kList: {
      if (a.list().size() != b.list().size()) return false;
      for (size_t i = 0; i < a.list().size(); ++i) {
        if (!Equal(a.list()[i], b.list()[i])) return false;
      }
      return true;
    }
    case Kind::kDict: {
      if (a.dict().entries.size() != b.dict().entries.size()) return false;
      for (const auto& [key, item] : a.dict().entries) {
        const Value* other = b.dict().FindKey(key);
        if (other == nullptr || !Equal(item, *other)) return false;
      }
      return true;
    }
    case Kind::kNamespace: return &a.dict() == &b.dict();
    case Kind::kFunction: return &a.function() == &b.function();
    default: return false;
  }
}

bool Less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind() == Kind::kFloat || b.kind() == Kind::kFloat) return a.as_float() < b.as_float();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str();  // UTF-8 order = code point order
  if (a.is_list() && b.is_list()) {
    const ValueList& x = a.list();
    const ValueList& y = b.list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!Equal(x[i], y[i])) return Less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  Fail("'<' is not supported between instances of '" + TypeName(a) + "' and '" + TypeName(b) +
       "'");
}

std::string ToJson(const Value& v, int indent) {
  std::string out;
  AppendJson(v, indent, 0, &out);
  return out;
}

}  // namespace quest::jinja
