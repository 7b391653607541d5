// Recursive-descent parser for the statements and expressions chat templates
// use.
#include "src/tokenizer/jinja/parser.h"

#include <string_view>

#include "src/tokenizer/jinja/error.h"

namespace quest::jinja {
namespace {

// Deep enough for any real template; bounds the recursion on hostile input.
constexpr int kMaxNesting = 200;

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : tokens_(tokens) {}

  Body Run() {
    std::string end;
    Body body = ParseBody({}, "", &end);
    return body;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    const size_t i = pos_ + ahead;
    return i < tokens_.size() ? tokens_[i] : tokens_.back();
  }
  const Token& Next() {
    const Token& t = Peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool IsOp(std::string_view op, size_t ahead = 0) const {
    return Peek(ahead).kind == Tok::kOperator && Peek(ahead).text == op;
  }
  bool IsName(std::string_view name, size_t ahead = 0) const {
    return Peek(ahead).kind == Tok::kName && Peek(ahead).text == name;
  }
  bool AcceptOp(std::string_view op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool AcceptName(std::string_view name) {
    if (!IsName(name)) return false;
    Next();
    return true;
  }

  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Tok::kText: return "text";
      case Tok::kVarBegin: return "'{{'";
      case Tok::kVarEnd: return "'}}'";
      case Tok::kBlockBegin: return "'{%'";
      case Tok::kBlockEnd: return "'%}'";
      case Tok::kString: return "a string";
      case Tok::kInt:
      case Tok::kFloat: return "number " + t.text;
      case Tok::kEnd: return "the end of the template";
      default: return "'" + t.text + "'";
    }
  }

  [[noreturn]] void Unexpected(const std::string& expected) const {
    FailAt(Peek().line, Peek().column, "expected " + expected + ", found " + Describe(Peek()));
  }
  void ExpectOp(std::string_view op) {
    if (!AcceptOp(op)) Unexpected("'" + std::string(op) + "'");
  }
  void Expect(Tok kind, const char* what) {
    if (Peek().kind != kind) Unexpected(what);
    Next();
  }
  std::string ExpectName(const char* what) {
    if (Peek().kind != Tok::kName) Unexpected(what);
    return Next().text;
  }

  // Statements until a {% name %} with name in `ends` (its name consumed, the
  // rest of its tag not): `*end` says which. `opener` names the block for the
  // error at the end of the template.
  Body ParseBody(const std::vector<std::string_view>& ends, const std::string& opener,
                 std::string* end) {
    Body body;
    while (true) {
      const Token& t = Peek();
      if (t.kind == Tok::kEnd) {
        if (ends.empty()) return body;
        FailAt(t.line, t.column, "unexpected end of template: " + opener + " needs '{% " +
                                     std::string(ends.back()) + " %}'");
      }
      if (t.kind == Tok::kText) {
        auto s = NewStmt(StmtKind::kText, t);
        s->text = t.text;
        body.push_back(std::move(s));
        Next();
      } else if (t.kind == Tok::kVarBegin) {
        auto s = NewStmt(StmtKind::kOutput, t);
        Next();
        s->expr = ParseExpression();
        Expect(Tok::kVarEnd, "'}}'");
        body.push_back(std::move(s));
      } else if (t.kind == Tok::kBlockBegin) {
        Next();
        const Token& name = Peek();
        if (name.kind != Tok::kName) Unexpected("a statement name after '{%'");
        for (std::string_view e : ends) {
          if (name.text == e) {
            *end = name.text;
            Next();
            return body;
          }
        }
        body.push_back(ParseStatement());
      } else {
        Unexpected("text, '{{' or '{%'");
      }
    }
  }

  static StmtPtr NewStmt(StmtKind kind, const Token& at) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = at.line;
    s->column = at.column;
    return s;
  }

  StmtPtr ParseStatement() {
    DepthGuard guard(this);
    const Token& name = Next();
    const std::string& n = name.text;
    if (n == "if") return ParseIf(name);
    if (n == "for") return ParseFor(name);
    if (n == "set") return ParseSet(name);
    if (n == "macro") return ParseMacro(name);
    if (n == "break" || n == "continue") {
      auto s = NewStmt(n == "break" ? StmtKind::kBreak : StmtKind::kContinue, name);
      Expect(Tok::kBlockEnd, "'%}'");
      return s;
    }
    if (n == "generation") {  // transformers' marker of assistant text; renders its body
      auto s = NewStmt(StmtKind::kPassThrough, name);
      Expect(Tok::kBlockEnd, "'%}'");
      std::string end;
      s->bodies.push_back(ParseBody({"endgeneration"}, "'{% generation %}'", &end));
      Expect(Tok::kBlockEnd, "'%}'");
      return s;
    }
    FailAt(name.line, name.column, "unsupported or unknown tag '" + n + "'");
  }

  StmtPtr ParseIf(const Token& at) {
    auto s = NewStmt(StmtKind::kIf, at);
    std::string end = "elif";
    while (end == "elif") {
      s->conditions.push_back(ParseExpression());
      Expect(Tok::kBlockEnd, "'%}'");
      s->bodies.push_back(ParseBody({"elif", "else", "endif"}, "'{% if %}'", &end));
    }
    if (end == "else") {
      Expect(Tok::kBlockEnd, "'%}'");
      s->bodies.push_back(ParseBody({"endif"}, "'{% if %}'", &end));
    }
    Expect(Tok::kBlockEnd, "'%}'");
    return s;
  }

  StmtPtr ParseFor(const Token& at) {
    auto s = NewStmt(StmtKind::kFor, at);
    const bool parenthesized = AcceptOp("(");
    do {
      s->targets.push_back(ExpectName("a loop variable name"));
    } while (AcceptOp(","));
    if (parenthesized) ExpectOp(")");
    if (!AcceptName("in")) Unexpected("'in'");
    s->expr = ParseOr();  // no `x if c else y` here: `if` filters the items
    if (AcceptName("if")) s->filter = ParseOr();
    if (IsName("recursive")) FailAt(Peek().line, Peek().column, "recursive loops are not supported");
    Expect(Tok::kBlockEnd, "'%}'");
    std::string end;
    s->bodies.push_back(ParseBody({"else", "endfor"}, "'{% for %}'", &end));
    if (end == "else") {
      Expect(Tok::kBlockEnd, "'%}'");
      s->bodies.push_back(ParseBody({"endfor"}, "'{% for %}'", &end));
    }
    Expect(Tok::kBlockEnd, "'%}'");
    return s;
  }

  StmtPtr ParseSet(const Token& at) {
    auto s = NewStmt(StmtKind::kSet, at);
    s->targets.push_back(ExpectName("a variable name after 'set'"));
    if (AcceptOp(".")) s->text = ExpectName("an attribute name");
    if (AcceptOp("=")) {
      s->expr = ParseExpression();
      Expect(Tok::kBlockEnd, "'%}'");
      return s;
    }
    if (!s->text.empty()) Unexpected("'='");
    Expect(Tok::kBlockEnd, "'=' or '%}'");
    std::string end;
    s->bodies.push_back(ParseBody({"endset"}, "'{% set %}'", &end));
    Expect(Tok::kBlockEnd, "'%}'");
    return s;
  }

  StmtPtr ParseMacro(const Token& at) {
    auto s = NewStmt(StmtKind::kMacro, at);
    s->text = ExpectName("a macro name");
    ExpectOp("(");
    while (!IsOp(")")) {
      s->targets.push_back(ExpectName("a parameter name"));
      s->conditions.push_back(AcceptOp("=") ? ParseExpression() : nullptr);
      if (!AcceptOp(",")) break;
    }
    ExpectOp(")");
    Expect(Tok::kBlockEnd, "'%}'");
    std::string end;
    s->bodies.push_back(ParseBody({"endmacro"}, "'{% macro %}'", &end));
    Expect(Tok::kBlockEnd, "'%}'");
    return s;
  }

  // ---- expressions, loosest binding first ----

  ExprPtr NewExpr(ExprKind kind, const Token& at) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = at.line;
    e->column = at.column;
    return e;
  }
  ExprPtr Binary(ExprKind kind, const Token& at, std::string op, ExprPtr a, ExprPtr b) {
    auto e = NewExpr(kind, at);
    e->name = std::move(op);
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p(p) {
      if (++p->depth_ > kMaxNesting) {
        FailAt(p->Peek().line, p->Peek().column, "expression nested too deeply");
      }
    }
    ~DepthGuard() { --p->depth_; }
    Parser* p;
  };
  // A left-associative chain (a + b + c, x.y[0].z, v | f | g) nests one node
  // deeper per link: counted as nesting too, so evaluating stays shallow.
  struct ChainGuard {
    explicit ChainGuard(Parser* p) : p(p) {}
    void Link() {
      ++links;
      if (++p->depth_ > kMaxNesting) {
        FailAt(p->Peek().line, p->Peek().column, "expression nested too deeply");
      }
    }
    ~ChainGuard() { p->depth_ -= links; }
    Parser* p;
    int links = 0;
  };

  ExprPtr ParseExpression() {
    DepthGuard guard(this);
    const Token& at = Peek();
    ExprPtr e = ParseOr();
    if (!AcceptName("if")) return e;
    auto c = NewExpr(ExprKind::kCondition, at);
    c->args.push_back(ParseOr());
    c->args.push_back(std::move(e));
    c->args.push_back(AcceptName("else") ? ParseExpression() : nullptr);
    return c;
  }

  ExprPtr ParseOr() {
    ExprPtr e = ParseAnd();
    ChainGuard chain(this);
    while (IsName("or")) {
      chain.Link();
      const Token& at = Next();
      e = Binary(ExprKind::kOr, at, "or", std::move(e), ParseAnd());
    }
    return e;
  }

  ExprPtr ParseAnd() {
    ExprPtr e = ParseNot();
    ChainGuard chain(this);
    while (IsName("and")) {
      chain.Link();
      const Token& at = Next();
      e = Binary(ExprKind::kAnd, at, "and", std::move(e), ParseNot());
    }
    return e;
  }

  ExprPtr ParseNot() {
    if (IsName("not")) {
      DepthGuard guard(this);
      const Token& at = Next();
      auto e = NewExpr(ExprKind::kUnary, at);
      e->name = "not";
      e->args.push_back(ParseNot());
      return e;
    }
    return ParseCompare();
  }

  ExprPtr ParseCompare() {
    ExprPtr e = ParseMath1();
    bool compared = false;
    while (true) {
      const Token& at = Peek();
      std::string op;
      if (at.kind == Tok::kOperator &&
          (at.text == "==" || at.text == "!=" || at.text == "<" || at.text == "<=" ||
           at.text == ">" || at.text == ">=")) {
        op = at.text;
        Next();
      } else if (IsName("in")) {
        op = "in";
        Next();
      } else if (IsName("not") && IsName("in", 1)) {
        op = "not in";
        Next();
        Next();
      } else {
        return e;
      }
      if (compared) FailAt(at.line, at.column, "chained comparisons are not supported");
      compared = true;
      e = Binary(ExprKind::kBinary, at, op, std::move(e), ParseMath1());
    }
  }

  // Binary operator levels: + -, then ~, then * / // %, then **.
  ExprPtr ParseMath1() { return ParseLevel(0); }
  ExprPtr ParseLevel(int level) {
    static const std::vector<std::vector<std::string_view>> kLevels = {
        {"+", "-"}, {"~"}, {"*", "/", "//", "%"}, {"**"}};
    if (level == static_cast<int>(kLevels.size())) return ParseUnary(true);
    ExprPtr e = ParseLevel(level + 1);
    ChainGuard chain(this);
    while (true) {
      const Token& at = Peek();
      bool match = false;
      for (std::string_view op : kLevels[level]) match = match || IsOp(op);
      if (!match) return e;
      chain.Link();
      Next();
      e = Binary(ExprKind::kBinary, at, at.text, std::move(e), ParseLevel(level + 1));
    }
  }

  ExprPtr ParseUnary(bool with_filter) {
    DepthGuard guard(this);
    const Token& at = Peek();
    ExprPtr e;
    if (IsOp("-") || IsOp("+")) {
      Next();
      e = NewExpr(ExprKind::kUnary, at);
      e->name = at.text;
      e->args.push_back(ParseUnary(false));
    } else {
      e = ParsePostfix(ParsePrimary());
    }
    return with_filter ? ParseFilters(std::move(e)) : std::move(e);
  }

  ExprPtr ParsePrimary() {
    const Token& t = Next();
    switch (t.kind) {
      case Tok::kName: {
        if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
          auto e = NewExpr(ExprKind::kLiteral, t);
          e->value = Value(t.text[0] == 't' || t.text[0] == 'T');
          return e;
        }
        if (t.text == "none" || t.text == "None") {
          auto e = NewExpr(ExprKind::kLiteral, t);
          e->value = Value::None();
          return e;
        }
        auto e = NewExpr(ExprKind::kName, t);
        e->name = t.text;
        return e;
      }
      case Tok::kString: {
        std::string s = t.text;
        while (Peek().kind == Tok::kString) s += Next().text;  // 'a' 'b' is 'ab'
        auto e = NewExpr(ExprKind::kLiteral, t);
        e->value = Value(std::move(s));
        return e;
      }
      case Tok::kInt:
      case Tok::kFloat: {
        auto e = NewExpr(ExprKind::kLiteral, t);
        e->value = t.kind == Tok::kInt ? Value(t.int_value) : Value(t.float_value);
        return e;
      }
      case Tok::kOperator:
        if (t.text == "(") return ParseParenthesized(t);
        if (t.text == "[") {
          auto e = NewExpr(ExprKind::kList, t);
          ParseItems("]", &e->args);
          return e;
        }
        if (t.text == "{") return ParseDict(t);
        break;
      default: break;
    }
    FailAt(t.line, t.column, "expected an expression, found " + Describe(t));
  }

  // Comma-separated expressions up to `close` (consumed); a trailing comma is fine.
  void ParseItems(std::string_view close, std::vector<ExprPtr>* items) {
    while (!AcceptOp(close)) {
      items->push_back(ParseExpression());
      if (!AcceptOp(",")) {
        ExpectOp(close);
        return;
      }
    }
  }

  ExprPtr ParseParenthesized(const Token& open) {
    if (AcceptOp(")")) {
      auto e = NewExpr(ExprKind::kList, open);
      e->is_tuple = true;
      return e;
    }
    ExprPtr first = ParseExpression();
    if (AcceptOp(")")) return first;
    ExpectOp(",");
    auto e = NewExpr(ExprKind::kList, open);
    e->is_tuple = true;
    e->args.push_back(std::move(first));
    ParseItems(")", &e->args);
    return e;
  }

  ExprPtr ParseDict(const Token& open) {
    auto e = NewExpr(ExprKind::kDict, open);
    while (!AcceptOp("}")) {
      e->args.push_back(ParseExpression());
      ExpectOp(":");
      e->args.push_back(ParseExpression());
      if (!AcceptOp(",")) {
        ExpectOp("}");
        break;
      }
    }
    return e;
  }

  // Postfix nodes are placed where their target starts: `a.b.c` fails at `a`.
  ExprPtr ParsePostfix(ExprPtr e) {
    ChainGuard chain(this);
    while (true) {
      Token at = Peek();
      at.line = e->line;
      at.column = e->column;
      chain.Link();
      if (AcceptOp(".")) {
        if (Peek().kind == Tok::kInt) {  // x.0 is x[0]
          auto item = NewExpr(ExprKind::kItem, at);
          item->args.push_back(std::move(e));
          auto index = NewExpr(ExprKind::kLiteral, Peek());
          index->value = Value(Next().int_value);
          item->args.push_back(std::move(index));
          e = std::move(item);
          continue;
        }
        auto attr = NewExpr(ExprKind::kAttr, at);
        attr->name = ExpectName("an attribute name after '.'");
        attr->args.push_back(std::move(e));
        e = std::move(attr);
      } else if (AcceptOp("[")) {
        e = ParseSubscript(at, std::move(e));
      } else if (IsOp("(")) {
        e = ParseCall(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr ParseSubscript(const Token& at, ExprPtr target) {
    ExprPtr start = IsOp(":") ? nullptr : ParseExpression();
    if (AcceptOp("]")) {
      auto e = NewExpr(ExprKind::kItem, at);
      e->args.push_back(std::move(target));
      e->args.push_back(std::move(start));
      return e;
    }
    ExpectOp(":");
    auto e = NewExpr(ExprKind::kSlice, at);
    e->args.push_back(std::move(target));
    e->args.push_back(std::move(start));
    e->args.push_back(IsOp(":") || IsOp("]") ? nullptr : ParseExpression());
    ExprPtr step;
    if (AcceptOp(":")) step = IsOp("]") ? nullptr : ParseExpression();
    e->args.push_back(std::move(step));
    ExpectOp("]");
    return e;
  }

  // `callee(args, name=value)`; also the argument list of filters.
  void ParseArguments(Expr* call) {
    ExpectOp("(");
    while (!AcceptOp(")")) {
      if (Peek().kind == Tok::kName && IsOp("=", 1)) {
        std::string name = Next().text;
        Next();
        call->kwargs.emplace_back(std::move(name), ParseExpression());
      } else {
        if (!call->kwargs.empty()) Unexpected("a keyword argument (positional after keyword)");
        call->args.push_back(ParseExpression());
      }
      if (!AcceptOp(",")) {
        ExpectOp(")");
        return;
      }
    }
  }

  ExprPtr ParseCall(ExprPtr callee) {
    auto e = NewExpr(ExprKind::kCall, Peek());
    e->line = callee->line;  // errors point at what is called
    e->column = callee->column;
    e->args.push_back(std::move(callee));
    ParseArguments(e.get());
    return e;
  }

  // `| filter(args)`, `is [not] test(args)` and calls on their results.
  ExprPtr ParseFilters(ExprPtr e) {
    ChainGuard chain(this);
    while (true) {
      const Token& at = Peek();
      chain.Link();
      if (AcceptOp("|")) {
        auto f = NewExpr(ExprKind::kFilter, at);
        f->name = ExpectName("a filter name after '|'");
        f->args.push_back(std::move(e));
        if (IsOp("(")) ParseArguments(f.get());
        e = std::move(f);
      } else if (AcceptName("is")) {
        auto t = NewExpr(ExprKind::kTest, at);
        t->negated = AcceptName("not");
        t->name = ExpectName("a test name after 'is'");
        t->args.push_back(std::move(e));
        if (IsOp("(")) {
          ParseArguments(t.get());
        } else if (StartsTestArgument()) {
          t->args.push_back(ParsePostfix(ParsePrimary()));  // `is divisibleby 3`
        }
        e = std::move(t);
      } else if (IsOp("(")) {
        e = ParseCall(std::move(e));
      } else {
        return e;
      }
    }
  }

  bool StartsTestArgument() const {
    const Token& t = Peek();
    if (t.kind == Tok::kString || t.kind == Tok::kInt || t.kind == Tok::kFloat) return true;
    if (t.kind == Tok::kName) {
      return t.text != "else" && t.text != "or" && t.text != "and" && t.text != "if" &&
             t.text != "in" && t.text != "not" && t.text != "is";
    }
    return IsOp("[") || IsOp("{");
  }

  const std::vector<Token>& tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Body Parse(const std::vector<Token>& tokens) { return Parser(tokens).Run(); }

}  // namespace quest::jinja
