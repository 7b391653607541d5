// Attribute, item and slice access, and the methods of str and dict, with
// jinja2's rules: `x.name` prefers a method, then the key; `x['name']` the
// key, then a method; a missing key or index is undefined, not an error;
// anything done to an undefined value besides printing, testing and
// iterating is an error naming it.
#pragma once

#include <optional>
#include <string>

#include "src/tokenizer/jinja/value.h"

namespace quest::jinja {

Value GetAttr(const Value& object, const std::string& name);
Value GetItem(const Value& object, const Value& key);
Value GetSlice(const Value& object, std::optional<int64_t> start, std::optional<int64_t> stop,
               std::optional<int64_t> step);
// Throws the error an undefined value stands for ("'x' is undefined").
[[noreturn]] void FailUndefined(const Value& undefined);

// Argument helpers shared with the filters: the i-th positional or the named
// keyword argument, or none.
const Value* Arg(const CallArgs& args, size_t i, const char* name);
std::optional<std::string> StringArg(const CallArgs& args, size_t i, const char* name,
                                     const char* function);
int64_t IntArg(const CallArgs& args, size_t i, const char* name, int64_t fallback,
               const char* function);

}  // namespace quest::jinja
