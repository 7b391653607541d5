// Python's arithmetic, comparison, membership and concatenation operators on
// template values; a type mismatch is an error worded as Python's TypeError.
#pragma once

#include <string>

#include "src/tokenizer/jinja/value.h"

namespace quest::jinja {

// op: + - * / // % ** ~ == != < <= > >= in "not in". `max_bytes` bounds the
// strings and lists that + and * build.
Value BinaryOp(const std::string& op, const Value& a, const Value& b, size_t max_bytes);
// op: not - +
Value UnaryOp(const std::string& op, const Value& a);

}  // namespace quest::jinja
