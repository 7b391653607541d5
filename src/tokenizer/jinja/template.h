// A Jinja template as chat templates write them, parsed once and rendered
// many times. The subset: text, {{ }} and {% %} with whitespace control
// (trim_blocks and lstrip_blocks on, as transformers renders chat templates),
// if/elif/else, for (loop.*, `if` filter, else, break/continue), set
// (including namespace attributes and set blocks), macros, Python-style
// literals and operators, the filters and tests of filters.h, the str and
// dict methods of access.h, and the globals raise_exception, namespace,
// range, dict and strftime_now. Anything else is an error naming it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "src/tokenizer/jinja/ast.h"
#include "src/tokenizer/jinja/render.h"
#include "src/util/check.h"

namespace quest::jinja {

class Template {
 public:
  // A syntax error -> "line L, column C: <problem>".
  static Result<Template> Parse(std::string_view source);

  // A runtime error (an undefined value misused, a type error,
  // raise_exception) -> "line L, column C: <problem>".
  Result<std::string> Render(const ValueDict& context, const RenderOptions& options = {}) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace quest::jinja
