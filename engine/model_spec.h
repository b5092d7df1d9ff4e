// Model specs: the short strings that name a network.
//   softmax            784 -> 10 (multinomial logistic regression)
//   mlp:200,200[:ACT]  784 -> 200 -> 200 -> 10, ACT relu (default) | tanh | sigmoid
//   cnn                the TensorFlow "Deep MNIST" tutorial network: conv 5x5x32, pool 2, conv 5x5x64,
//                      pool 2, fc 1024, dropout 0.5, fc 10 (all SAME, ReLU)
//   lstm:128x2         2 stacked LSTMs of 128 units reading the image row by row, then fc 10
//                      ("lstm:128" is one layer)
#pragma once

#include <string>
#include <vector>

#include "engine/layers/activation.h"
#include "engine/status.h"

namespace podlab {

struct ModelSpec {
  enum class Kind { kSoftmax, kMlp, kCnn, kLstm } kind = Kind::kMlp;
  std::vector<int> hidden = {200, 200};  // mlp layer sizes
  Activation activation = Activation::kRelu;
  int lstm_units = 128, lstm_layers = 1;

  static Result<ModelSpec> parse(const std::string& text);
  // The normalised text, parse(to_string()) == *this.
  std::string to_string() const;
};

inline constexpr const char* kDefaultModelSpec = "mlp:200,200";

}  // namespace podlab
