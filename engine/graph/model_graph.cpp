// Text helpers for model graphs.
#include "engine/graph/model_graph.h"

namespace podlab {

std::string shape_string(const std::vector<int>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i] < 0 ? "?" : std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace podlab
