// Default graph description shared by layers without variables.
#include "engine/layers/layer.h"

namespace podlab {

std::vector<int> batch_shape(Shape s) {
  if (s.h == 1 && s.w == 1) return {-1, s.c};
  if (s.h == 1) return {-1, s.w, s.c};
  return {-1, s.h, s.w, s.c};
}

std::string Layer::describe(ModelGraph& graph, const std::string& input) const {
  return graph.add(scope_ + "/" + kind(), kind(), {input}, batch_shape(output_shape()));
}

}  // namespace podlab
