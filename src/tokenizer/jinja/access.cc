// jinja2's getattr/getitem over our values, and the str and dict methods
// chat templates call.
#include "src/tokenizer/jinja/access.h"

#include <vector>

#include "src/tokenizer/jinja/error.h"
#include "src/tokenizer/jinja/py_string.h"

namespace quest::jinja {
namespace {

// jinja2's words for the object an undefined value came from.
std::string ObjectName(const Value& v) {
  switch (v.kind()) {
    case Kind::kString: return "str object";
    case Kind::kList: return v.is_tuple() ? "tuple object" : "list object";
    case Kind::kDict: return "dict object";
    case Kind::kNamespace: return "Namespace object";
    case Kind::kNone: return "None";
    default: return TypeName(v) + " object";
  }
}

Value Missing(const Value& object, const std::string& what) {
  std::string message = "'";  // built by appends: GCC 12 misreads "x" + string&& (-Wrestrict)
  message += ObjectName(object);
  message += "' has no attribute ";
  message += what;
  return Value::Undefined(std::move(message));
}

Value StringMethod(const std::string& s, const std::string& name, const CallArgs& args) {
  const char* f = name.c_str();
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    return PyStrip(s, StringArg(args, 0, "chars", f), name != "rstrip", name != "lstrip");
  }
  if (name == "split") {
    ValueList out;
    for (std::string& part : PySplit(s, StringArg(args, 0, "sep", f), IntArg(args, 1, "maxsplit", -1, f))) {
      out.emplace_back(std::move(part));
    }
    return Value(std::move(out));
  }
  if (name == "startswith" || name == "endswith") {
    const std::optional<std::string> x = StringArg(args, 0, "prefix", f);
    if (!x) Fail(name + "() takes one string argument");
    if (x->size() > s.size()) return false;
    return name == "startswith" ? s.compare(0, x->size(), *x) == 0
                                : s.compare(s.size() - x->size(), x->size(), *x) == 0;
  }
  if (name == "upper") return PyUpper(s);
  if (name == "lower") return PyLower(s);
  if (name == "title") return PyTitle(s);
  if (name == "capitalize") return PyCapitalize(s);
  if (name == "replace") {
    const std::optional<std::string> from = StringArg(args, 0, "old", f);
    const std::optional<std::string> to = StringArg(args, 1, "new", f);
    if (!from || !to) Fail("replace() takes two string arguments");
    return PyReplace(s, *from, *to, IntArg(args, 2, "count", -1, f));
  }
  if (name == "find" || name == "count") {
    const std::optional<std::string> x = StringArg(args, 0, "sub", f);
    if (!x) Fail(name + "() takes one string argument");
    if (name == "count") {
      if (x->empty()) return static_cast<int64_t>(CodePoints(s).size()) + 1;
      int64_t n = 0;
      for (size_t at = s.find(*x); at != std::string::npos; at = s.find(*x, at + x->size())) ++n;
      return n;
    }
    const size_t at = s.find(*x);
    return at == std::string::npos ? int64_t{-1}
                                   : static_cast<int64_t>(CodePoints(s.substr(0, at)).size());
  }
  Fail("str has no method '" + name + "'");
}

Value DictMethod(const Value& d, const std::string& name, const CallArgs& args) {
  if (name == "items" || name == "keys" || name == "values") {
    ValueList out;
    for (const auto& [key, item] : d.dict().entries) {
      if (name == "items") {
        out.emplace_back(ValueList{key, item}, /*is_tuple=*/true);
      } else {
        out.push_back(name == "keys" ? key : item);
      }
    }
    return Value(std::move(out));
  }
  if (name == "get") {
    const Value* key = Arg(args, 0, "key");
    if (key == nullptr) Fail("get() takes a key");
    const Value* found = d.dict().FindKey(*key);
    if (found != nullptr) return *found;
    const Value* fallback = Arg(args, 1, "default");
    return fallback != nullptr ? *fallback : Value::None();
  }
  Fail("dict has no method '" + name + "'");
}

bool IsStringMethod(const std::string& n) {
  static const char* const kNames[] = {"strip", "lstrip", "rstrip", "split", "startswith",
                                       "endswith", "upper", "lower", "title", "capitalize",
                                       "replace", "find", "count"};
  for (const char* k : kNames) {
    if (n == k) return true;
  }
  return false;
}
bool IsDictMethod(const std::string& n) {
  return n == "items" || n == "keys" || n == "values" || n == "get";
}

Value BoundMethod(const Value& object, const std::string& name) {
  return Value::Func([object, name](const CallArgs& args) {
    return object.is_string() ? StringMethod(object.str(), name, args)
                              : DictMethod(object, name, args);
  });
}

std::optional<int64_t> IndexOf(const Value& key) {
  if (key.kind() == Kind::kInt || key.kind() == Kind::kBool) return key.as_int();
  return std::nullopt;
}

}  // namespace

[[noreturn]] void FailUndefined(const Value& undefined) {
  Fail(undefined.str().empty() ? "undefined value" : undefined.str());
}

Value GetAttr(const Value& object, const std::string& name) {
  if (object.is_undefined()) FailUndefined(object);
  if (object.is_string() && IsStringMethod(name)) return BoundMethod(object, name);
  if (object.kind() == Kind::kDict) {
    if (IsDictMethod(name)) return BoundMethod(object, name);
    const Value* found = object.dict().Find(name);
    return found != nullptr ? *found : Missing(object, "'" + name + "'");
  }
  if (object.kind() == Kind::kNamespace) {
    const Value* found = object.dict().Find(name);
    return found != nullptr ? *found : Missing(object, "'" + name + "'");
  }
  return Missing(object, "'" + name + "'");
}

Value GetItem(const Value& object, const Value& key) {
  if (object.is_undefined()) FailUndefined(object);
  if (object.is_mapping()) {
    const Value* found = object.dict().FindKey(key);
    if (found != nullptr) return *found;
    if (key.is_string()) return GetAttr(object, key.str());
    return Missing(object, Repr(key));
  }
  const std::optional<int64_t> index = IndexOf(key);
  if (index && (object.is_list() || object.is_string())) {
    if (object.is_list()) {
      const int64_t n = static_cast<int64_t>(object.list().size());
      const int64_t i = *index < 0 ? *index + n : *index;
      if (i >= 0 && i < n) return object.list()[static_cast<size_t>(i)];
    } else {
      const std::vector<std::string_view> cps = CodePoints(object.str());
      const int64_t n = static_cast<int64_t>(cps.size());
      const int64_t i = *index < 0 ? *index + n : *index;
      if (i >= 0 && i < n) return std::string(cps[static_cast<size_t>(i)]);
    }
    return Value::Undefined(ObjectName(object) + " has no element " + std::to_string(*index));
  }
  if (key.is_string()) return GetAttr(object, key.str());
  return Missing(object, Repr(key));
}

Value GetSlice(const Value& object, std::optional<int64_t> start, std::optional<int64_t> stop,
               std::optional<int64_t> step) {
  if (object.is_undefined()) FailUndefined(object);
  std::vector<int64_t> indices;
  if (object.is_list()) {
    SliceIndices(static_cast<int64_t>(object.list().size()), start, stop, step, &indices);
    ValueList out;
    for (int64_t i : indices) out.push_back(object.list()[static_cast<size_t>(i)]);
    return Value(std::move(out), object.is_tuple());
  }
  if (object.is_string()) {
    const std::vector<std::string_view> cps = CodePoints(object.str());
    SliceIndices(static_cast<int64_t>(cps.size()), start, stop, step, &indices);
    std::string out;
    for (int64_t i : indices) out += cps[static_cast<size_t>(i)];
    return out;
  }
  Fail("'" + TypeName(object) + "' object cannot be sliced");
}

const Value* Arg(const CallArgs& args, size_t i, const char* name) {
  if (i < args.positional.size()) return &args.positional[i];
  for (const auto& [key, value] : args.keyword) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::optional<std::string> StringArg(const CallArgs& args, size_t i, const char* name,
                                     const char* function) {
  const Value* v = Arg(args, i, name);
  if (v == nullptr || v->is_none()) return std::nullopt;
  if (!v->is_string()) {
    Fail(std::string(function) + "(): argument '" + name + "' must be a string, not " +
         TypeName(*v));
  }
  return v->str();
}

int64_t IntArg(const CallArgs& args, size_t i, const char* name, int64_t fallback,
               const char* function) {
  const Value* v = Arg(args, i, name);
  if (v == nullptr || v->is_none()) return fallback;
  if (v->kind() != Kind::kInt && v->kind() != Kind::kBool) {
    Fail(std::string(function) + "(): argument '" + name + "' must be an integer, not " +
         TypeName(*v));
  }
  return v->as_int();
}

}  // namespace quest::jinja
