// Op graph tests: add/matmul/relu/sub/mul/reduce_sum values against hand computation, broadcasting,
// TensorFlow-style name scopes and uniquification, shape errors at build time (and at run time for
// unknown rows), feeds, memoised evaluation, seeded variables, and the ModelGraph it describes.
#include <catch2/catch.hpp>

#include <string>

#include "engine/graph/graph.h"

namespace podlab {

namespace {
bool same(const Matrix& a, const Matrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && (a - b).cwiseAbs().maxCoeff() < 1e-6f;
}
}  // namespace

TEST_CASE("Graph ops compute the hand-worked values", "[graph]") {
  Graph g;
  Node a = g.constant(Matrix{{1, 2, 3}, {4, 5, 6}}, "a");      // (2, 3)
  Node b = g.constant(Matrix{{1, 0}, {0, 1}, {-1, -2}}, "b");  // (3, 2)
  Node c = g.constant(Matrix{{0.5f, -1, 2}, {1, 1, -7}}, "c");  // (2, 3)
  Node ab = g.matmul(a, b);   // [[1-3, 2-6], [4-6, 5-12]] = [[-2, -4], [-2, -7]]
  Node sum = g.add(a, c);     // [[1.5, 1, 5], [5, 6, -1]]
  Node r = g.relu(g.sub(c, a));  // c - a = [[-0.5, -3, -1], [-3, -4, -13]] -> all 0
  Node m = g.mul(a, c);          // [[0.5, -2, 6], [4, 5, -42]]
  Node bias = g.add(sum, g.constant(Matrix{{10, 20, 30}}));  // a row broadcast over both rows
  Node scaled = g.mul(a, g.constant(2.0f));                  // a (1, 1) scalar
  REQUIRE(g.status().ok());

  Session s(g);
  auto v = s.run({ab, sum, r, m, bias, scaled});
  REQUIRE(v.ok());
  CHECK(same((*v)[0], Matrix{{-2, -4}, {-2, -7}}));
  CHECK(same((*v)[1], Matrix{{1.5f, 1, 5}, {5, 6, -1}}));
  CHECK(same((*v)[2], Matrix::Zero(2, 3)));
  CHECK(same((*v)[3], Matrix{{0.5f, -2, 6}, {4, 5, -42}}));
  CHECK(same((*v)[4], Matrix{{11.5f, 21, 35}, {15, 26, 29}}));
  CHECK(same((*v)[5], Matrix{{2, 4, 6}, {8, 10, 12}}));

  // relu keeps positives and zeroes negatives, element by element.
  auto rl = s.run(g.relu(g.constant(Matrix{{-1, 0, 2.5f}})));
  REQUIRE(rl.ok());
  CHECK(same(*rl, Matrix{{0, 0, 2.5f}}));
}

TEST_CASE("reduce_sum over all elements, rows and columns", "[graph]") {
  Graph g;
  Node a = g.constant(Matrix{{1, 2, 3}, {4, 5, 6}}, "a");
  Node all = g.reduce_sum(a), down = g.reduce_sum(a, 0), across = g.reduce_sum(a, 1);
  CHECK(g.shape(all) == std::vector<int>{1, 1});
  CHECK(g.shape(down) == std::vector<int>{1, 3});
  CHECK(g.shape(across) == std::vector<int>{2, 1});
  Session s(g);
  auto v = s.run({all, down, across});
  REQUIRE(v.ok());
  CHECK(same((*v)[0], Matrix{{21}}));
  CHECK(same((*v)[1], Matrix{{5, 7, 9}}));
  CHECK(same((*v)[2], Matrix{{6}, {15}}));
  g.reduce_sum(a, 2);
  CHECK_FALSE(g.status().ok());
}

TEST_CASE("Names follow TensorFlow: scopes, nesting and _N suffixes", "[graph]") {
  Graph g;
  Node x = g.constant(Matrix::Ones(2, 2), "x");
  CHECK(g.name(g.constant(1.0f)) == "Const");
  CHECK(g.name(g.constant(1.0f)) == "Const_1");
  CHECK(g.name(g.constant(1.0f, "x")) == "x_1");
  {
    auto scope = g.name_scope("layer1");
    CHECK(g.name(g.matmul(x, x)) == "layer1/MatMul");
    CHECK(g.name(g.matmul(x, x)) == "layer1/MatMul_1");
    Node w = g.variable(2, 2, Init::kZeros, "weights");
    CHECK(g.name(w) == "layer1/weights");
    CHECK(g.variables()[0].name == "layer1/weights");
    {
      auto inner = g.name_scope("inner");
      CHECK(g.name(g.relu(x)) == "layer1/inner/Relu");
    }
    CHECK(g.name(g.relu(x)) == "layer1/Relu");
  }
  CHECK(g.name(g.matmul(x, x)) == "MatMul");  // the scope ended
  {
    auto again = g.name_scope("layer1");     // a scope name in use is made unique too
    CHECK(g.name(g.matmul(x, x)) == "layer1_1/MatMul");
  }
  // A name someone took explicitly is skipped: "a", "a_1" (explicit), then "a" -> "a_2".
  g.constant(1.0f, "a");
  g.constant(1.0f, "a_1");
  CHECK(g.name(g.constant(1.0f, "a")) == "a_2");
  CHECK(g.name(g.constant(1.0f, "a")) == "a_3");
  CHECK(g.status().ok());

  g.constant(1.0f, "bad name");
  REQUIRE_FALSE(g.status().ok());
  CHECK(g.status().message().find("bad name") != std::string::npos);
}

TEST_CASE("Shape errors are reported at build time with both op names", "[graph]") {
  Graph g;
  Node a = g.constant(Matrix::Ones(2, 3), "a");
  Node b = g.constant(Matrix::Ones(2, 3), "b");
  Node bad;
  {
    auto scope = g.name_scope("layer1");
    bad = g.matmul(a, b);
  }
  CHECK_FALSE(bad.valid());
  REQUIRE_FALSE(g.status().ok());
  CHECK(g.status().code() == StatusCode::kConfig);
  const std::string msg = g.status().message();
  INFO(msg);
  CHECK(msg.find("layer1/MatMul") != std::string::npos);
  CHECK(msg.find("'a' [2,3]") != std::string::npos);
  CHECK(msg.find("'b' [2,3]") != std::string::npos);

  // Later ops on the failed node stay invalid and keep the first error.
  Node later = g.relu(g.add(bad, a));
  CHECK_FALSE(later.valid());
  CHECK(g.status().message() == msg);
  Session s(g);
  auto v = s.run(a);
  REQUIRE_FALSE(v.ok());
  CHECK(v.status().message().find(msg) != std::string::npos);

  Graph h;
  h.add(h.constant(Matrix::Ones(2, 3), "p"), h.constant(Matrix::Ones(3, 2), "q"));
  REQUIRE_FALSE(h.status().ok());
  CHECK(h.status().message().find("do not broadcast") != std::string::npos);
  CHECK(h.status().message().find("'q' [3,2]") != std::string::npos);

  Graph k;
  k.variable(0, 3, Init::kZeros, "w");
  CHECK_FALSE(k.status().ok());
}

TEST_CASE("Placeholders take feeds; unknown rows are checked at run time", "[graph]") {
  Graph g;
  Node x = g.placeholder(-1, 2, "x");
  Node w = g.constant(Matrix{{1, 2, 3}, {4, 5, 6}}, "w");
  Node y = g.matmul(x, w);
  REQUIRE(g.status().ok());
  CHECK(g.shape(y) == std::vector<int>{-1, 3});
  CHECK(g.shape(g.add(y, g.constant(Matrix::Ones(1, 3), "bias"))) == std::vector<int>{-1, 3});
  Session s(g);

  auto missing = s.run(y);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("placeholder 'x'") != std::string::npos);

  auto one = s.run(y, {{x, Matrix{{1, 1}}}});
  REQUIRE(one.ok());
  CHECK(same(*one, Matrix{{5, 7, 9}}));
  auto three = s.run(y, {{x, Matrix{{1, 0}, {0, 1}, {2, 0}}}});
  REQUIRE(three.ok());
  CHECK(same(*three, Matrix{{1, 2, 3}, {4, 5, 6}, {2, 4, 6}}));

  auto wrong = s.run(y, {{x, Matrix::Ones(2, 3)}});
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.status().message().find("[?,2]") != std::string::npos);

  // Unknown rows broadcast against a known row count only if they agree when run.
  Node z = g.add(x, g.constant(Matrix::Ones(4, 2), "four"));
  REQUIRE(g.status().ok());
  CHECK(s.run(z, {{x, Matrix::Ones(4, 2)}}).ok());
  CHECK(s.run(z, {{x, Matrix::Ones(1, 2)}}).ok());
  CHECK_FALSE(s.run(z, {{x, Matrix::Ones(3, 2)}}).ok());
}

TEST_CASE("Each op runs at most once per run, and only if needed", "[graph]") {
  Graph g;
  Node a = g.constant(Matrix{{1, 2}, {3, 4}}, "a");
  Node m = g.matmul(a, a);          // needed twice below
  Node y = g.add(m, m);
  g.relu(g.constant(5.0f, "unused"));
  Session s(g);
  auto v = s.run(y);
  REQUIRE(v.ok());
  CHECK(same(*v, 2 * Matrix{{7, 10}, {15, 22}}));
  CHECK(s.ops_run() == 3);  // a, m, y; not the unused pair

  auto both = s.run({m, y});
  REQUIRE(both.ok());
  CHECK(s.ops_run() == 3);  // m shared by the two fetches
  // A fed op is not computed, nor are its inputs.
  auto fed = s.run(y, {{m, Matrix::Ones(2, 2)}});
  REQUIRE(fed.ok());
  CHECK(same(*fed, Matrix::Constant(2, 2, 2)));
  CHECK(s.ops_run() == 1);
}

TEST_CASE("Variables are initialised deterministically from the seed", "[graph]") {
  Graph g;
  Node w = g.variable(4, 5, Init::kGlorotUniform, "weights");
  Node b = g.variable(1, 5, Init::kConstant, "biases", 0.25f);
  Session s1(g), s2(g), s3(g);
  auto uninit = s1.run(w);
  REQUIRE_FALSE(uninit.ok());
  CHECK(uninit.status().message().find("'weights' is not initialised") != std::string::npos);

  s1.run_initializers(7);
  s2.run_initializers(7);
  s3.run_initializers(8);
  const Matrix w1 = *s1.run(w), w2 = *s2.run(w), w3 = *s3.run(w);
  CHECK(w1 == w2);
  CHECK(w1 != w3);
  const float limit = std::sqrt(6.0f / (4 + 5));  // Glorot uniform bound
  CHECK(w1.cwiseAbs().maxCoeff() <= limit);
  CHECK(w1.cwiseAbs().maxCoeff() > 0.0f);
  CHECK(same(*s1.run(b), Matrix::Constant(1, 5, 0.25f)));

  // The same values as a ParamLayout with the same variables, as a Network's parameters would get.
  std::vector<float> flat(g.variables().total());
  g.variables().initialise(flat.data(), 7);
  CHECK(w1 == ConstMatrixMap(flat.data(), 4, 5));

  // A variable added later needs run_initializers again.
  Node late = g.variable(2, 2, Init::kOnes, "late");
  CHECK_FALSE(s1.run(late).ok());
  s1.run_initializers(7);
  CHECK(same(*s1.run(late), Matrix::Ones(2, 2)));
  CHECK(*s1.run(w) == w1);  // adding a variable does not change the others
}

TEST_CASE("to_model_graph lists ops with inputs, shapes and variables", "[graph]") {
  Graph g;
  Node x = g.placeholder(-1, 784, "x");
  Node y;
  {
    auto scope = g.name_scope("layer1");
    Node w = g.variable(784, 200, Init::kHeNormal, "weights");
    Node b = g.variable(1, 200, Init::kZeros, "biases");
    y = g.relu(g.add(g.matmul(x, w), b));
  }
  const ModelGraph mg = g.to_model_graph();
  REQUIRE(mg.ops.size() == 6);
  CHECK(mg.ops[0].name == "x");
  CHECK(mg.ops[0].op == "Placeholder");
  CHECK(mg.ops[0].shape == std::vector<int>{-1, 784});
  CHECK(mg.ops[1].op == "VariableV2");
  CHECK(mg.ops[1].variable == "layer1/weights");
  CHECK(mg.ops[3].name == "layer1/MatMul");
  CHECK(mg.ops[3].inputs == std::vector<std::string>{"x", "layer1/weights"});
  CHECK(mg.ops[4].inputs == std::vector<std::string>{"layer1/MatMul", "layer1/biases"});
  CHECK(mg.ops[5].name == g.name(y));
  CHECK(shape_string(mg.ops[5].shape) == "[?,200]");
}

}  // namespace podlab
