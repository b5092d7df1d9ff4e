// Laying out a ModelGraph for drawing: ops of a collapsed name scope merge into one node; edges carry
// the shape of the tensor they move; nodes get a column (longest path from the inputs; a variable sits
// just left of its first consumer) and a row within the column. Pure logic, tested headless.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "engine/graph/model_graph.h"

namespace podlab::gui {

struct GraphNode {
  std::string id;        // op name, or the scope name for a collapsed scope
  std::string op;        // op type; "scope" for a collapsed scope
  std::string scope;     // top-level name scope ("" for none)
  int ops = 1;           // ops inside (collapsed scope)
  std::vector<int> shape;
  std::string variable;  // VariableV2: the parameter's name
  int column = 0, row = 0;
};

struct GraphEdge {
  int from = 0, to = 0;
  std::string shape;     // "[?,200]"
};

struct GraphLayout {
  std::vector<GraphNode> nodes;
  std::vector<GraphEdge> edges;
  int columns = 0, rows = 0;  // rows: of the fullest column
};

// "layer1/MatMul" -> "layer1"; "input" -> "".
std::string top_scope(const std::string& name);
// Every top-level scope in `g`, in order of first appearance.
std::vector<std::string> graph_scopes(const ModelGraph& g);
GraphLayout layout_graph(const ModelGraph& g, const std::set<std::string>& expanded);

}  // namespace podlab::gui
