// Collapsing scopes and placing nodes in columns.
#include "gui/graph_layout.h"

#include <algorithm>
#include <map>

namespace podlab::gui {

std::string top_scope(const std::string& name) {
  const size_t slash = name.find('/');
  return slash == std::string::npos ? "" : name.substr(0, slash);
}

std::vector<std::string> graph_scopes(const ModelGraph& g) {
  std::vector<std::string> out;
  for (const GraphOp& op : g.ops) {
    const std::string s = top_scope(op.name);
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

GraphLayout layout_graph(const ModelGraph& g, const std::set<std::string>& expanded) {
  GraphLayout L;
  std::map<std::string, int> node_of_op, node_of_id;
  for (const GraphOp& op : g.ops) {
    const std::string scope = top_scope(op.name);
    const bool collapsed = !scope.empty() && !expanded.count(scope);
    const std::string id = collapsed ? scope : op.name;
    auto it = node_of_id.find(id);
    if (it == node_of_id.end()) {
      GraphNode n;
      n.id = id;
      n.op = collapsed ? "scope" : op.op;
      n.scope = scope;
      n.variable = collapsed ? "" : op.variable;
      it = node_of_id.emplace(id, static_cast<int>(L.nodes.size())).first;
      L.nodes.push_back(n);
    } else {
      ++L.nodes[it->second].ops;
    }
    // A collapsed scope shows the shape of its last op (its output).
    L.nodes[it->second].shape = op.shape;
    node_of_op[op.name] = it->second;
  }
  std::vector<std::vector<int>> preds(L.nodes.size());
  for (const GraphOp& op : g.ops) {
    const int to = node_of_op[op.name];
    for (const std::string& in : op.inputs) {
      auto f = node_of_op.find(in);
      if (f == node_of_op.end() || f->second == to) continue;
      const int from = f->second;
      if (std::find(preds[to].begin(), preds[to].end(), from) != preds[to].end()) continue;
      preds[to].push_back(from);
      const GraphOp* src = nullptr;
      for (const GraphOp& o : g.ops)
        if (o.name == in) src = &o;
      L.edges.push_back(GraphEdge{from, to, src ? shape_string(src->shape) : ""});
    }
  }
  // Longest path from the sources. Nodes are created in op order and ops only consume earlier ops,
  // but a merged scope can appear before one of its inputs' nodes, so relax until stable.
  std::vector<int> col(L.nodes.size(), 0);
  for (size_t pass = 0; pass <= L.nodes.size(); ++pass) {
    bool moved = false;
    for (const GraphEdge& e : L.edges)
      if (col[e.to] < col[e.from] + 1) {
        col[e.to] = col[e.from] + 1;
        moved = true;
      }
    if (!moved) break;
  }
  // Variables and other parameter-like sources sit just left of their first consumer.
  for (size_t i = 0; i < L.nodes.size(); ++i) {
    if (!preds[i].empty() || L.nodes[i].op != "VariableV2") continue;
    int first = -1;
    for (const GraphEdge& e : L.edges)
      if (e.from == static_cast<int>(i) && (first < 0 || col[e.to] < first)) first = col[e.to];
    if (first > 0) col[i] = first - 1;
  }
  std::map<int, int> rows_in;
  for (size_t i = 0; i < L.nodes.size(); ++i) {
    L.nodes[i].column = col[i];
    L.nodes[i].row = rows_in[col[i]]++;
    L.columns = std::max(L.columns, col[i] + 1);
    L.rows = std::max(L.rows, rows_in[col[i]]);
  }
  return L;
}

}  // namespace podlab::gui
