// Model specs: parsing, printing, errors; networks built from them.
#include <catch2/catch.hpp>

#include "engine/network.h"

using namespace podlab;

TEST_CASE("model specs parse and print", "[model]") {
  for (const char* text : {"softmax", "mlp:200,200", "mlp:64:tanh", "cnn", "lstm:128x2", "lstm:32"}) {
    auto s = ModelSpec::parse(text);
    REQUIRE(s.ok());
    CHECK(s->to_string() == text);
  }
  auto mlp = ModelSpec::parse("mlp");
  REQUIRE(mlp.ok());
  CHECK(mlp->to_string() == "mlp:200,200");
  for (const char* bad : {"", "resnet", "mlp:", "mlp:200,,200", "mlp:-3", "mlp:20:swish", "lstm:0", "lstm:8x99"}) {
    auto s = ModelSpec::parse(bad);
    CHECK_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kUsage);
  }
}

TEST_CASE("networks have the expected parameter counts and graphs", "[model]") {
  const Shape mnist{28, 28, 1};
  auto count = [&](const char* text) {
    auto net = Network::build(*ModelSpec::parse(text), mnist, 10);
    REQUIRE(net.ok());
    return (*net)->layout().parameter_count();
  };
  CHECK(count("softmax") == 7850u);
  CHECK(count("mlp:200,200") == 784u * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10);
  // conv1 5*5*1*32+32, conv2 5*5*32*64+64, fc1 3136*1024+1024, fc2 1024*10+10
  CHECK(count("cnn") == 832u + 51264 + 3212288 + 10250);
  // lstm1 (28+128)*512+512, lstm2 (128+128)*512+512, out 128*10+10
  CHECK(count("lstm:128x2") == 80384u + 131584 + 1290);

  auto net = Network::build(*ModelSpec::parse("mlp:200,200"), mnist, 10);
  REQUIRE(net.ok());
  CHECK((*net)->forward_flops_per_sample() >= 2 * (784 * 200 + 200 * 200 + 200 * 10));
  const ModelGraph g = (*net)->describe();
  bool has_matmul = false, has_var = false;
  for (const GraphOp& op : g.ops) {
    has_matmul |= op.name == "layer1/MatMul";
    has_var |= op.op == "VariableV2" && op.variable == "layer2/weights";
  }
  CHECK(has_matmul);
  CHECK(has_var);
}
