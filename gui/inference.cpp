// Single-image inference on the UI thread.
#include "gui/inference.h"

#include "engine/loss.h"

namespace podlab::gui {

bool InferenceModel::sync(const TrainingStatus& st) {
  if (!st.data || !st.weights) return false;
  bool changed = false;
  const Shape input = st.data->input_shape();
  if (!net_ || st.model_spec != spec_ || input != input_) {
    net_.reset();
    weights_.reset();
    spec_ = st.model_spec;
    input_ = input;
    changed = true;
    auto spec = ModelSpec::parse(spec_);
    if (!spec.ok()) {
      error_ = spec.status().message();
      return true;
    }
    auto net = Network::build(*spec, input, st.data->num_classes);
    if (!net.ok()) {
      error_ = net.status().message();
      return true;
    }
    net_ = std::move(*net);
    error_.clear();
  }
  if (st.weights != weights_ && st.weights->size() == net_->layout().total()) {
    weights_ = st.weights;
    weights_step_ = st.weights_step;
    net_->bind(weights_->data(), nullptr);
    changed = true;
  }
  return changed;
}

void InferenceModel::forward(const float* image, std::vector<float>& probs) {
  x_.resize(1, input_.size());
  for (int i = 0; i < input_.size(); ++i) x_(0, i) = image[i];
  softmax_rows(net_->forward(x_, false), probs_);
  probs.assign(probs_.data(), probs_.data() + probs_.cols());
}

}  // namespace podlab::gui
