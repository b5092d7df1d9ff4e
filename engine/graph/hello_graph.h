// Lesson 1's "hello graph", shared by `podlab graph` and the desktop app's Graph tab: relu(x·W + b)
// in a name scope, stacked `layers` times. x is the constant (2, 2) [[1, 2], [-3, 1]] (two samples of
// two features); each layer's W is a variable of shape (in, 3) and b the constant (1, 3) [[1, -1, 0]].
#pragma once

#include <string>

#include "engine/graph/graph.h"

namespace podlab {

struct HelloGraphOptions {
  int layers = 1;              // 1..8
  float weight = 0.5f;         // every weight's start value (Init::kConstant) unless `random`
  bool random = false;         // Glorot-uniform weights instead
  std::string scope = "layer"; // each layer's name scope: "layer", "layer_1", ... as TensorFlow uniquifies
};

// Builds the graph into `g` and returns its output node (the last ReLU). Errors show in g.status().
Node build_hello_graph(Graph& g, const HelloGraphOptions& o);

}  // namespace podlab
