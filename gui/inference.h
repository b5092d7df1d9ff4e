// The UI thread's own copy of the network, bound to the newest weights snapshot, for one-image
// forwards (activations in the Inside panel, the drawing canvas in Results). It never touches the
// trainer's buffers: it holds a shared_ptr to an immutable weights copy.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/network.h"
#include "gui/snapshot.h"

namespace podlab::gui {

class InferenceModel {
 public:
  // Rebuilds the network when the spec or input shape changed, rebinds when the weights changed.
  // Returns true when weights or model changed (cached results are stale).
  bool sync(const TrainingStatus& status);
  bool ready() const { return net_ && weights_; }
  Network* network() { return net_.get(); }
  const std::string& error() const { return error_; }
  int64_t weights_step() const { return weights_step_; }
  const std::shared_ptr<const FloatBuffer>& weights() const { return weights_; }

  // One image (features floats in [0, 1]) -> class probabilities; afterwards network()->activation(k)
  // holds each layer's output for it.
  void forward(const float* image, std::vector<float>& probs);

 private:
  std::unique_ptr<Network> net_;
  std::string spec_;
  Shape input_;
  std::shared_ptr<const FloatBuffer> weights_;
  int64_t weights_step_ = -1;
  std::string error_;
  Matrix x_, probs_;
};

}  // namespace podlab::gui
