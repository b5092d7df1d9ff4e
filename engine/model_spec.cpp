// Parsing and printing model specs.
#include "engine/model_spec.h"

#include <cstdlib>

namespace podlab {
namespace {

const char* kHelp = " (expected softmax, mlp:200,200[:relu|tanh|sigmoid], cnn or lstm:UNITS[xLAYERS])";

bool parse_positive(const std::string& s, int max, int* out) {
  if (s.empty() || s.size() > 7) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  const long v = std::strtol(s.c_str(), nullptr, 10);
  if (v <= 0 || v > max) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

Result<ModelSpec> ModelSpec::parse(const std::string& text) {
  ModelSpec spec;
  auto bad = [&](const std::string& why) { return Status::Usage("bad model spec '" + text + "': " + why + kHelp); };
  if (text == "softmax") {
    spec.kind = Kind::kSoftmax;
    spec.hidden.clear();
    return spec;
  }
  if (text == "cnn") {
    spec.kind = Kind::kCnn;
    spec.hidden.clear();
    return spec;
  }
  if (text == "mlp") return spec;
  if (text.rfind("mlp:", 0) == 0) {
    std::string rest = text.substr(4);
    const size_t colon = rest.find(':');
    if (colon != std::string::npos) {
      if (!parse_activation(rest.substr(colon + 1), &spec.activation))
        return bad("unknown activation '" + rest.substr(colon + 1) + "'");
      rest = rest.substr(0, colon);
    }
    spec.hidden.clear();
    size_t start = 0;
    while (true) {
      const size_t comma = rest.find(',', start);
      const std::string part = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      int units = 0;
      if (!parse_positive(part, 65536, &units)) return bad("layer size '" + part + "' is not an integer in 1..65536");
      spec.hidden.push_back(units);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (spec.hidden.size() > 16) return bad("at most 16 hidden layers");
    return spec;
  }
  if (text == "lstm" || text.rfind("lstm:", 0) == 0) {
    spec.kind = Kind::kLstm;
    spec.hidden.clear();
    if (text == "lstm") return spec;
    const std::string rest = text.substr(5);
    const size_t x = rest.find('x');
    if (!parse_positive(rest.substr(0, x), 4096, &spec.lstm_units))
      return bad("LSTM units '" + rest.substr(0, x) + "' is not an integer in 1..4096");
    if (x != std::string::npos && !parse_positive(rest.substr(x + 1), 8, &spec.lstm_layers))
      return bad("LSTM layer count '" + rest.substr(x + 1) + "' is not an integer in 1..8");
    return spec;
  }
  return bad("unknown model");
}

std::string ModelSpec::to_string() const {
  switch (kind) {
    case Kind::kSoftmax: return "softmax";
    case Kind::kCnn: return "cnn";
    case Kind::kLstm:
      return "lstm:" + std::to_string(lstm_units) + (lstm_layers > 1 ? "x" + std::to_string(lstm_layers) : "");
    case Kind::kMlp: {
      std::string s = "mlp:";
      for (size_t i = 0; i < hidden.size(); ++i) s += (i ? "," : "") + std::to_string(hidden[i]);
      if (activation != Activation::kRelu) {
        std::string a = activation_name(activation);
        for (char& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        s += ":" + a;
      }
      return s;
    }
  }
  return "?";
}

}  // namespace podlab
