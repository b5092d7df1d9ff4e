// The check language: precedence, types, errors with columns, unknown variables.
#include "lessons/expression.h"

#include <catch2/catch.hpp>

using namespace podlab;

namespace {

bool holds(const std::string& text, const Variables& vars = {}) {
  Result<Expression> e = Expression::parse(text);
  REQUIRE(e.ok());
  REQUIRE(e->is_condition());
  Result<bool> v = e->test(vars);
  REQUIRE(v.ok());
  return *v;
}

double value(const std::string& text, const Variables& vars = {}) {
  Result<Expression> e = Expression::parse(text);
  REQUIRE(e.ok());
  Result<double> v = e->value(vars);
  REQUIRE(v.ok());
  return *v;
}

std::string parse_error(const std::string& text) {
  Result<Expression> e = Expression::parse(text);
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().code() == StatusCode::kConfig);
  return e.status().message();
}

}  // namespace

TEST_CASE("expression: arithmetic follows the usual precedence", "[lessons][expression]") {
  CHECK(value("1 + 2 * 3") == 7);
  CHECK(value("(1 + 2) * 3") == 9);
  CHECK(value("10 - 4 - 3") == 3);  // left-associative
  CHECK(value("8 / 4 / 2") == 1);
  CHECK(value("-2 * -3") == 6);
  CHECK(value("1e-3 * 5e3") == Approx(5));
  CHECK(value(".5 + 0.25") == 0.75);
}

TEST_CASE("expression: comparisons, and, or, not", "[lessons][expression]") {
  const Variables v{
      {"test_accuracy", 0.885}, {"exit_code", 0}, {"ps_tasks.floats.max", 100}, {"ps_tasks.floats.min", 95}};
  CHECK(holds("test_accuracy >= 0.88", v));
  CHECK_FALSE(holds("test_accuracy >= 0.89", v));
  CHECK(holds("exit_code == 0 and test_accuracy > 0.5", v));
  CHECK(holds("ps_tasks.floats.max / ps_tasks.floats.min < 1.1", v));
  CHECK(holds("exit_code != 0 or test_accuracy < 1", v));
  CHECK(holds("not exit_code != 0", v));
  CHECK(holds("exit_code == 0 && !(test_accuracy < 0.5) || exit_code == 1", v));
  CHECK(holds("1 < 2 or 1 < 0 and 1 > 2"));  // and binds tighter than or
  CHECK_FALSE(holds("(1 < 2 or 1 < 0) and 1 > 2"));
  CHECK(holds("2 <= 2 and 2 >= 2 and 3 > 2 and 1 < 2 and 1 != 2"));
}

TEST_CASE("expression: and/or short-circuit before reading an unknown name", "[lessons][expression]") {
  CHECK_FALSE(holds("1 > 2 and missing > 0"));
  CHECK(holds("1 < 2 or missing > 0"));
}

TEST_CASE("expression: names lists every variable read", "[lessons][expression]") {
  Result<Expression> e = Expression::parse("b.x > a and a < 3 * c.0.y");
  REQUIRE(e.ok());
  CHECK(e->names() == std::vector<std::string>{"a", "b.x", "c.0.y"});
  CHECK(e->text() == "b.x > a and a < 3 * c.0.y");
}

TEST_CASE("expression: syntax errors name the column", "[lessons][expression]") {
  CHECK_THAT(parse_error("test_accuracy >= "),
             Catch::Contains("column 18") && Catch::Contains("expected a number or a name"));
  CHECK_THAT(parse_error("a = 1"), Catch::Contains("column 3") && Catch::Contains("'=='"));
  CHECK_THAT(parse_error("(a > 1"), Catch::Contains("expected ')'"));
  CHECK_THAT(parse_error("a > 1)"), Catch::Contains("unexpected ')'"));
  CHECK_THAT(parse_error("a $ 1"), Catch::Contains("column 3") && Catch::Contains("unexpected character '$'"));
  CHECK_THAT(parse_error("1 < a < 3"), Catch::Contains("do not chain"));
  CHECK_THAT(parse_error("a. > 1"), Catch::Contains("cannot end with '.'"));
  CHECK_THAT(parse_error("3x > 1"), Catch::Contains("malformed number"));
  CHECK_THAT(parse_error("   "), Catch::Contains("empty"));
  CHECK_THAT(parse_error("import os"), Catch::Contains("unexpected 'os'"));
}

TEST_CASE("expression: numbers and truth values do not mix", "[lessons][expression]") {
  CHECK_THAT(parse_error("a and b > 1"), Catch::Contains("'and' needs a comparison"));
  CHECK_THAT(parse_error("a > 1 and b"), Catch::Contains("'and' needs a comparison"));
  CHECK_THAT(parse_error("(a > 1) + 1 > 0"), Catch::Contains("needs numbers"));
  CHECK_THAT(parse_error("not a"), Catch::Contains("'not' needs a comparison"));
  CHECK_THAT(parse_error("-(a > 1) < 0"), Catch::Contains("'-' needs a number"));
  Result<Expression> numeric = Expression::parse("a + 1");
  REQUIRE(numeric.ok());
  CHECK_FALSE(numeric->is_condition());
}

TEST_CASE("expression: evaluation errors", "[lessons][expression]") {
  const Variables v{{"test_accuracy", 0.9}, {"test_loss", 0.3}, {"zero", 0}};
  Result<Expression> unknown = Expression::parse("test_acuracy > 0.8");
  REQUIRE(unknown.ok());
  Result<bool> r = unknown->test(v);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(),
             Catch::Contains("unknown variable 'test_acuracy'") && Catch::Contains("closest known: test_accuracy"));
  Result<Expression> div = Expression::parse("test_loss / zero < 1");
  REQUIRE(div.ok());
  Result<bool> d = div->test(v);
  REQUIRE_FALSE(d.ok());
  CHECK_THAT(d.status().message(), Catch::Contains("division by zero"));
}
