// The op graph: building (names as TensorFlow makes them, shapes checked as ops are added) and running
// (one backward sweep marks the ops a fetch needs, one forward sweep computes each of them once).
#include "engine/graph/graph.h"

#include <cassert>
#include <cctype>

namespace podlab {
namespace {

std::string quoted(const std::string& name, int rows, int cols) {
  return "'" + name + "' " + shape_string({rows, cols});
}

// NumPy broadcasting of one dimension. At build time -1 (unknown) takes the other size, to be checked
// at run time. Returns -2 when the sizes cannot broadcast.
int broadcast_dim(int a, int b) {
  if (a == b || b == 1) return a;
  if (a == 1) return b;
  if (a == -1) return b;
  if (b == -1) return a;
  return -2;
}

// m repeated to (rows, cols); m's dimensions each equal the target or are 1.
Matrix expand(const Matrix& m, int rows, int cols) {
  if (m.rows() == rows && m.cols() == cols) return m;
  return m.replicate(m.rows() == rows ? 1 : rows, m.cols() == cols ? 1 : cols);
}

}  // namespace

// ---- building ----

const Graph::Op& Graph::op(Node n) const {
  assert(n.graph == this && n.id >= 0 && n.id < size());
  return ops_[n.id];
}

Node Graph::fail(const std::string& message) {
  if (status_.ok()) status_ = Status::Config(message);  // the first error explains the rest
  return Node{};
}

Node Graph::push(Op o) {
  ops_.push_back(std::move(o));
  return Node{this, size() - 1};
}

// TensorFlow's rule: [A-Za-z0-9.][A-Za-z0-9_.-]*, except that '/' is left to name scopes.
bool Graph::check_name(const std::string& name) {
  bool ok = !name.empty() && (std::isalnum(static_cast<unsigned char>(name[0])) || name[0] == '.');
  for (char ch : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-');
  if (!ok) fail("invalid name '" + name + "': use letters, digits, '_', '.' or '-' (name_scope() adds '/')");
  return ok;
}

// TensorFlow's Graph.unique_name: the first "MatMul" keeps its name, later ones get "_1", "_2", ...,
// skipping any name already taken.
std::string Graph::unique_name(const std::string& name) {
  const std::string base = scope_ + name;
  int i = names_in_use_[base]++;
  if (i == 0) return base;
  std::string candidate = base;
  while (names_in_use_.count(candidate)) candidate = base + "_" + std::to_string(i++);
  names_in_use_[candidate] = 1;
  return candidate;
}

Graph::NameScope::NameScope(Graph* graph, std::string previous, std::string current)
    : graph_(graph), previous_(std::move(previous)), current_(std::move(current)) {
  graph_->scope_ = current_;
}

Graph::NameScope::~NameScope() {
  assert(graph_->scope_ == current_ && "name scopes must end in reverse order");
  graph_->scope_ = previous_;
}

Graph::NameScope Graph::name_scope(const std::string& name) {
  if (!check_name(name)) return NameScope(this, scope_, scope_);
  return NameScope(this, scope_, unique_name(name) + "/");
}

// Starts op `o`: checks the name, names it, and collects the inputs. False when the op cannot be
// built (an error is recorded unless an input failed earlier, whose error then stands).
bool Graph::start(Op& o, Kind kind, const char* type, const std::string& name,
                  std::initializer_list<Node> inputs) {
  if (!check_name(name)) return false;
  o.kind = kind;
  o.type = type;
  o.name = unique_name(name);
  for (Node n : inputs) {
    if (!n.valid()) {
      fail(o.type + " '" + o.name + "': an input is an invalid Node (default-constructed or from a failed op)");
      return false;
    }
    assert(n.graph == this && n.id < size() && "a Node from another graph");
    o.inputs.push_back(n.id);
  }
  return true;
}

Node Graph::constant(const Matrix& value, const std::string& name) {
  Op o;
  if (!start(o, Kind::kConst, "Const", name, {})) return Node{};
  o.rows = static_cast<int>(value.rows());
  o.cols = static_cast<int>(value.cols());
  o.value = value;
  return push(std::move(o));
}

Node Graph::constant(float value, const std::string& name) {
  return constant(Matrix::Constant(1, 1, value), name);
}

Node Graph::variable(int rows, int cols, Init init, const std::string& name, float init_value) {
  Op o;
  if (!start(o, Kind::kVariable, "VariableV2", name, {})) return Node{};
  if (rows < 1 || cols < 1) return fail("VariableV2 " + quoted(o.name, rows, cols) + ": dimensions must be >= 1");
  o.rows = rows;
  o.cols = cols;
  o.variable = variables_.add(o.name, rows, cols, init, rows, cols, init_value);
  return push(std::move(o));
}

Node Graph::placeholder(int rows, int cols, const std::string& name) {
  Op o;
  if (!start(o, Kind::kPlaceholder, "Placeholder", name, {})) return Node{};
  if (rows < -1 || rows == 0 || cols < 1)
    return fail("Placeholder " + quoted(o.name, rows, cols) + ": rows must be >= 1 or -1 (any), cols >= 1");
  o.rows = rows;
  o.cols = cols;
  return push(std::move(o));
}

Node Graph::elementwise(Kind kind, const char* type, Node x, Node y, const std::string& name) {
  Op o;
  if (!start(o, kind, type, name, {x, y})) return Node{};
  const Op &a = ops_[x.id], &b = ops_[y.id];
  o.rows = broadcast_dim(a.rows, b.rows);
  o.cols = broadcast_dim(a.cols, b.cols);
  if (o.rows == -2 || o.cols == -2)
    return fail(o.type + " '" + o.name + "': shapes do not broadcast: " + quoted(a.name, a.rows, a.cols) + " and " +
                quoted(b.name, b.rows, b.cols) + " (each dimension must be equal or 1 in one of them)");
  return push(std::move(o));
}

Node Graph::add(Node x, Node y, const std::string& name) { return elementwise(Kind::kAdd, "Add", x, y, name); }
Node Graph::sub(Node x, Node y, const std::string& name) { return elementwise(Kind::kSub, "Sub", x, y, name); }
Node Graph::mul(Node x, Node y, const std::string& name) { return elementwise(Kind::kMul, "Mul", x, y, name); }

Node Graph::matmul(Node x, Node y, const std::string& name) {
  Op o;
  if (!start(o, Kind::kMatMul, "MatMul", name, {x, y})) return Node{};
  const Op &a = ops_[x.id], &b = ops_[y.id];
  if (b.rows != -1 && a.cols != b.rows)
    return fail("MatMul '" + o.name + "': cannot multiply " + quoted(a.name, a.rows, a.cols) + " by " +
                quoted(b.name, b.rows, b.cols) + ": inner dimensions " + std::to_string(a.cols) + " and " +
                std::to_string(b.rows) + " differ (need (m,k) x (k,n))");
  o.rows = a.rows;
  o.cols = b.cols;
  return push(std::move(o));
}

Node Graph::relu(Node x, const std::string& name) {
  Op o;
  if (!start(o, Kind::kRelu, "Relu", name, {x})) return Node{};
  o.rows = ops_[x.id].rows;
  o.cols = ops_[x.id].cols;
  return push(std::move(o));
}

Node Graph::reduce_sum(Node x, int axis, const std::string& name) {
  Op o;
  if (!start(o, Kind::kSum, "Sum", name, {x})) return Node{};
  if (axis < -1 || axis > 1)
    return fail("Sum '" + o.name + "': axis must be -1 (all), 0 or 1, not " + std::to_string(axis));
  o.axis = axis;
  o.rows = axis == 1 ? ops_[x.id].rows : 1;
  o.cols = axis == 0 ? ops_[x.id].cols : 1;
  return push(std::move(o));
}

ModelGraph Graph::to_model_graph() const {
  ModelGraph g;
  for (const Op& o : ops_) {
    std::vector<std::string> inputs;
    for (int in : o.inputs) inputs.push_back(ops_[in].name);
    g.add(o.name, o.type, std::move(inputs), {o.rows, o.cols}, o.kind == Kind::kVariable ? o.name : "");
  }
  return g;
}

// ---- running ----

void Session::run_initializers(uint64_t seed) {
  values_.assign(graph_.variables().total(), 0.0f);
  graph_.variables().initialise(values_.data(), seed);
}

Result<Matrix> Session::run(Node fetch, const FeedDict& feeds) {
  auto values = run(std::vector<Node>{fetch}, feeds);
  if (!values.ok()) return values.status();
  return std::move(values->front());
}

Result<std::vector<Matrix>> Session::run(const std::vector<Node>& fetches, const FeedDict& feeds) {
  ops_run_ = 0;
  if (!graph_.status().ok()) return graph_.status().With("cannot run a graph that failed to build");
  const int n = graph_.size();
  std::vector<Matrix> values(n);
  std::vector<char> fed(n, 0), needed(n, 0);
  for (const auto& [node, value] : feeds) {
    if (!node.valid()) return Status::Config("feeds hold an invalid Node");
    const Graph::Op& o = graph_.op(node);
    if (value.cols() != o.cols || (o.rows != -1 && value.rows() != o.rows))
      return Status::Config("the value fed to " + quoted(o.name, o.rows, o.cols) + " has shape " +
                            shape_string({static_cast<int>(value.rows()), static_cast<int>(value.cols())}));
    values[node.id] = value;
    fed[node.id] = 1;
  }
  for (Node f : fetches) {
    if (!f.valid()) return Status::Config("cannot fetch an invalid Node");
    graph_.op(f);  // asserts that f belongs to this graph
    needed[f.id] = 1;
  }
  // Inputs are stored before the ops that use them, so one sweep down marks everything needed (stopping
  // at feeds) and one sweep up computes each needed op once.
  for (int id = n - 1; id >= 0; --id)
    if (needed[id] && !fed[id])
      for (int in : graph_.ops_[id].inputs) needed[in] = 1;
  for (int id = 0; id < n; ++id) {
    if (!needed[id] || fed[id]) continue;
    PODLAB_RETURN_IF_ERROR(compute(id, values));
    ++ops_run_;
  }
  std::vector<Matrix> out;
  for (Node f : fetches) out.push_back(values[f.id]);
  return out;
}

// Runs op `id`'s kernel on its inputs' values. Only ops whose shapes depend on unknown rows can fail
// here; the others were checked when the graph was built.
Status Session::compute(int id, std::vector<Matrix>& values) const {
  using Kind = Graph::Kind;
  const Graph::Op& o = graph_.ops_[id];
  const Matrix* a = o.inputs.empty() ? nullptr : &values[o.inputs[0]];
  const Matrix* b = o.inputs.size() < 2 ? nullptr : &values[o.inputs[1]];
  auto shape_of = [](const Matrix* m) {
    return shape_string({static_cast<int>(m->rows()), static_cast<int>(m->cols())});
  };
  Matrix& out = values[id];
  switch (o.kind) {
    case Kind::kConst:
      out = o.value;
      break;
    case Kind::kVariable: {
      const ParamInfo& p = graph_.variables()[o.variable];
      if (p.offset + p.size() > values_.size())
        return Status::Config("variable '" + o.name + "' is not initialised: call Session::run_initializers(seed) "
                              "after the graph's last variable is added");
      out = ConstMatrixMap(values_.data() + p.offset, p.rows, p.cols);
      break;
    }
    case Kind::kPlaceholder:
      return Status::Config("placeholder " + quoted(o.name, o.rows, o.cols) +
                            " needs a value: pass it in run()'s feeds");
    case Kind::kMatMul:
      if (a->cols() != b->rows())
        return Status::Config("MatMul '" + o.name + "': cannot multiply " + shape_of(a) + " by " + shape_of(b));
      out.noalias() = *a * *b;
      break;
    case Kind::kAdd:
    case Kind::kSub:
    case Kind::kMul: {
      const int r = broadcast_dim(static_cast<int>(a->rows()), static_cast<int>(b->rows()));
      const int c = broadcast_dim(static_cast<int>(a->cols()), static_cast<int>(b->cols()));
      if (r < 0 || c < 0)
        return Status::Config(o.type + " '" + o.name + "': shapes " + shape_of(a) + " and " + shape_of(b) +
                              " do not broadcast");
      const Matrix x = expand(*a, r, c), y = expand(*b, r, c);
      if (o.kind == Kind::kAdd) out = x + y;
      else if (o.kind == Kind::kSub) out = x - y;
      else out = x.cwiseProduct(y);
      break;
    }
    case Kind::kRelu:
      out = a->cwiseMax(0.0f);
      break;
    case Kind::kSum:
      if (o.axis == -1) out = Matrix::Constant(1, 1, a->sum());
      else if (o.axis == 0) out = a->colwise().sum();
      else out = a->rowwise().sum();
      break;
  }
  return Status::Ok();
}

}  // namespace podlab
