// A small, safe expression language for lesson checks: numbers, variables, + - * /, comparisons
// (< <= > >= == !=), `and`, `or`, `not` and parentheses. Nothing else: no calls, no assignment,
// no strings, so a lesson file cannot make the runner do anything but arithmetic.
//
//   test_accuracy >= 0.88
//   ps_tasks.floats.max / ps_tasks.floats.min < 1.1 and exit_code == 0
//
// Grammar (lowest precedence first; `&&`, `||` and `!` are accepted as spellings of and/or/not):
//   or      := and ("or" and)*
//   and     := not ("and" not)*
//   not     := "not" not | compare
//   compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
//   sum     := product (("+" | "-") product)*
//   product := unary (("*" | "/") unary)*
//   unary   := "-" unary | primary
//   primary := NUMBER | NAME | "(" or ")"
// NUMBER is a decimal such as 3, 0.88, 1e-3, 5e9. NAME is [A-Za-z_][A-Za-z0-9_.]*, e.g. `exit_code`,
// `start.parameters`, `ps_tasks.0.applied`. Values are numbers or truth values, and the two do not mix:
// `1 and x > 0` is a type error, found when parsing. A check must produce a truth value.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/status.h"

namespace podlab {

// Values the checks can read, by name.
using Variables = std::map<std::string, double>;

class Expression {
 public:
  // Parses `text`. Errors (Status::Config) name the column, e.g. "column 15: expected a number or a
  // name, found ')'".
  static Result<Expression> parse(const std::string& text);

  // True when the expression yields a truth value (a comparison or and/or/not of comparisons).
  bool is_condition() const;

  // Evaluates a condition. Errors: a variable not in `vars` (the message lists close names), division
  // by zero, or a non-finite intermediate value.
  Result<bool> test(const Variables& vars) const;
  // Evaluates a numeric expression (a truth value evaluates to 1 or 0).
  Result<double> value(const Variables& vars) const;

  // The variable names the expression reads, sorted, without duplicates.
  std::vector<std::string> names() const;
  const std::string& text() const { return text_; }

  struct Node;  // the syntax tree (defined in expression.cpp)

 private:
  std::string text_;
  std::shared_ptr<const Node> root_;  // immutable once parsed, so copies may share it
};

}  // namespace podlab
