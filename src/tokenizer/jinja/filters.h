// jinja2's filters (`x | trim`) and tests (`x is defined`) that chat
// templates use. An unknown name is an error naming it.
#pragma once

#include <string>

#include "src/tokenizer/jinja/value.h"

namespace quest::jinja {

// `input | name(args)`. `max_bytes` bounds the strings a filter may build.
Value ApplyFilter(const std::string& name, const Value& input, const CallArgs& args,
                  size_t max_bytes);
// `value is name(args)`.
bool ApplyTest(const std::string& name, const Value& value, const CallArgs& args);
// Python's len(): code points of a string, items of a list or dict; undefined is 0.
int64_t Length(const Value& v);
// The items a for loop or a filter walks: a list's items, a dict's keys, a
// string's code points; undefined is empty. Anything else is an error.
ValueList Items(const Value& v);

}  // namespace quest::jinja
