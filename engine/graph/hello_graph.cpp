// Lesson 1's "hello graph" (hello_graph.h).
#include "engine/graph/hello_graph.h"

namespace podlab {

Node build_hello_graph(Graph& g, const HelloGraphOptions& o) {
  Node h = g.constant(Matrix{{1, 2}, {-3, 1}}, "x");
  int in = 2;
  for (int i = 0; i < o.layers; ++i) {
    auto scope = g.name_scope(o.scope);
    Node w = o.random ? g.variable(in, 3, Init::kGlorotUniform, "weights") : g.variable(in, 3, Init::kConstant, "weights", o.weight);
    Node b = g.constant(Matrix{{1, -1, 0}}, "biases");
    h = g.relu(g.add(g.matmul(h, w), b));
    in = 3;
  }
  return h;
}

}  // namespace podlab
