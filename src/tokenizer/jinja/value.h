// The values a chat template computes with, and their Python semantics as
// jinja2 shows them: truthiness, str(), repr(), ==, <, and json.dumps (the
// tojson filter as Hugging Face's apply_chat_template defines it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quest::jinja {

class Value;
using ValueList = std::vector<Value>;

// A dict in insertion order (Python dicts keep it, and tojson writes it).
// Keys are strings mostly, numbers sometimes. Chat templates index small
// dicts: a linear scan is fine.
struct ValueDict {
  std::vector<std::pair<Value, Value>> entries;
  const Value* Find(std::string_view key) const;  // a string key
  const Value* FindKey(const Value& key) const;   // any key, by Python ==
  void Set(Value key, Value value);
};

// Arguments of a call: positional then keyword, as written.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};
using Function = std::function<Value(const CallArgs&)>;

enum class Kind {
  kUndefined,  // a missing variable, key or index (jinja2's Undefined)
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kList,       // also tuples (is_tuple), which only print differently
  kDict,
  kNamespace,  // namespace(): a dict whose attributes `set ns.x = ...` may change
  kFunction,
};

class Value {
 public:
  Value() = default;  // undefined
  static Value Undefined(std::string name);
  static Value None();
  Value(bool b);  // NOLINT: implicit, as Python values are
  Value(int64_t i);  // NOLINT
  Value(int i) : Value(static_cast<int64_t>(i)) {}  // NOLINT
  Value(double f);  // NOLINT
  Value(std::string s);  // NOLINT
  Value(const char* s) : Value(std::string(s)) {}  // NOLINT
  Value(ValueList list, bool is_tuple = false);  // NOLINT
  Value(ValueDict dict);  // NOLINT
  static Value Namespace(ValueDict attributes);
  static Value Func(Function f);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_mapping() const { return kind_ == Kind::kDict || kind_ == Kind::kNamespace; }
  bool is_tuple() const { return is_tuple_; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return i_; }       // kInt, or kBool as 0/1
  double as_float() const;                    // any number
  const std::string& str() const { return s_; }  // kString; kUndefined: its name
  const ValueList& list() const { return *list_; }
  const ValueDict& dict() const { return *dict_; }
  ValueDict& namespace_dict() const { return *dict_; }  // kNamespace only: shared, mutable
  const Function& function() const { return *fn_; }

 private:
  Kind kind_ = Kind::kUndefined;
  bool is_tuple_ = false;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<const ValueList> list_;
  std::shared_ptr<ValueDict> dict_;
  std::shared_ptr<const Function> fn_;
};

// Python's bool(v); undefined is false.
bool Truthy(const Value& v);
// Python's str(v) as jinja2 prints it: undefined -> "", None -> "None".
std::string ToStr(const Value& v);
// Python's repr(v): strings quoted, as lists print their items.
std::string Repr(const Value& v);
// The Python type name, for error messages ("int", "str", "list", ...).
std::string TypeName(const Value& v);
// Python's ==: numbers across int/float/bool, lists and dicts deeply.
bool Equal(const Value& a, const Value& b);
// Python's <, for numbers, strings and lists; other pairs are an error.
bool Less(const Value& a, const Value& b);
// json.dumps(v, ensure_ascii=False, indent=indent) (indent < 0: one line with
// ", " and ": " separators), as transformers' tojson filter writes it.
std::string ToJson(const Value& v, int indent);
// Python's repr(float): the shortest text that reads back the same double.
std::string FloatRepr(double f);

}  // namespace quest::jinja
