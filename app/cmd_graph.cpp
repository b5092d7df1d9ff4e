// `podlab graph`: lesson 1's "hello graph" (engine/graph/hello_graph.h): builds relu(x * weights +
// biases) in a name scope (repeated for --layers), runs it in a Session, prints the ops with their
// names, shapes and inputs and the value, and can write the graph for TensorBoard's graph view.
#include <cstdio>
#include <string>

#include "app/command.h"
#include "app/json_line.h"
#include "engine/graph/graph.h"
#include "engine/graph/hello_graph.h"
#include "engine/log/event_writer.h"

namespace podlab {
namespace {

struct GraphFlags {
  int layers = 1;
  float weight = 0.5f;
  bool random = false;
  uint64_t seed = 42;
  std::string scope = "layer", log_dir;
  bool json = false;
};

int run_graph(const GraphFlags& f) {
  Graph g;
  const Node h = build_hello_graph(g, HelloGraphOptions{f.layers, f.weight, f.random, f.scope});
  if (!g.status().ok()) return report(g.status().With("building the graph"));

  const ModelGraph mg = g.to_model_graph();
  std::printf("The graph: %d ops, %zu variable(s)\n", g.size(), g.variables().params().size());
  std::printf("  %-22s %-12s %-8s %s\n", "name", "op", "shape", "inputs");
  for (const GraphOp& op : mg.ops) {
    std::string inputs;
    for (const std::string& s : op.inputs) inputs += (inputs.empty() ? "" : ", ") + s;
    std::printf("  %-22s %-12s %-8s %s\n", op.name.c_str(), op.op.c_str(), shape_string(op.shape).c_str(),
                inputs.c_str());
  }

  Session s(g);
  s.run_initializers(f.seed);
  Result<Matrix> v = s.run(h);
  if (!v.ok()) return report(v.status().With("running the graph"));
  std::printf("\nsession.run(%s) ran %d ops and returned a %dx%d matrix:\n", g.name(h).c_str(), s.ops_run(),
              static_cast<int>(v->rows()), static_cast<int>(v->cols()));
  for (int r = 0; r < v->rows(); ++r) {
    std::printf("  [");
    for (int c = 0; c < v->cols(); ++c) std::printf("%s%8.4f", c ? " " : "", (*v)(r, c));
    std::printf(" ]\n");
  }

  if (!f.log_dir.empty()) {
    Result<std::unique_ptr<EventWriter>> w = EventWriter::open(f.log_dir);
    if (!w.ok()) return report(w.status());
    std::vector<GraphNode> nodes;
    for (const GraphOp& op : mg.ops) nodes.push_back(GraphNode{op.name, op.op, op.inputs, ""});
    if (Status st = (*w)->add_graph(serialize_graph_def(nodes), 0); !st.ok()) return report(st);
    std::printf("\nWrote the graph to %s: tensorboard --logdir %s, then the Graphs tab.\n", (*w)->path().c_str(),
                f.log_dir.c_str());
  }

  if (f.json || !stdout_is_terminal()) {
    std::string values = "[";
    for (int r = 0; r < v->rows(); ++r)
      for (int c = 0; c < v->cols(); ++c) values += (values.size() > 1 ? "," : "") + JsonLine::number((*v)(r, c));
    JsonLine()
        .add("event", "result")
        .add("ops", g.size())
        .add("variables", static_cast<int>(g.variables().params().size()))
        .add("ops_run", s.ops_run())
        .add("rows", static_cast<int>(v->rows()))
        .add("cols", static_cast<int>(v->cols()))
        .add("sum", static_cast<double>(v->sum()))
        .raw("values", values + "]")
        .print();
  }
  return 0;
}

}  // namespace

void add_graph_commands(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<GraphFlags>();
  CLI::App* cmd = root.add_subcommand("graph", "Hello graph: build relu(x*W+b) in name scopes, run it, print its ops");
  cmd->add_option("--layers", flags->layers, "How many layers to stack, each in its own name scope")
      ->check(CLI::Range(1, 8));
  cmd->add_option("--weight", flags->weight, "The value every weight starts at (Init::kConstant)");
  cmd->add_flag("--random", flags->random, "Start the weights from Glorot-uniform random values instead (see --seed)");
  cmd->add_option("--seed", flags->seed, "Seed for run_initializers");
  cmd->add_option("--scope", flags->scope, "The name scope of each layer");
  cmd->add_option("--log-dir", flags->log_dir, "Write the graph as a TensorBoard event file here");
  cmd->add_flag("--json", flags->json, "End with a JSON result line, even on a terminal");
  cmd->callback([flags, &exit_code] { exit_code = run_graph(*flags); });
}

}  // namespace podlab
