// Default hyper-parameters per model, as listed in the README (shared by the CLI and the GUI). Flags given on the command line win.
#pragma once

#include <string>

#include "engine/model_spec.h"

namespace podlab {

struct TrainDefaults {
  const char* optimizer;
  float lr;
  int batch;
  int epochs;
  float decay_per_epoch;  // the learning rate is multiplied by this once per epoch (1: constant)
};

inline TrainDefaults train_defaults(ModelSpec::Kind kind) {
  switch (kind) {
    case ModelSpec::Kind::kSoftmax: return {"adam", 0.005f, 100, 5, 0.7f};
    case ModelSpec::Kind::kMlp: return {"adam", 0.003f, 100, 5, 0.5f};
    case ModelSpec::Kind::kCnn: return {"adam", 0.001f, 50, 3, 0.5f};
    case ModelSpec::Kind::kLstm: return {"adam", 0.003f, 100, 3, 0.5f};
  }
  return {"sgd", 0.1f, 100, 5, 1.0f};
}

}  // namespace podlab
