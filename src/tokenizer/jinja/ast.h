// The syntax tree of a parsed template: expressions and statements, each
// with the line and column errors name.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "src/tokenizer/jinja/value.h"

namespace quest::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  kLiteral,    // value
  kName,       // name
  kList,       // args = items (is_tuple for tuples)
  kDict,       // args = key, value, key, value, ...
  kAttr,       // args[0].name
  kItem,       // args[0][args[1]]
  kSlice,      // args[0][args[1]:args[2]:args[3]], absent parts null
  kCall,       // args[0](args[1:], kwargs)
  kFilter,     // args[0] | name(args[1:], kwargs)
  kTest,       // args[0] is [not] name(args[1:]); negated
  kUnary,      // op args[0]: "not", "-", "+"
  kBinary,     // args[0] op args[1]: arithmetic, comparison, "in", "not in", "~"
  kAnd,        // args[0] and args[1] (short-circuit)
  kOr,         // args[0] or args[1]
  kCondition,  // args[1] if args[0] else args[2] (args[2] null: undefined)
};

struct Expr {
  ExprKind kind;
  int line = 0;
  int column = 0;
  Value value;       // kLiteral
  std::string name;  // kName, kAttr, kFilter, kTest: the name; kUnary, kBinary: the operator
  bool negated = false;
  bool is_tuple = false;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class StmtKind {
  kText,      // text
  kOutput,    // {{ expr }}
  kIf,        // conditions[i] -> bodies[i]; bodies.back() is else when one longer
  kFor,       // for targets in expr [if filter]: bodies[0], else bodies[1]
  kSet,       // set targets[0][.attribute] = expr, or {% set x %}bodies[0]{% endset %}
  kBreak,
  kContinue,
  kMacro,     // macro name(targets, defaults) bodies[0]
  kPassThrough,  // {% generation %} and other blocks that only render their body
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  int column = 0;
  std::string text;       // kText; kSet: attribute of a namespace; kMacro: its name
  ExprPtr expr;           // kOutput, kFor (iterable), kSet (value)
  ExprPtr filter;         // kFor: `if` after the iterable
  std::vector<std::string> targets;  // kFor: loop variables; kSet: the name; kMacro: parameters
  std::vector<ExprPtr> conditions;   // kIf; kMacro: parameter defaults (null: none)
  std::vector<Body> bodies;
};

}  // namespace quest::jinja
