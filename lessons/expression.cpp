// Recursive-descent parser and tree evaluator for lesson checks. Types (number or truth value) are
// checked while parsing, so a lesson with `accuracy and 1` fails when it is loaded, not when it runs.
#include "lessons/expression.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

namespace podlab {

struct Expression::Node {
  enum class Kind { kNumber, kName, kNeg, kNot, kBinary };
  Kind kind = Kind::kNumber;
  double number = 0;
  std::string name;  // kName; kBinary: the operator ("+", "<=", "and", ...)
  std::shared_ptr<const Node> left, right;
  bool is_bool = false;  // the node yields a truth value
};

namespace {

using NodePtr = std::shared_ptr<const Expression::Node>;
using Node = Expression::Node;

struct Token {
  enum class Kind { kNumber, kName, kOp, kEnd } kind;
  std::string text;
  double number = 0;
  size_t column = 0;  // 1-based
};

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }

bool is_comparison(const Token& t) {
  static const std::set<std::string> kOps = {"<", "<=", ">", ">=", "==", "!="};
  return t.kind == Token::Kind::kOp && kOps.count(t.text) > 0;
}

std::string at(size_t column) { return "column " + std::to_string(column) + ": "; }

Result<std::vector<Token>> tokenize(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    const size_t col = i + 1;
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      const char* begin = s.c_str() + i;
      char* end = nullptr;
      const double v = std::strtod(begin, &end);
      const size_t n = static_cast<size_t>(end - begin);
      if (n == 0 || (i + n < s.size() && is_name_start(s[i + n])))
        return Status::Config(at(col) + "malformed number '" + s.substr(i, n + 1) + "'");
      out.push_back({Token::Kind::kNumber, s.substr(i, n), v, col});
      i += n;
      continue;
    }
    if (is_name_start(c)) {
      size_t j = i;
      while (j < s.size() && is_name_char(s[j])) ++j;
      std::string word = s.substr(i, j - i);
      if (word.back() == '.') return Status::Config(at(col) + "a name cannot end with '.': '" + word + "'");
      const bool op = word == "and" || word == "or" || word == "not";
      out.push_back({op ? Token::Kind::kOp : Token::Kind::kName, word, 0, col});
      i = j;
      continue;
    }
    static const char* kTwo[] = {"<=", ">=", "==", "!=", "&&", "||"};
    bool matched = false;
    for (const char* two : kTwo) {
      if (s.compare(i, 2, two) == 0) {
        std::string t = two;
        if (t == "&&") t = "and";
        if (t == "||") t = "or";
        out.push_back({Token::Kind::kOp, t, 0, col});
        i += 2;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (std::string("+-*/<>()!").find(c) != std::string::npos) {
      out.push_back({Token::Kind::kOp, c == '!' ? "not" : std::string(1, c), 0, col});
      ++i;
      continue;
    }
    if (c == '=') return Status::Config(at(col) + "'=' is not an operator; write '==' to compare");
    return Status::Config(at(col) + "unexpected character '" + std::string(1, c) +
                          "' (checks allow numbers, names, + - * /, comparisons, and, or, not, parentheses)");
  }
  out.push_back({Token::Kind::kEnd, "end of the check", 0, s.size() + 1});
  return out;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Result<NodePtr> parse_all() {
    Result<NodePtr> e = parse_or();
    if (!e.ok()) return e;
    if (peek().kind != Token::Kind::kEnd)
      return Status::Config(at(peek().column) + "unexpected '" + peek().text + "' after a complete expression");
    return e;
  }

 private:
  const Token& peek() const { return t_[pos_]; }
  bool accept(const char* op) {
    if (peek().kind == Token::Kind::kOp && peek().text == op) {
      ++pos_;
      return true;
    }
    return false;
  }

  static NodePtr binary(const std::string& op, NodePtr l, NodePtr r, bool is_bool) {
    auto n = std::make_shared<Node>();
    n->kind = Node::Kind::kBinary;
    n->name = op;
    n->left = std::move(l);
    n->right = std::move(r);
    n->is_bool = is_bool;
    return n;
  }

  // Parses one operand of `op` that must (want_bool) or must not yield a truth value.
  Result<NodePtr> operand(Result<NodePtr> (Parser::*rule)(), bool want_bool, const std::string& op) {
    const size_t col = peek().column;
    Result<NodePtr> r = (this->*rule)();
    if (!r.ok()) return r;
    if ((*r)->is_bool != want_bool)
      return Status::Config(at(col) + "'" + op + "' needs " + (want_bool ? "a comparison" : "a number") +
                            " here, not " + (want_bool ? "a number" : "a comparison"));
    return r;
  }

  Result<NodePtr> parse_or() { return logical("or", &Parser::parse_and); }
  Result<NodePtr> parse_and() { return logical("and", &Parser::parse_not); }

  Result<NodePtr> logical(const char* op, Result<NodePtr> (Parser::*next)()) {
    const size_t col = peek().column;
    Result<NodePtr> left = (this->*next)();
    if (!left.ok()) return left;
    NodePtr l = *left;
    while (peek().kind == Token::Kind::kOp && peek().text == op) {
      if (!l->is_bool) return Status::Config(at(col) + "'" + op + "' needs a comparison here, not a number");
      ++pos_;
      Result<NodePtr> r = operand(next, true, op);
      if (!r.ok()) return r;
      l = binary(op, l, *r, true);
    }
    return l;
  }

  Result<NodePtr> parse_not() {
    if (accept("not")) {
      Result<NodePtr> inner = operand(&Parser::parse_not, true, "not");
      if (!inner.ok()) return inner;
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::kNot;
      n->left = *inner;
      n->is_bool = true;
      return NodePtr(n);
    }
    return parse_compare();
  }

  Result<NodePtr> parse_compare() {
    const size_t col = peek().column;
    Result<NodePtr> left = parse_sum();
    if (!left.ok()) return left;
    static const char* kOps[] = {"<=", ">=", "==", "!=", "<", ">"};
    for (const char* op : kOps) {
      if (accept(op)) {
        if ((*left)->is_bool) return Status::Config(at(col) + "'" + op + "' compares numbers, not a comparison");
        Result<NodePtr> right = operand(&Parser::parse_sum, false, op);
        if (!right.ok()) return right;
        if (is_comparison(peek()))
          return Status::Config(at(peek().column) + "comparisons do not chain; write 'a < b and b < c'");
        return binary(op, *left, *right, true);
      }
    }
    return left;
  }

  // Left-associative chain of the one-character operators in `ops`; every operand must be a number.
  Result<NodePtr> arithmetic(const char* ops, Result<NodePtr> (Parser::*next)()) {
    const size_t col = peek().column;
    Result<NodePtr> left = (this->*next)();
    if (!left.ok()) return left;
    NodePtr l = *left;
    auto at_op = [&] {
      return peek().kind == Token::Kind::kOp && peek().text.size() == 1 &&
             std::string(ops).find(peek().text[0]) != std::string::npos;
    };
    if (at_op() && l->is_bool) return Status::Config(at(col) + "'" + peek().text + "' needs numbers, not a comparison");
    while (at_op()) {
      const std::string op = peek().text;
      ++pos_;
      Result<NodePtr> r = operand(next, false, op);
      if (!r.ok()) return r;
      l = binary(op, l, *r, false);
    }
    return l;
  }

  Result<NodePtr> parse_sum() { return arithmetic("+-", &Parser::parse_product); }
  Result<NodePtr> parse_product() { return arithmetic("*/", &Parser::parse_unary); }

  Result<NodePtr> parse_unary() {
    if (accept("-")) {
      Result<NodePtr> inner = operand(&Parser::parse_unary, false, "-");
      if (!inner.ok()) return inner;
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::kNeg;
      n->left = *inner;
      return NodePtr(n);
    }
    return parse_primary();
  }

  Result<NodePtr> parse_primary() {
    const Token& tok = peek();
    if (tok.kind == Token::Kind::kNumber || tok.kind == Token::Kind::kName) {
      auto n = std::make_shared<Node>();
      n->kind = tok.kind == Token::Kind::kNumber ? Node::Kind::kNumber : Node::Kind::kName;
      n->number = tok.number;
      n->name = tok.text;
      ++pos_;
      return NodePtr(n);
    }
    if (accept("(")) {
      Result<NodePtr> inner = parse_or();
      if (!inner.ok()) return inner;
      if (!accept(")")) return Status::Config(at(peek().column) + "expected ')', found '" + peek().text + "'");
      return inner;
    }
    return Status::Config(at(tok.column) + "expected a number or a name, found '" + tok.text + "'");
  }

  std::vector<Token> t_;
  size_t pos_ = 0;
};

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

Status unknown_variable(const std::string& name, const Variables& vars) {
  std::vector<std::pair<size_t, std::string>> close;
  for (const auto& kv : vars) close.emplace_back(edit_distance(name, kv.first), kv.first);
  std::sort(close.begin(), close.end());
  std::string msg = "unknown variable '" + name + "'";
  if (vars.empty()) return Status::Config(msg + " (the step produced no values)");
  msg += "; closest known: ";
  for (size_t i = 0; i < close.size() && i < 4; ++i) msg += (i ? ", " : "") + close[i].second;
  return Status::Config(msg + " (`podlab lesson run --vars` lists every variable of every step)");
}

Result<double> eval(const Node& n, const Variables& vars) {
  switch (n.kind) {
    case Node::Kind::kNumber:
      return n.number;
    case Node::Kind::kName: {
      auto it = vars.find(n.name);
      if (it == vars.end()) return unknown_variable(n.name, vars);
      return it->second;
    }
    case Node::Kind::kNeg: {
      Result<double> v = eval(*n.left, vars);
      if (!v.ok()) return v;
      return -*v;
    }
    case Node::Kind::kNot: {
      Result<double> v = eval(*n.left, vars);
      if (!v.ok()) return v;
      return *v != 0 ? 0.0 : 1.0;
    }
    case Node::Kind::kBinary:
      break;
  }
  Result<double> l = eval(*n.left, vars);
  if (!l.ok()) return l;
  // and/or short-circuit, so `x_known and x > 0`-style guards are not needed but also work.
  if (n.name == "and" && *l == 0) return 0.0;
  if (n.name == "or" && *l != 0) return 1.0;
  Result<double> r = eval(*n.right, vars);
  if (!r.ok()) return r;
  const double a = *l, b = *r;
  const std::string& op = n.name;
  double v = 0;
  if (op == "+")
    v = a + b;
  else if (op == "-")
    v = a - b;
  else if (op == "*")
    v = a * b;
  else if (op == "/") {
    if (b == 0) return Status::Config("division by zero");
    v = a / b;
  } else if (op == "<")
    v = a < b;
  else if (op == "<=")
    v = a <= b;
  else if (op == ">")
    v = a > b;
  else if (op == ">=")
    v = a >= b;
  else if (op == "==")
    v = a == b;
  else if (op == "!=")
    v = a != b;
  else if (op == "and" || op == "or")
    v = b != 0;
  if (!std::isfinite(v)) return Status::Config("the value of '" + op + "' is not finite");
  return v;
}

void collect_names(const Node& n, std::set<std::string>& out) {
  if (n.kind == Node::Kind::kName) out.insert(n.name);
  if (n.left) collect_names(*n.left, out);
  if (n.right) collect_names(*n.right, out);
}

}  // namespace

Result<Expression> Expression::parse(const std::string& text) {
  Result<std::vector<Token>> tokens = tokenize(text);
  if (!tokens.ok()) return tokens.status();
  if (tokens->size() == 1) return Status::Config("the check is empty");
  Parser parser(std::move(*tokens));
  Result<NodePtr> root = parser.parse_all();
  if (!root.ok()) return root.status();
  Expression e;
  e.text_ = text;
  e.root_ = *root;
  return e;
}

bool Expression::is_condition() const { return root_ && root_->is_bool; }

Result<bool> Expression::test(const Variables& vars) const {
  Result<double> v = value(vars);
  if (!v.ok()) return v.status();
  return *v != 0;
}

Result<double> Expression::value(const Variables& vars) const {
  if (!root_) return Status::Internal("evaluating an expression that was never parsed");
  return eval(*root_, vars);
}

std::vector<std::string> Expression::names() const {
  std::set<std::string> out;
  if (root_) collect_names(*root_, out);
  return {out.begin(), out.end()};
}

}  // namespace podlab
