// Parse and Render: the boundary where the module's TemplateError becomes a
// Status.
#include "src/tokenizer/jinja/template.h"

#include "src/tokenizer/jinja/error.h"
#include "src/tokenizer/jinja/lexer.h"
#include "src/tokenizer/jinja/parser.h"

namespace quest::jinja {
namespace {

Status ToStatus(const TemplateError& e) {
  if (e.line == 0) return Status::Error(e.message);
  return Status::Error(StrFormat("line %d, column %d: %s", e.line, e.column, e.message.c_str()));
}

}  // namespace

Result<Template> Template::Parse(std::string_view source) {
  try {
    Template t;
    t.body_ = std::make_shared<const Body>(jinja::Parse(Tokenize(source)));
    return t;
  } catch (const TemplateError& e) {
    return ToStatus(e);
  }
}

Result<std::string> Template::Render(const ValueDict& context, const RenderOptions& options) const {
  try {
    return RenderBody(*body_, context, options);
  } catch (const TemplateError& e) {
    return ToStatus(e);
  }
}

}  // namespace quest::jinja
