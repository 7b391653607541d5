// Operators with Python's int/float/str/list rules. Integers are 64-bit:
// an overflow is an error rather than Python's big integer.
#include "src/tokenizer/jinja/operators.h"

#include <cmath>

#include "src/tokenizer/jinja/access.h"
#include "src/tokenizer/jinja/error.h"

namespace quest::jinja {
namespace {

[[noreturn]] void Unsupported(const std::string& op, const Value& a, const Value& b) {
  Fail("unsupported operand type(s) for " + op + ": '" + TypeName(a) + "' and '" + TypeName(b) +
       "'");
}

bool IsInt(const Value& v) { return v.kind() == Kind::kInt || v.kind() == Kind::kBool; }

// `r` of a __builtin_*_overflow, or an error when it overflowed.
int64_t Checked(bool overflow, const int64_t& r) {
  if (overflow) Fail("integer overflow");
  return r;
}

Value Arithmetic(const std::string& op, const Value& a, const Value& b) {
  if (IsInt(a) && IsInt(b)) {
    const int64_t x = a.as_int(), y = b.as_int();
    int64_t r = 0;
    if (op == "+") return Checked(__builtin_add_overflow(x, y, &r), r);
    if (op == "-") return Checked(__builtin_sub_overflow(x, y, &r), r);
    if (op == "*") return Checked(__builtin_mul_overflow(x, y, &r), r);
    if (op == "/") {
      if (y == 0) Fail("division by zero");
      return static_cast<double>(x) / static_cast<double>(y);
    }
    if (y == 0) Fail(op == "%" ? "integer modulo by zero" : "integer division or modulo by zero");
    if (op == "**") {
      if (y < 0) return std::pow(static_cast<double>(x), static_cast<double>(y));
      if (x == 0 || x == 1) return y == 0 ? int64_t{1} : x;
      if (x == -1) return y % 2 == 0 ? int64_t{1} : int64_t{-1};
      int64_t p = 1;  // |x| >= 2 overflows within 63 steps
      for (int64_t i = 0; i < y; ++i) {
        if (__builtin_mul_overflow(p, x, &p)) Fail("integer overflow");
      }
      return p;
    }
    if (x == INT64_MIN && y == -1) Fail("integer overflow");
    // Python floors: -7 // 2 == -4 and -7 % 3 == 2.
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) {
      --q;
      m += y;
    }
    return op == "//" ? q : m;
  }
  const double x = a.as_float(), y = b.as_float();
  if (op == "+") return x + y;
  if (op == "-") return x - y;
  if (op == "*") return x * y;
  if (op == "**") return std::pow(x, y);
  if (y == 0) Fail("float division by zero");
  if (op == "/") return x / y;
  if (op == "//") return std::floor(x / y);
  double m = std::fmod(x, y);
  if (m != 0 && ((m < 0) != (y < 0))) m += y;
  return m;
}

Value Repeat(const Value& seq, int64_t n, size_t max_bytes) {
  if (n <= 0) return seq.is_string() ? Value("") : Value(ValueList{});
  const size_t unit = seq.is_string() ? seq.str().size() : seq.list().size();
  if (unit != 0 && static_cast<uint64_t>(n) > max_bytes / unit) Fail("'*' builds a value over the output limit");
  if (seq.is_string()) {
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return out;
  }
  ValueList out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.list().begin(), seq.list().end());
  return Value(std::move(out));
}

bool Contains(const Value& haystack, const Value& needle) {
  if (haystack.is_undefined()) return false;  // jinja2's Undefined iterates as empty
  if (haystack.is_string()) {
    if (!needle.is_string()) {
      Fail("'in <string>' requires string as left operand, not " + TypeName(needle));
    }
    return haystack.str().find(needle.str()) != std::string::npos;
  }
  if (haystack.is_mapping()) return haystack.dict().FindKey(needle) != nullptr;
  if (haystack.is_list()) {
    for (const Value& item : haystack.list()) {
      if (Equal(item, needle)) return true;
    }
    return false;
  }
  Fail("argument of type '" + TypeName(haystack) + "' is not iterable");
}

}  // namespace

Value BinaryOp(const std::string& op, const Value& a, const Value& b, size_t max_bytes) {
  if (op == "~") {
    std::string s = ToStr(a) + ToStr(b);
    if (s.size() > max_bytes) Fail("'~' builds a string over the output limit");
    return s;
  }
  if (op == "==") return Equal(a, b);
  if (op == "!=") return !Equal(a, b);
  if (op == "in") return Contains(b, a);
  if (op == "not in") return !Contains(b, a);
  if (a.is_undefined()) FailUndefined(a);
  if (b.is_undefined()) FailUndefined(b);
  if (op == "<") return Less(a, b);
  if (op == ">") return Less(b, a);
  if (op == "<=") return !Less(b, a);
  if (op == ">=") return !Less(a, b);
  if (a.is_number() && b.is_number()) return Arithmetic(op, a, b);
  if (op == "+" && a.is_string() && b.is_string()) {
    if (a.str().size() + b.str().size() > max_bytes) Fail("'+' builds a string over the output limit");
    return a.str() + b.str();
  }
  if (op == "+" && a.is_list() && b.is_list()) {
    if (a.list().size() + b.list().size() > max_bytes) Fail("'+' builds a list over the output limit");
    ValueList out = a.list();
    out.insert(out.end(), b.list().begin(), b.list().end());
    return Value(std::move(out));
  }
  if (op == "*" && (a.is_string() || a.is_list()) && IsInt(b)) return Repeat(a, b.as_int(), max_bytes);
  if (op == "*" && IsInt(a) && (b.is_string() || b.is_list())) return Repeat(b, a.as_int(), max_bytes);
  if (op == "%" && a.is_string()) Fail("'%' string formatting is not supported; use '~' or format filters");
  Unsupported(op, a, b);
}

Value UnaryOp(const std::string& op, const Value& a) {
  if (op == "not") return !Truthy(a);
  if (a.is_undefined()) FailUndefined(a);
  if (!a.is_number()) Fail("bad operand type for unary " + op + ": '" + TypeName(a) + "'");
  if (op == "+") return a.kind() == Kind::kBool ? Value(a.as_int()) : a;
  if (a.kind() == Kind::kFloat) return -a.as_float();
  if (a.as_int() == INT64_MIN) Fail("integer overflow");
  return -a.as_int();
}

}  // namespace quest::jinja
