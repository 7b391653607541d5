// Splits a Jinja template into text and the tokens of its {{ }} and {% %}
// tags, applying whitespace control as jinja2 does with trim_blocks and
// lstrip_blocks on (how transformers renders chat templates): a block or
// comment tag alone on its line loses its indentation and its newline, `-`
// inside a delimiter strips all whitespace on that side, `+` keeps it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace quest::jinja {

enum class Tok {
  kText,        // literal output
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,      // text holds the unescaped value
  kInt,
  kFloat,
  kOperator,    // text holds it: + - * / // % ** ~ == != < <= > >= ( ) [ ] { } , . : | =
  kEnd,
};

struct Token {
  Tok kind;
  std::string text;
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;  // where the token starts, 1-based
  int column = 1;
};

// Throws TemplateError (with line and column) on an unclosed tag, comment or
// string, or a character no token starts with.
std::vector<Token> Tokenize(std::string_view source);

}  // namespace quest::jinja
