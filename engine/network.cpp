// Building layer stacks from specs, and running them.
#include "engine/network.h"

#include <algorithm>

#include "engine/layers/conv2d.h"
#include "engine/layers/dense.h"
#include "engine/layers/dropout.h"
#include "engine/layers/flatten.h"
#include "engine/layers/fused_dense.h"
#include "engine/layers/lstm.h"
#include "engine/layers/maxpool2d.h"

namespace podlab {

Result<std::unique_ptr<Network>> Network::build(const ModelSpec& spec, Shape input, int classes) {
  std::unique_ptr<Network> net(new Network());
  net->spec_ = spec;
  net->input_ = input;
  net->classes_ = classes;
  auto& L = net->layers_;
  auto shape = [&]() { return L.empty() ? input : L.back()->output_shape(); };
  auto flat = [&]() {
    if (shape().h != 1 || shape().w != 1) L.push_back(std::make_unique<Flatten>("flatten", shape()));
  };
  switch (spec.kind) {
    case ModelSpec::Kind::kSoftmax:
      flat();
      L.push_back(std::make_unique<Dense>("softmax", shape(), classes));
      break;
    case ModelSpec::Kind::kMlp: {
      flat();
      const bool relu = spec.activation == Activation::kRelu;
      for (size_t i = 0; i < spec.hidden.size(); ++i) {
        const std::string scope = "layer" + std::to_string(i + 1);
        L.push_back(std::make_unique<FusedDense>(scope, shape(), spec.hidden[i], spec.activation,
                                                 relu ? Init::kHeNormal : Init::kGlorotUniform));
      }
      L.push_back(std::make_unique<Dense>("output", shape(), classes));
      break;
    }
    case ModelSpec::Kind::kCnn: {
      if (input.h < 4 || input.w < 4) return Status::Config("the cnn model needs images of at least 4x4");
      // Conv2D + ReLU as one layer each (conv2d.h), as the MLP's Dense + ReLU are.
      L.push_back(std::make_unique<Conv2D>("conv1", shape(), 32, 5, 1, Padding::kSame, /*relu=*/true));
      L.push_back(std::make_unique<MaxPool2D>("pool1", shape(), 2, 2));
      L.push_back(std::make_unique<Conv2D>("conv2", shape(), 64, 5, 1, Padding::kSame, /*relu=*/true));
      L.push_back(std::make_unique<MaxPool2D>("pool2", shape(), 2, 2));
      flat();
      L.push_back(std::make_unique<FusedDense>("fc1", shape(), 1024, Activation::kRelu, Init::kHeNormal));
      L.push_back(std::make_unique<Dropout>("dropout", shape(), 0.5f));
      L.push_back(std::make_unique<Dense>("fc2", shape(), classes));
      break;
    }
    case ModelSpec::Kind::kLstm: {
      // Read the image row by row: T = rows, D = cols * channels.
      const Shape seq{1, input.h, input.w * input.c};
      Shape cur = seq;
      for (int i = 0; i < spec.lstm_layers; ++i) {
        const bool last = i + 1 == spec.lstm_layers;
        L.push_back(std::make_unique<Lstm>("lstm" + std::to_string(i + 1), cur, spec.lstm_units, !last));
        cur = L.back()->output_shape();
      }
      L.push_back(std::make_unique<Dense>("output", shape(), classes));
      break;
    }
  }
  bool vars_below = false;
  for (auto& layer : L) {
    const int before = static_cast<int>(net->layout_.params().size());
    layer->declare(net->layout_);
    const int after = static_cast<int>(net->layout_.params().size());
    net->view_.push_back(dynamic_cast<const Flatten*>(layer.get()) != nullptr);
    net->needs_din_.push_back(vars_below);
    net->dense_.push_back(dynamic_cast<Dense*>(layer.get()));
    net->vars_.emplace_back(before, after);
    vars_below |= after > before;
  }
  net->acts_.resize(L.size());
  net->out_.assign(L.size(), nullptr);
  net->grads_.resize(L.size());
  return net;
}

void Network::bind(const float* values, float* grads) {
  grad_buffer_ = grads;
  for (auto& layer : layers_) layer->bind(values, grads);
}

const Matrix& Network::forward(const Matrix& x, bool training) {
  input_batch_ = &x;
  return run_forward(0, x, training);
}

const Matrix& Network::forward_above(int k, const Matrix& out_k, bool training) {
  out_[k] = &out_k;
  return run_forward(static_cast<size_t>(k) + 1, out_k, training);
}

const Matrix& Network::run_forward(size_t first, const Matrix& x, bool training) {
  const Matrix* in = &x;
  for (size_t k = first; k < layers_.size(); ++k) {
    if (!view_[k]) {
      layers_[k]->forward(*in, acts_[k], training);
      in = &acts_[k];
    }
    out_[k] = in;
  }
  return *in;
}

void Network::backward(const Matrix& dlogits, bool overwrite) { run_backward(0, dlogits, overwrite); }

const Matrix& Network::backward_above(int k, const Matrix& dlogits, bool overwrite) {
  // Layer k has variables, so every layer above it computes dL/din.
  return *run_backward(static_cast<size_t>(k) + 1, dlogits, overwrite);
}

// Every layer with variables is reached: the walk stops only below the lowest of them. With
// `overwrite`, a Dense writes its gradients itself; other layers add, so their ranges are zeroed first.
const Matrix* Network::run_backward(size_t stop, const Matrix& dlogits, bool overwrite) {
  const Matrix* dout = &dlogits;
  for (size_t k = layers_.size(); k-- > stop && dout;) {
    if (view_[k]) continue;  // dL/din is dL/dout
    if (dense_[k]) {
      dense_[k]->set_overwrite_gradients(overwrite);
    } else if (overwrite) {
      for (int v = vars_[k].first; v < vars_[k].second; ++v)
        std::fill_n(grad_buffer_ + layout_[v].offset, layout_[v].size(), 0.0f);
    }
    const Matrix& in = k == 0 ? *input_batch_ : *out_[k - 1];
    Matrix* din = needs_din_[k] ? &grads_[k - 1] : nullptr;
    layers_[k]->backward(in, acts_[k], *dout, din);
    dout = din;
  }
  return dout;
}

const Dense* Network::input_dense(int* index) const {
  for (size_t k = 0; k < layers_.size(); ++k) {
    if (view_[k]) continue;
    if (!dense_[k] || k + 1 == layers_.size()) return nullptr;
    *index = static_cast<int>(k);
    return dense_[k];
  }
  return nullptr;
}

void Network::set_step_seed(uint64_t seed) {
  for (size_t k = 0; k < layers_.size(); ++k) layers_[k]->set_step_seed(derive_seed(seed, k));
}

int64_t Network::forward_flops_per_sample() const {
  int64_t f = 0;
  for (const auto& layer : layers_) f += layer->forward_flops();
  return f;
}

ModelGraph Network::describe() const {
  ModelGraph g;
  std::string cur = g.add("input", "Placeholder", {}, batch_shape(input_));
  for (const auto& layer : layers_) cur = layer->describe(g, cur);
  const std::string labels = g.add("labels", "Placeholder", {}, {-1});
  g.add("loss/SoftmaxCrossEntropy", "SparseSoftmaxCrossEntropyWithLogits", {cur, labels}, {});
  return g;
}

}  // namespace podlab
