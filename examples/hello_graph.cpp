// Hello, graph: the talk's first TensorFlow program, in podlab's op graph. It builds
// relu(x * weights + biases) in the name scope "layer1", runs it in a Session, prints the result and
// the graph's ops with their shapes, and exits 1 unless the result matches the one worked out by hand.
#include <iostream>

#include "engine/graph/graph.h"

using namespace podlab;

int main() {
  Graph g;
  Node x = g.constant(Matrix{{1, 2}, {-3, 1}}, "x");            // (2, 2)
  Node w = g.variable(2, 3, Init::kConstant, "weights", 0.5f);  // (2, 3), all 0.5
  Node b = g.constant(Matrix{{1, -1, 0}}, "biases");            // (1, 3), added to every row
  Node y;
  {
    auto scope = g.name_scope("layer1");
    y = g.relu(g.add(g.matmul(x, w), b));  // layer1/MatMul, layer1/Add, layer1/Relu
  }
  Session s(g);
  s.run_initializers(/*seed=*/42);
  Result<Matrix> v = s.run(y);
  if (!v.ok()) { std::cerr << v.status().message() << "\n"; return 1; }
  std::cout << *v << "\n\n";
  for (const GraphOp& op : g.to_model_graph().ops)
    std::cout << op.name << "  " << op.op << shape_string(op.shape) << "\n";
  // x*w = [[1.5 1.5 1.5] [-1 -1 -1]]; + b = [[2.5 0.5 1.5] [0 -2 -1]]; relu keeps the positives.
  const Matrix want{{2.5f, 0.5f, 1.5f}, {0, 0, 0}};
  return (*v - want).cwiseAbs().maxCoeff() < 1e-6f ? 0 : 1;
}
