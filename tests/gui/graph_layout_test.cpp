// Graph layout: collapsed scopes merge their ops, edges carry shapes, columns follow the data flow.
#include <catch2/catch.hpp>

#include "engine/network.h"
#include "gui/graph_layout.h"

using namespace podlab;
using namespace podlab::gui;

namespace {
const GraphNode* find(const GraphLayout& L, const std::string& id) {
  for (const GraphNode& n : L.nodes)
    if (n.id == id) return &n;
  return nullptr;
}
bool has_edge(const GraphLayout& L, const std::string& a, const std::string& b, const std::string& shape) {
  for (const GraphEdge& e : L.edges)
    if (L.nodes[e.from].id == a && L.nodes[e.to].id == b && e.shape == shape) return true;
  return false;
}
}  // namespace

TEST_CASE("collapsed scopes are one node; expanding shows their ops", "[gui][graph]") {
  auto net = Network::build(*ModelSpec::parse("mlp:32"), Shape{28, 28, 1}, 10);
  REQUIRE(net.ok());
  const ModelGraph g = (*net)->describe();
  CHECK(top_scope("layer1/MatMul") == "layer1");
  CHECK(top_scope("input").empty());
  const auto scopes = graph_scopes(g);
  REQUIRE(std::find(scopes.begin(), scopes.end(), "layer1") != scopes.end());

  const GraphLayout closed = layout_graph(g, {});
  const GraphNode* l1 = find(closed, "layer1");
  REQUIRE(l1);
  CHECK(l1->op == "scope");
  CHECK(l1->ops >= 3);
  CHECK_FALSE(find(closed, "layer1/MatMul"));
  // Data flows left to right, edges labelled with the tensor's shape.
  const GraphNode* in = find(closed, "input");
  REQUIRE(in);
  CHECK(in->column < l1->column);
  CHECK(has_edge(closed, "layer1", "output", "[?,32]"));

  const GraphLayout open = layout_graph(g, {"layer1"});
  const GraphNode* mm = find(open, "layer1/MatMul");
  const GraphNode* w = find(open, "layer1/weights");
  REQUIRE(mm);
  REQUIRE(w);
  CHECK(w->op == "VariableV2");
  CHECK(w->column == mm->column - 1);  // a variable sits just left of its consumer
  CHECK(has_edge(open, "layer1/weights", "layer1/MatMul", "[784,32]"));
  CHECK(open.nodes.size() > closed.nodes.size());
  for (const GraphEdge& e : open.edges) CHECK(open.nodes[e.from].column < open.nodes[e.to].column);
}
