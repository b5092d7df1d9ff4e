// Default hyper-parameters per model, as listed in the README. Flags given on the command line win.
#pragma once

#include <string>

#include "engine/model_spec.h"

namespace podlab {

struct TrainDefaults {
  const char* optimizer;
  float lr;
  int batch;
  int epochs;
};

inline TrainDefaults train_defaults(ModelSpec::Kind kind) {
  switch (kind) {
    case ModelSpec::Kind::kSoftmax: return {"sgd", 0.5f, 100, 5};
    case ModelSpec::Kind::kMlp: return {"momentum", 0.05f, 100, 5};
    case ModelSpec::Kind::kCnn: return {"adam", 0.001f, 50, 3};
    case ModelSpec::Kind::kLstm: return {"adam", 0.002f, 100, 3};
  }
  return {"sgd", 0.1f, 100, 5};
}

}  // namespace podlab
