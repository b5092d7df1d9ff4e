// A model described as a graph of named ops, for drawing (GUI, TensorBoard's graph view) and for
// placement tables. Names use '/' for name scopes ("layer1/MatMul"), as TensorFlow does.
#pragma once

#include <string>
#include <vector>

namespace podlab {

struct GraphOp {
  std::string name;                 // "layer1/MatMul"
  std::string op;                   // "MatMul", "Add", "Relu", "Conv2D", "VariableV2", "Placeholder", ...
  std::vector<std::string> inputs;  // names of the ops feeding this one
  std::vector<int> shape;           // output shape, -1 for the batch dimension
  std::string variable;             // for "VariableV2" ops: the parameter's name in the flat buffer
};

struct ModelGraph {
  std::vector<GraphOp> ops;
  // Adds an op and returns its name.
  const std::string& add(std::string name, std::string op, std::vector<std::string> inputs,
                         std::vector<int> shape, std::string variable = "") {
    ops.push_back(GraphOp{std::move(name), std::move(op), std::move(inputs), std::move(shape),
                          std::move(variable)});
    return ops.back().name;
  }
};

// "[-1,28,28,1]"-style text for a shape.
std::string shape_string(const std::vector<int>& shape);

}  // namespace podlab
