// The filters and tests: each a few lines of Python semantics.
#include "src/tokenizer/jinja/filters.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "src/tokenizer/jinja/access.h"
#include "src/tokenizer/jinja/error.h"
#include "src/tokenizer/jinja/py_string.h"

namespace quest::jinja {
namespace {

// jinja2's attribute getter: "a.b" looks up a, then b, item first.
Value Attribute(const Value& item, const std::string& path) {
  Value v = item;
  size_t begin = 0;
  while (true) {
    const size_t dot = path.find('.', begin);
    const std::string part = path.substr(begin, dot == std::string::npos ? dot : dot - begin);
    const bool is_index = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    v = is_index ? GetItem(v, Value(static_cast<int64_t>(std::strtoll(part.c_str(), nullptr, 10))))
                 : GetItem(v, Value(part));
    if (dot == std::string::npos) return v;
    begin = dot + 1;
  }
}

// select/reject/selectattr/rejectattr: keep the items whose (attribute's)
// test result is `keep`.
Value Select(const Value& input, const CallArgs& args, bool by_attribute, bool keep) {
  size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    const std::optional<std::string> a = StringArg(args, next++, "attribute", "selectattr");
    if (!a) Fail("selectattr/rejectattr: an attribute name is required");
    attribute = *a;
  }
  std::optional<std::string> test;
  if (next < args.positional.size()) test = StringArg(args, next++, "test", "select");
  CallArgs test_args;
  test_args.positional.assign(args.positional.begin() + std::min(next, args.positional.size()),
                              args.positional.end());
  ValueList out;
  for (const Value& item : Items(input)) {
    const Value subject = by_attribute ? Attribute(item, attribute) : item;
    const bool passed = test ? ApplyTest(*test, subject, test_args) : Truthy(subject);
    if (passed == keep) out.push_back(item);
  }
  return Value(std::move(out));
}

Value ToInt(const Value& v, const CallArgs& args) {
  const Value* fallback = Arg(args, 0, "default");
  const Value zero = fallback != nullptr ? *fallback : Value(int64_t{0});
  if (v.kind() == Kind::kInt || v.kind() == Kind::kBool) return v.as_int();
  if (v.kind() == Kind::kFloat) {
    const double f = v.as_float();
    if (!std::isfinite(f) || std::fabs(f) > 9.2e18) return zero;
    return static_cast<int64_t>(f);
  }
  if (v.is_string()) {
    const std::string s = PyStrip(v.str(), std::nullopt, true, true);
    if (s.empty()) return zero;
    errno = 0;
    char* end = nullptr;
    const long long i = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0 && *end == '\0') return static_cast<int64_t>(i);
    const double f = std::strtod(s.c_str(), &end);
    if (*end == '\0' && std::isfinite(f) && std::fabs(f) < 9.2e18) return static_cast<int64_t>(f);
  }
  return zero;
}

Value ToFloat(const Value& v, const CallArgs& args) {
  const Value* fallback = Arg(args, 0, "default");
  const Value zero = fallback != nullptr ? *fallback : Value(0.0);
  if (v.is_number()) return v.as_float();
  if (v.is_string()) {
    const std::string s = PyStrip(v.str(), std::nullopt, true, true);
    char* end = nullptr;
    const double f = std::strtod(s.c_str(), &end);
    if (!s.empty() && *end == '\0') return f;
  }
  return zero;
}

Value Join(const Value& input, const CallArgs& args, size_t max_bytes) {
  const std::string sep = StringArg(args, 0, "d", "join").value_or("");
  const std::optional<std::string> attribute = StringArg(args, 1, "attribute", "join");
  std::string out;
  bool first = true;
  for (const Value& item : Items(input)) {
    if (!first) out += sep;
    first = false;
    out += ToStr(attribute ? Attribute(item, *attribute) : item);
    if (out.size() > max_bytes) Fail("join: the result exceeds the output limit");
  }
  return out;
}

Value Sort(const Value& input, const CallArgs& args) {
  const Value* reverse = Arg(args, 0, "reverse");
  const Value* case_sensitive = Arg(args, 1, "case_sensitive");
  const std::optional<std::string> attribute = StringArg(args, 2, "attribute", "sort");
  const bool fold = case_sensitive == nullptr || !Truthy(*case_sensitive);
  ValueList items = Items(input);
  const auto key = [&](const Value& v) {
    Value k = attribute ? Attribute(v, *attribute) : v;
    return fold && k.is_string() ? Value(PyLower(k.str())) : k;
  };
  std::stable_sort(items.begin(), items.end(),
                   [&](const Value& a, const Value& b) { return Less(key(a), key(b)); });
  if (reverse != nullptr && Truthy(*reverse)) std::reverse(items.begin(), items.end());
  return Value(std::move(items));
}

Value Map(const Value& input, const CallArgs& args, size_t max_bytes) {
  ValueList out;
  const std::optional<std::string> attribute = StringArg(args, 99, "attribute", "map");
  if (attribute) {
    const Value* fallback = Arg(args, 99, "default");
    for (const Value& item : Items(input)) {
      Value v = Attribute(item, *attribute);
      out.push_back(v.is_undefined() && fallback != nullptr ? *fallback : v);
    }
    return Value(std::move(out));
  }
  const std::optional<std::string> filter = StringArg(args, 0, "filter", "map");
  if (!filter) Fail("map: needs a filter name or attribute=");
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  for (const Value& item : Items(input)) out.push_back(ApplyFilter(*filter, item, rest, max_bytes));
  return Value(std::move(out));
}

Value Unique(const Value& input) {
  ValueList out;
  for (const Value& item : Items(input)) {
    const Value k = item.is_string() ? Value(PyLower(item.str())) : item;
    bool seen = false;
    for (const Value& o : out) {
      seen = seen || Equal(o.is_string() ? Value(PyLower(o.str())) : o, k);
    }
    if (!seen) out.push_back(item);
  }
  return Value(std::move(out));
}

Value FirstOrLast(const Value& input, bool first) {
  const ValueList items = Items(input);
  if (items.empty()) return Value::Undefined(std::string("No ") + (first ? "first" : "last") + " item, sequence was empty.");
  return first ? items.front() : items.back();
}

// jinja2's indent: every line but the first (and blank lines, unless
// `blank`) gets `width` spaces, or the width string; `first` indents the first.
Value Indent(const Value& input, const CallArgs& args, size_t max_bytes) {
  const Value* width = Arg(args, 0, "width");
  const std::string pad = width == nullptr ? std::string(4, ' ')
                          : width->is_string() ? width->str()
                                               : std::string(static_cast<size_t>(std::clamp<int64_t>(
                                                                 IntArg(args, 0, "width", 4, "indent"), 0, 256)),
                                                             ' ');
  const Value* first = Arg(args, 1, "first");
  const Value* blank = Arg(args, 2, "blank");
  const std::string s = ToStr(input);
  // jinja2 splits s + "\n" into lines: a trailing newline survives.
  std::vector<std::string> lines = PySplit(s + "\n", std::string("\n"), -1);
  lines.pop_back();
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += '\n';
    const bool indent = i == 0 ? first != nullptr && Truthy(*first)
                               : !lines[i].empty() || (blank != nullptr && Truthy(*blank));
    if (indent) out += pad;
    out += lines[i];
    if (out.size() > max_bytes) Fail("indent: the result exceeds the output limit");
  }
  return out;
}

// dictsort: a dict's (key, value) pairs by key (case-insensitive) or value.
Value DictSort(const Value& input, const CallArgs& args) {
  if (input.kind() != Kind::kDict) Fail("dictsort: expects a dict, not " + TypeName(input));
  const Value* case_sensitive = Arg(args, 0, "case_sensitive");
  const std::string by = StringArg(args, 1, "by", "dictsort").value_or("key");
  const Value* reverse = Arg(args, 2, "reverse");
  if (by != "key" && by != "value") Fail("dictsort: 'by' must be 'key' or 'value'");
  const bool fold = case_sensitive == nullptr || !Truthy(*case_sensitive);
  ValueList pairs;
  for (const auto& [k, v] : input.dict().entries) pairs.emplace_back(ValueList{k, v}, true);
  const auto key = [&](const Value& pair) {
    const Value& k = pair.list()[by == "key" ? 0 : 1];
    return fold && k.is_string() ? Value(PyLower(k.str())) : k;
  };
  std::stable_sort(pairs.begin(), pairs.end(),
                   [&](const Value& a, const Value& b) { return Less(key(a), key(b)); });
  if (reverse != nullptr && Truthy(*reverse)) std::reverse(pairs.begin(), pairs.end());
  return Value(std::move(pairs));
}

const std::string& RequireString(const Value& v, const char* filter) {
  if (v.is_undefined()) FailUndefined(v);
  if (!v.is_string()) Fail(std::string(filter) + ": expects a string, not " + TypeName(v));
  return v.str();
}

}  // namespace

int64_t Length(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return 0;
    case Kind::kString: return static_cast<int64_t>(CodePoints(v.str()).size());
    case Kind::kList: return static_cast<int64_t>(v.list().size());
    case Kind::kDict:
    case Kind::kNamespace: return static_cast<int64_t>(v.dict().entries.size());
    default: Fail("object of type '" + TypeName(v) + "' has no len()");
  }
}

ValueList Items(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return {};
    case Kind::kList: return v.list();
    case Kind::kDict: {
      ValueList keys;
      for (const auto& entry : v.dict().entries) keys.emplace_back(entry.first);
      return keys;
    }
    case Kind::kString: {
      ValueList chars;
      for (std::string_view cp : CodePoints(v.str())) chars.emplace_back(std::string(cp));
      return chars;
    }
    default: Fail("'" + TypeName(v) + "' object is not iterable");
  }
}

Value ApplyFilter(const std::string& name, const Value& input, const CallArgs& args,
                  size_t max_bytes) {
  const char* f = name.c_str();
  if (name == "default" || name == "d") {
    const Value* fallback = Arg(args, 0, "default_value");
    const Value* boolean = Arg(args, 1, "boolean");
    const bool use = input.is_undefined() || (boolean != nullptr && Truthy(*boolean) && !Truthy(input));
    return use ? (fallback != nullptr ? *fallback : Value("")) : input;
  }
  if (name == "length" || name == "count") return Length(input);
  if (name == "safe") return input;
  if (name == "string") return ToStr(input);
  if (name == "list") return Value(Items(input));
  if (name == "first" || name == "last") return FirstOrLast(input, name == "first");
  if (name == "int") return ToInt(input, args);
  if (name == "float") return ToFloat(input, args);
  if (name == "tojson") {
    if (input.is_undefined()) FailUndefined(input);
    const int64_t indent = IntArg(args, 0, "indent", -1, f);
    return ToJson(input, static_cast<int>(std::clamp<int64_t>(indent, -1, 64)));
  }
  if (name == "items") {
    if (input.is_undefined()) return Value(ValueList{});
    if (input.kind() != Kind::kDict) Fail("items: expects a dict, not " + TypeName(input));
    return GetAttr(input, "items").function()(CallArgs{});
  }
  if (name == "join") return Join(input, args, max_bytes);
  if (name == "select" || name == "reject") return Select(input, args, false, name == "select");
  if (name == "selectattr" || name == "rejectattr") {
    return Select(input, args, true, name == "selectattr");
  }
  if (name == "map") return Map(input, args, max_bytes);
  if (name == "sort") return Sort(input, args);
  if (name == "unique") return Unique(input);
  if (name == "indent") return Indent(input, args, max_bytes);
  if (name == "dictsort") return DictSort(input, args);
  if (name == "reverse") {
    if (input.is_string()) return GetSlice(input, std::nullopt, std::nullopt, -1);
    ValueList items = Items(input);
    std::reverse(items.begin(), items.end());
    return Value(std::move(items));
  }
  if (name == "abs") {
    if (input.kind() == Kind::kFloat) return std::fabs(input.as_float());
    if (input.kind() == Kind::kInt && input.as_int() != INT64_MIN) return static_cast<int64_t>(std::llabs(input.as_int()));
    Fail("abs: expects a number, not " + TypeName(input));
  }
  if (name == "trim") return PyStrip(ToStr(input), StringArg(args, 0, "chars", f), true, true);
  if (name == "upper") return PyUpper(RequireString(input, f));
  if (name == "lower") return PyLower(RequireString(input, f));
  if (name == "title") return PyTitle(RequireString(input, f));
  if (name == "capitalize") return PyCapitalize(RequireString(input, f));
  if (name == "replace") {
    const std::optional<std::string> from = StringArg(args, 0, "old", f);
    const std::optional<std::string> to = StringArg(args, 1, "new", f);
    if (!from || !to) Fail("replace: needs two string arguments");
    std::string out = PyReplace(ToStr(input), *from, *to, IntArg(args, 2, "count", -1, f));
    if (out.size() > max_bytes) Fail("replace: the result exceeds the output limit");
    return out;
  }
  Fail("unknown filter '" + name + "'");
}

bool ApplyTest(const std::string& name, const Value& v, const CallArgs& args) {
  const Value* other = Arg(args, 0, "other");
  const auto need_other = [&]() -> const Value& {
    if (other == nullptr) Fail("test '" + name + "' needs an argument");
    return *other;
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.kind() == Kind::kInt;
  if (name == "float") return v.kind() == Kind::kFloat;
  if (name == "boolean") return v.kind() == Kind::kBool;
  if (name == "true") return v.kind() == Kind::kBool && v.as_bool();
  if (name == "false") return v.kind() == Kind::kBool && !v.as_bool();
  if (name == "mapping") return v.kind() == Kind::kDict;
  if (name == "callable") return v.kind() == Kind::kFunction;
  // jinja2's Undefined iterates as empty and has a length, so it passes both.
  if (name == "iterable" || name == "sequence") {
    return v.is_undefined() || v.is_string() || v.is_list() || v.kind() == Kind::kDict;
  }
  if (name == "lower" || name == "upper") {
    if (!v.is_string()) return false;
    return name == "lower" ? PyLower(v.str()) == v.str() : PyUpper(v.str()) == v.str();
  }
  if (name == "even" || name == "odd" || name == "divisibleby") {
    if (v.kind() != Kind::kInt && v.kind() != Kind::kBool) Fail("test '" + name + "' needs an integer");
    if (name != "divisibleby") return (v.as_int() % 2 == 0) == (name == "even");
    const Value& d = need_other();
    if (d.kind() != Kind::kInt || d.as_int() == 0) Fail("divisibleby: needs a non-zero integer");
    return d.as_int() == -1 || v.as_int() % d.as_int() == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return Equal(v, need_other());
  if (name == "ne" || name == "!=") return !Equal(v, need_other());
  if (name == "lt" || name == "lessthan" || name == "<") return Less(v, need_other());
  if (name == "le" || name == "<=") return !Less(need_other(), v);
  if (name == "gt" || name == "greaterthan" || name == ">") return Less(need_other(), v);
  if (name == "ge" || name == ">=") return !Less(v, need_other());
  if (name == "sameas") {
    const Value& o = need_other();
    return (v.is_none() && o.is_none()) || (v.kind() == Kind::kBool && o.kind() == Kind::kBool &&
                                            v.as_bool() == o.as_bool());
  }
  if (name == "in") {
    const Value& o = need_other();
    if (o.is_string() && v.is_string()) return o.str().find(v.str()) != std::string::npos;
    for (const Value& item : Items(o)) {
      if (Equal(item, v)) return true;
    }
    return false;
  }
  Fail("unknown test '" + name + "'");
}

}  // namespace quest::jinja
