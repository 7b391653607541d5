// The tree-walking renderer: statements write text, expressions compute
// values; scopes are a stack of frames searched from the innermost.
#include "src/tokenizer/jinja/render.h"

#include <vector>

#include "src/tokenizer/jinja/access.h"
#include "src/tokenizer/jinja/error.h"
#include "src/tokenizer/jinja/filters.h"
#include "src/tokenizer/jinja/operators.h"

namespace quest::jinja {
namespace {

constexpr int kMaxMacroDepth = 32;     // recursion between macros
constexpr int64_t kMaxRange = 100000;  // range() items

std::optional<int64_t> SliceBound(const Value& v) {
  if (v.is_none()) return std::nullopt;
  if (v.kind() != Kind::kInt && v.kind() != Kind::kBool) {
    Fail("slice indices must be integers or none, not " + TypeName(v));
  }
  return v.as_int();
}

Value Range(const CallArgs& args) {
  std::vector<int64_t> n;
  for (const Value& v : args.positional) {
    if (v.kind() != Kind::kInt) Fail("range(): arguments must be integers, not " + TypeName(v));
    n.push_back(v.as_int());
  }
  if (n.empty() || n.size() > 3) Fail("range(): takes 1 to 3 integers");
  const int64_t start = n.size() == 1 ? 0 : n[0];
  const int64_t stop = n.size() == 1 ? n[0] : n[1];
  const int64_t step = n.size() == 3 ? n[2] : 1;
  if (step == 0) Fail("range(): step must not be zero");
  ValueList out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<int64_t>(out.size()) >= kMaxRange) Fail("range(): more than 100000 items");
    out.emplace_back(i);
    if (step > 0 ? stop - i <= step : i - stop <= -step) break;
  }
  return Value(std::move(out));
}

Value StrftimeNow(const CallArgs& args, std::time_t fixed) {
  const std::optional<std::string> format = StringArg(args, 0, "format", "strftime_now");
  if (!format || format->size() > 256) Fail("strftime_now(): takes one format string");
  const std::time_t now = fixed != 0 ? fixed : std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[1024];
  const size_t n = std::strftime(buf, sizeof(buf), format->c_str(), &tm);
  return std::string(buf, n);
}

class Renderer {
 public:
  Renderer(const ValueDict& context, const RenderOptions& options) : options_(options) {
    ValueDict globals;
    globals.Set("raise_exception", Value::Func([](const CallArgs& args) -> Value {
                  const Value* m = Arg(args, 0, "message");
                  Fail("the template raised an error: " + (m != nullptr ? ToStr(*m) : std::string()));
                }));
    globals.Set("namespace", Value::Func([](const CallArgs& args) {
                  ValueDict attributes;
                  for (const Value& v : args.positional) {
                    if (v.kind() != Kind::kDict) Fail("namespace(): positional arguments must be dicts");
                    for (const auto& [k, item] : v.dict().entries) attributes.Set(k, item);
                  }
                  for (const auto& [k, item] : args.keyword) attributes.Set(k, item);
                  return Value::Namespace(std::move(attributes));
                }));
    globals.Set("dict", Value::Func([](const CallArgs& args) {
                  ValueDict d;
                  for (const auto& [k, item] : args.keyword) d.Set(k, item);
                  return Value(std::move(d));
                }));
    globals.Set("range", Value::Func([this](const CallArgs& args) {
                  Value r = Range(args);
                  Step(static_cast<int64_t>(r.list().size()));  // building it costs as much as walking it
                  return r;
                }));
    const std::time_t now = options.now;
    globals.Set("strftime_now",
                Value::Func([now](const CallArgs& args) { return StrftimeNow(args, now); }));
    for (const auto& [k, v] : context.entries) globals.Set(k, v);
    frames_.push_back(std::move(globals));
    frames_.emplace_back();  // the template's own top-level variables
  }

  std::string Run(const Body& body) {
    std::string result;
    out_ = &result;
    Exec(body);
    return result;
  }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  void Step(int64_t n = 1) {
    steps_ += n;
    if (steps_ > options_.max_steps) {
      Fail("more than " + std::to_string(options_.max_steps) + " loop iterations and macro calls");
    }
  }

  void Write(std::string_view s) {
    if (out_->size() + s.size() > options_.max_output_bytes) {
      Fail("the rendered text exceeds " + std::to_string(options_.max_output_bytes) + " bytes");
    }
    out_->append(s);
  }

  Flow Exec(const Body& body) {
    for (const StmtPtr& s : body) {
      const Flow flow = ExecAt(*s);
      if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

  // Errors without a place get this statement's.
  Flow ExecAt(const Stmt& s) {
    try {
      return ExecStmt(s);
    } catch (TemplateError& e) {
      if (e.line == 0) {
        e.line = s.line;
        e.column = s.column;
      }
      throw;
    }
  }

  Flow ExecStmt(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::kText: Write(s.text); return Flow::kNormal;
      case StmtKind::kOutput: {
        const Value v = Eval(*s.expr);
        Write(ToStr(v));
        return Flow::kNormal;
      }
      case StmtKind::kIf:
        for (size_t i = 0; i < s.bodies.size(); ++i) {
          if (i == s.conditions.size() || Truthy(Eval(*s.conditions[i]))) return Exec(s.bodies[i]);
        }
        return Flow::kNormal;
      case StmtKind::kFor: ExecFor(s); return Flow::kNormal;
      case StmtKind::kSet: ExecSet(s); return Flow::kNormal;
      case StmtKind::kBreak: return Flow::kBreak;
      case StmtKind::kContinue: return Flow::kContinue;
      case StmtKind::kMacro: {
        const Stmt* macro = &s;
        frames_.back().Set(s.text, Value::Func([this, macro](const CallArgs& args) {
                             return CallMacro(*macro, args);
                           }));
        return Flow::kNormal;
      }
      case StmtKind::kPassThrough: return Exec(s.bodies[0]);
    }
    return Flow::kNormal;
  }

  std::string Capture(const Body& body) {
    std::string captured;
    std::string* saved = out_;
    out_ = &captured;
    Exec(body);
    out_ = saved;
    return captured;
  }

  void ExecSet(const Stmt& s) {
    Value v = s.expr ? Eval(*s.expr) : Value(Capture(s.bodies[0]));
    if (s.text.empty()) {
      frames_.back().Set(s.targets[0], std::move(v));
      return;
    }
    const Value ns = Lookup(s.targets[0]);
    if (ns.kind() != Kind::kNamespace) {
      Fail("cannot assign attribute '" + s.text + "' on '" + s.targets[0] + "' (a " +
           TypeName(ns) + ", not a namespace())");
    }
    ns.namespace_dict().Set(s.text, std::move(v));
  }

  ValueDict Bind(const Stmt& s, const Value& item) {
    ValueDict frame;
    if (s.targets.size() == 1) {
      frame.Set(s.targets[0], item);
      return frame;
    }
    if (!item.is_list() || item.list().size() != s.targets.size()) {
      Fail("cannot unpack " + TypeName(item) + " into " + std::to_string(s.targets.size()) +
           " loop variables");
    }
    for (size_t i = 0; i < s.targets.size(); ++i) frame.Set(s.targets[i], item.list()[i]);
    return frame;
  }

  void ExecFor(const Stmt& s) {
    const Value iterable = Eval(*s.expr);
    if (iterable.is_none() || iterable.kind() == Kind::kNamespace || iterable.is_number() ||
        iterable.kind() == Kind::kFunction) {
      Fail("'" + TypeName(iterable) + "' object is not iterable");
    }
    ValueList items = Items(iterable);
    if (s.filter) {
      ValueList kept;
      for (Value& item : items) {
        Step();
        frames_.push_back(Bind(s, item));
        const bool keep = Truthy(Eval(*s.filter));
        frames_.pop_back();
        if (keep) kept.push_back(std::move(item));
      }
      items = std::move(kept);
    }
    if (items.empty()) {
      if (s.bodies.size() > 1) Exec(s.bodies[1]);
      return;
    }
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      Step();
      ValueDict frame = Bind(s, items[static_cast<size_t>(i)]);
      ValueDict loop;
      loop.Set("index", i + 1);
      loop.Set("index0", i);
      loop.Set("revindex", n - i);
      loop.Set("revindex0", n - i - 1);
      loop.Set("first", i == 0);
      loop.Set("last", i == n - 1);
      loop.Set("length", n);
      loop.Set("depth", 1);
      loop.Set("depth0", 0);
      loop.Set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value::Undefined("there is no previous item"));
      loop.Set("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::Undefined("there is no next item"));
      loop.Set("cycle", Value::Func([i](const CallArgs& args) {
                 if (args.positional.empty()) Fail("loop.cycle(): needs at least one value");
                 return args.positional[static_cast<size_t>(i) % args.positional.size()];
               }));
      frame.Set("loop", Value(std::move(loop)));
      frames_.push_back(std::move(frame));
      const Flow flow = Exec(s.bodies[0]);
      frames_.pop_back();
      if (flow == Flow::kBreak) break;
    }
  }

  Value CallMacro(const Stmt& m, const CallArgs& args) {
    if (args.positional.size() > m.targets.size()) {
      Fail("macro '" + m.text + "' takes " + std::to_string(m.targets.size()) + " arguments, got " +
           std::to_string(args.positional.size()));
    }
    if (macro_depth_ >= kMaxMacroDepth) Fail("macro calls nested deeper than 32");
    Step();
    // A macro sees the globals, the template's top level and its parameters.
    std::vector<ValueDict> saved = std::move(frames_);
    frames_ = {saved[0], saved[1], ValueDict{}};
    for (size_t i = 0; i < m.targets.size(); ++i) {
      const Value* given = Arg(args, i, m.targets[i].c_str());
      frames_.back().Set(m.targets[i], given != nullptr ? *given
                                       : m.conditions[i] ? Eval(*m.conditions[i])
                                                         : Value::Undefined("'" + m.targets[i] + "' is undefined"));
    }
    ++macro_depth_;
    std::string text = Capture(m.bodies[0]);
    --macro_depth_;
    frames_ = std::move(saved);
    return text;
  }

  Value Lookup(const std::string& name) const {
    for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
      if (const Value* v = it->Find(name)) return *v;
    }
    return Value::Undefined("'" + name + "' is undefined");
  }

  CallArgs EvalArgs(const Expr& e, size_t first) {
    CallArgs args;
    for (size_t i = first; i < e.args.size(); ++i) args.positional.push_back(Eval(*e.args[i]));
    for (const auto& [name, arg] : e.kwargs) args.keyword.emplace_back(name, Eval(*arg));
    return args;
  }

  Value Eval(const Expr& e) {
    try {
      return EvalExpr(e);
    } catch (TemplateError& err) {
      if (err.line == 0) {
        err.line = e.line;
        err.column = e.column;
      }
      throw;
    }
  }

  Value EvalExpr(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kLiteral: return e.value;
      case ExprKind::kName: return Lookup(e.name);
      case ExprKind::kList: {
        ValueList items;
        for (const ExprPtr& item : e.args) items.push_back(Eval(*item));
        return Value(std::move(items), e.is_tuple);
      }
      case ExprKind::kDict: {
        ValueDict d;
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          Value key = Eval(*e.args[i]);
          if (!key.is_string() && !key.is_number() && !key.is_none()) {
            Fail("unhashable type: '" + TypeName(key) + "' as a dict key");
          }
          d.Set(std::move(key), Eval(*e.args[i + 1]));
        }
        return Value(std::move(d));
      }
      case ExprKind::kAttr: return GetAttr(Eval(*e.args[0]), e.name);
      case ExprKind::kItem: {
        const Value object = Eval(*e.args[0]);
        return GetItem(object, Eval(*e.args[1]));
      }
      case ExprKind::kSlice: {
        const Value object = Eval(*e.args[0]);
        std::optional<int64_t> bounds[3];
        for (int i = 0; i < 3; ++i) {
          if (e.args[i + 1]) bounds[i] = SliceBound(Eval(*e.args[i + 1]));
        }
        return GetSlice(object, bounds[0], bounds[1], bounds[2]);
      }
      case ExprKind::kCall: {
        const Value callee = Eval(*e.args[0]);
        if (callee.is_undefined()) FailUndefined(callee);
        if (callee.kind() != Kind::kFunction) Fail("'" + TypeName(callee) + "' object is not callable");
        return callee.function()(EvalArgs(e, 1));
      }
      case ExprKind::kFilter: {
        const Value input = Eval(*e.args[0]);
        return ApplyFilter(e.name, input, EvalArgs(e, 1), options_.max_output_bytes);
      }
      case ExprKind::kTest: {
        const Value input = Eval(*e.args[0]);
        return ApplyTest(e.name, input, EvalArgs(e, 1)) != e.negated;
      }
      case ExprKind::kUnary: return UnaryOp(e.name, Eval(*e.args[0]));
      case ExprKind::kBinary: {
        const Value a = Eval(*e.args[0]);
        return BinaryOp(e.name, a, Eval(*e.args[1]), options_.max_output_bytes);
      }
      case ExprKind::kAnd: {
        Value a = Eval(*e.args[0]);
        return Truthy(a) ? Eval(*e.args[1]) : a;
      }
      case ExprKind::kOr: {
        Value a = Eval(*e.args[0]);
        return Truthy(a) ? a : Eval(*e.args[1]);
      }
      case ExprKind::kCondition:
        if (Truthy(Eval(*e.args[0]))) return Eval(*e.args[1]);
        return e.args[2] ? Eval(*e.args[2]) : Value::Undefined("the condition was false and there is no else");
    }
    return Value();
  }

  const RenderOptions& options_;
  std::vector<ValueDict> frames_;  // [0]: globals and context; [1]: the template's top level
  std::string* out_ = nullptr;
  int macro_depth_ = 0;
  int64_t steps_ = 0;
};

}  // namespace

std::string RenderBody(const Body& body, const ValueDict& context, const RenderOptions& options) {
  return Renderer(context, options).Run(body);
}

}  // namespace quest::jinja
