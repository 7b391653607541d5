// Tokens -> syntax tree, with jinja2's operator precedence (filters and tests
// bind tighter than arithmetic: `a + b | trim` trims b only).
#pragma once

#include <vector>

#include "src/tokenizer/jinja/ast.h"
#include "src/tokenizer/jinja/lexer.h"

namespace quest::jinja {

// Throws TemplateError naming the line, column and what was expected, for a
// syntax error, an unclosed block or a tag this renderer does not support.
Body Parse(const std::vector<Token>& tokens);

}  // namespace quest::jinja
