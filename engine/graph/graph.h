// A TensorFlow-1 style op graph, as in the 2016 talk: build a graph of named ops first, then run parts
// of it in a Session. Every value is a 2-D Matrix (rows, cols); a placeholder may leave its rows
// unknown (-1, the batch dimension), to be fixed by the value fed at run time.
//
//   Graph g;
//   Node x = g.constant(Matrix{{1, 2}}, "x");
//   Node w = g.variable(2, 3, Init::kGlorotUniform, "weights");
//   Node y;
//   { auto scope = g.name_scope("layer1"); y = g.relu(g.matmul(x, w)); }  // "layer1/MatMul", "layer1/Relu"
//   Session s(g);
//   s.run_initializers(42);
//   Result<Matrix> v = s.run(y);
//
// Names follow TensorFlow: "scope/Op", and a name already in use gets "_1", "_2", ... appended
// (name scopes are uniquified the same way). Unlike TensorFlow the comparison is case-sensitive.
// Shapes are checked as each op is added; the first error is kept in status() and the failed op
// returns an invalid Node, which later ops pass on without adding errors of their own. Session::run
// on a graph with an error returns that error, so checking the run's Result is enough.
// Variables live in one flat buffer laid out by a ParamLayout, like a Network's parameters.
// Not thread-safe: build a graph on one thread; a Session may be used by one thread at a time.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/graph/model_graph.h"
#include "engine/params.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace podlab {

class Graph;

// A handle to one op's output (TensorFlow's tf.Tensor). Invalid when default-constructed or returned
// by an op that failed its checks. Only meaningful with the Graph that made it.
struct Node {
  const Graph* graph = nullptr;
  int id = -1;
  bool valid() const { return graph != nullptr && id >= 0; }
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;  // Nodes point at their graph
  Graph& operator=(const Graph&) = delete;

  // ---- sources ----
  Node constant(const Matrix& value, const std::string& name = "Const");
  Node constant(float value, const std::string& name = "Const");  // a (1, 1) matrix
  // A variable (rows, cols) filled by Session::run_initializers from `init`, with fan_in = rows and
  // fan_out = cols as for a Dense layer's weights; `init_value` is for Init::kConstant. Its name in
  // variables() is the op's full name, e.g. "layer1/weights".
  Node variable(int rows, int cols, Init init, const std::string& name = "Variable", float init_value = 0.0f);
  // A value supplied in Session::run's feeds; rows = -1 accepts any number of rows.
  Node placeholder(int rows, int cols, const std::string& name = "Placeholder");

  // ---- ops ----
  // Element-wise, broadcasting each dimension as NumPy does (equal, or 1 in one input): a (1, n) bias
  // row adds to every row of a (batch, n) matrix, a (1, 1) scalar to every element.
  Node add(Node x, Node y, const std::string& name = "Add");
  Node sub(Node x, Node y, const std::string& name = "Sub");
  Node mul(Node x, Node y, const std::string& name = "Mul");
  // Matrix product: (m, k) x (k, n) -> (m, n).
  Node matmul(Node x, Node y, const std::string& name = "MatMul");
  // max(x, 0), element-wise; shape-preserving.
  Node relu(Node x, const std::string& name = "Relu");
  // axis -1: sum of all elements -> (1, 1); axis 0: down the rows -> (1, cols); axis 1: across the
  // columns -> (rows, 1).
  Node reduce_sum(Node x, int axis = -1, const std::string& name = "Sum");

  // ---- name scopes ----
  // Restores the enclosing scope when destroyed; scopes must end in reverse order of creation.
  class [[nodiscard]] NameScope {
   public:
    ~NameScope();
    NameScope(const NameScope&) = delete;
    NameScope& operator=(const NameScope&) = delete;

   private:
    friend class Graph;
    NameScope(Graph* graph, std::string previous, std::string current);
    Graph* graph_;
    std::string previous_, current_;
  };
  // Ops created while the returned guard lives are named "<scope>/<name>"; scopes nest. Use as
  // `auto scope = g.name_scope("layer1");`. A second "layer1" scope becomes "layer1_1".
  NameScope name_scope(const std::string& name);

  // ---- inspection ----
  const Status& status() const { return status_; }
  int size() const { return static_cast<int>(ops_.size()); }
  const std::string& name(Node n) const { return op(n).name; }
  const std::string& op_type(Node n) const { return op(n).type; }
  // {rows, cols}; rows is -1 when unknown until run time.
  std::vector<int> shape(Node n) const { return {op(n).rows, op(n).cols}; }
  // The variables, in creation order; Session keeps their values in a buffer of this layout.
  const ParamLayout& variables() const { return variables_; }
  // The ops with their inputs and shapes, for the GUI and TensorBoard's graph view.
  ModelGraph to_model_graph() const;

 private:
  friend class Session;
  enum class Kind { kConst, kVariable, kPlaceholder, kAdd, kSub, kMul, kMatMul, kRelu, kSum };
  struct Op {
    Kind kind;
    std::string type, name;   // "MatMul", "layer1/MatMul"
    std::vector<int> inputs;  // ids of earlier ops: ops are stored in topological order
    int rows = 0, cols = 0;   // output shape; rows -1 = unknown
    Matrix value;             // kConst
    int variable = -1;        // kVariable: index into variables_
    int axis = -1;            // kSum
  };
  const Op& op(Node n) const;
  std::string unique_name(const std::string& name);  // scope + name, made unique and reserved
  bool check_name(const std::string& name);          // records an error and returns false if invalid
  Node push(Op op);
  Node fail(const std::string& message);
  bool start(Op& o, Kind kind, const char* type, const std::string& name, std::initializer_list<Node> inputs);
  Node elementwise(Kind kind, const char* type, Node x, Node y, const std::string& name);

  std::vector<Op> ops_;
  ParamLayout variables_;
  std::map<std::string, int> names_in_use_;  // full name -> next suffix to try (TF's _names_in_use)
  std::string scope_;                        // "" or "outer/inner/"
  Status status_;
};

// Values for placeholders (or any op, overriding its computation) in one Session::run.
using FeedDict = std::vector<std::pair<Node, Matrix>>;

// Runs a Graph. Holds the variables' values; the graph must outlive the session, and may grow after
// it is made (new variables need run_initializers again).
class Session {
 public:
  explicit Session(const Graph& graph) : graph_(graph) {}

  // Fills every variable from its initializer (tf.global_variables_initializer with a graph seed):
  // variable i draws from Rng(derive_seed(seed, i)), so the same seed gives the same values.
  void run_initializers(uint64_t seed);

  // Evaluates `fetch` and the ops it depends on, each at most once per call (memoised), feeding
  // `feeds`. Errors: the graph's build error; a placeholder without a feed; a feed whose shape differs
  // from the op's; an uninitialised variable; unknown rows that do not fit at run time.
  Result<Matrix> run(Node fetch, const FeedDict& feeds = {});
  // Several fetches in one pass, sharing the ops they have in common.
  Result<std::vector<Matrix>> run(const std::vector<Node>& fetches, const FeedDict& feeds = {});

  // Op kernels executed by the last run(): an op shared by several fetches counts once, a fed op not at all.
  int ops_run() const { return ops_run_; }

 private:
  Status compute(int id, std::vector<Matrix>& values) const;
  const Graph& graph_;
  std::vector<float> values_;  // variables, laid out by graph_.variables()
  int ops_run_ = 0;
};

}  // namespace podlab
