// The one error type inside the Jinja renderer: a message and, once known,
// the template line and column it concerns. It never leaves the module:
// Template::Parse and Template::Render turn it into a Status.
#pragma once

#include <string>

namespace quest::jinja {

struct TemplateError {
  std::string message;
  int line = 0;  // 1-based; 0 until the node that failed is known
  int column = 0;
};

[[noreturn]] inline void Fail(std::string message) { throw TemplateError{std::move(message)}; }

[[noreturn]] inline void FailAt(int line, int column, std::string message) {
  throw TemplateError{std::move(message), line, column};
}

}  // namespace quest::jinja
