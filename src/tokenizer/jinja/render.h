// Evaluates a parsed template against a context, as jinja2 does: for loops
// give each iteration its own scope (use namespace() to carry values out),
// `loop` describes the iteration, undefined values print as nothing.
#pragma once

#include <ctime>
#include <string>

#include "src/tokenizer/jinja/ast.h"

namespace quest::jinja {

struct RenderOptions {
  // What strftime_now() formats (local time); 0: the current time.
  std::time_t now = 0;
  // The output, and any string built on the way, stops here with an error.
  size_t max_output_bytes = 64u << 20;
  // Loop iterations and macro calls, all together: nested loops over range()
  // stop here with an error instead of running for hours.
  int64_t max_steps = 1000000;
};

// Globals every template sees besides the context: raise_exception, namespace,
// range, strftime_now, dict. Throws TemplateError with the failing node's line
// and column.
std::string RenderBody(const Body& body, const ValueDict& context, const RenderOptions& options);

}  // namespace quest::jinja
