// Placement: round-robin deals whole variables (and so is lopsided for the MLP), balanced splits the
// buffer into equal aligned ranges; gather/scatter round-trip.
#include <catch2/catch.hpp>

#include <numeric>

#include "cluster/placement.h"
#include "engine/network.h"

using namespace podlab;

namespace {

ParamLayout mlp_layout() {
  auto net = Network::build(*ModelSpec::parse("mlp:200,200"), Shape{28, 28, 1}, 10);
  REQUIRE(net.ok());
  return (*net)->layout();
}

void check_cover(const Placement& p) {
  // Every float of [0, total) in exactly one shard, pieces aligned.
  std::vector<int> owner(p.total, -1);
  for (int k = 0; k < p.num_shards(); ++k)
    for (const Piece& piece : p.shards[k].pieces) {
      CHECK(piece.begin % kParamAlignFloats == 0);
      CHECK((piece.end % kParamAlignFloats == 0 || piece.end == p.total));
      for (size_t i = piece.begin; i < piece.end; ++i) {
        if (owner[i] != -1) FAIL("float " << i << " is in shards " << owner[i] << " and " << k);
        owner[i] = k;
      }
    }
  CHECK(std::count(owner.begin(), owner.end(), -1) == 0);
}

}  // namespace

TEST_CASE("round-robin puts the MLP's weights almost all on one of two ps", "[cluster]") {
  const ParamLayout layout = mlp_layout();
  auto p = make_placement(layout, 2, "round-robin");
  REQUIRE(p.ok());
  check_cover(*p);
  // Variables alternate weights, biases: ps 0 gets every weight matrix, ps 1 every bias.
  CHECK(p->shards[0].size() > 400 * p->shards[1].size());
  CHECK(placement_imbalance(*p) > 1.99);
  const std::string table = placement_table(*p, layout);
  CHECK(table.find("layer1/weights") != std::string::npos);
  CHECK(table.find("ps:1") != std::string::npos);

  auto one = make_placement(layout, 1, "round-robin");
  REQUIRE(one.ok());
  REQUIRE(one->shards[0].pieces.size() == 1);  // adjacent variables merge into one piece
  CHECK(one->shards[0].size() == layout.total());
}

TEST_CASE("balanced shards differ by at most one alignment unit", "[cluster]") {
  const ParamLayout layout = mlp_layout();
  for (int n : {1, 2, 3, 5, 8}) {
    auto p = make_placement(layout, n, "balanced");
    REQUIRE(p.ok());
    check_cover(*p);
    size_t lo = SIZE_MAX, hi = 0;
    for (const Shard& s : p->shards) {
      lo = std::min(lo, s.size());
      hi = std::max(hi, s.size());
      CHECK(s.pieces.size() == 1);
    }
    CHECK(hi - lo <= kParamAlignFloats);
  }
  auto p = make_placement(layout, 2, "balanced");
  // The split falls inside layer1/weights, and the table says so with a slice.
  CHECK(placement_table(*p, layout).find("layer1/weights[") != std::string::npos);
}

TEST_CASE("the placement table and shares count parameters, not alignment padding", "[cluster]") {
  const ParamLayout layout = mlp_layout();  // 199,210 parameters in 199,226 floats (biases of 200 padded to 208)
  REQUIRE(layout.parameter_count() == 199210);
  for (const char* strategy : {"round-robin", "balanced"})
    for (int n : {1, 2, 3, 7}) {
      INFO(strategy << " over " << n);
      auto p = make_placement(layout, n, strategy);
      REQUIRE(p.ok());
      // Every element of every variable is in exactly one share.
      std::vector<size_t> held(layout.params().size(), 0);
      size_t params = 0;
      for (const Shard& s : p->shards) {
        for (const VariableShare& v : shard_variables(s, layout)) {
          CHECK(v.last <= layout[static_cast<int>(v.index)].size());
          held[v.index] += v.floats();
        }
        params += shard_parameters(s, layout);
      }
      for (size_t i = 0; i < held.size(); ++i) CHECK(held[i] == layout[static_cast<int>(i)].size());
      CHECK(params == 199210);
    }
  auto one = make_placement(layout, 1, "round-robin");
  const std::string table = placement_table(*one, layout);
  CHECK(table.find("199210 parameters") != std::string::npos);
  CHECK(table.find("layer1/biases                           200") != std::string::npos);
  CHECK(table.find("208") == std::string::npos);
  CHECK(table.find("holds 199226 with alignment padding") != std::string::npos);
  // What a ps holds (and sends) includes the gaps between its variables: said beside its total.
  auto two = make_placement(layout, 2, "round-robin");
  REQUIRE(two.ok());
  CHECK(placement_table(*two, layout).find("410      1.6 KiB    0.2%  (holds 426 with alignment padding)") != std::string::npos);
}

TEST_CASE("placement errors and gather/scatter round trip", "[cluster]") {
  const ParamLayout layout = mlp_layout();
  CHECK(make_placement(layout, 0, "balanced").status().code() == StatusCode::kUsage);
  CHECK(make_placement(layout, 2, "random").status().code() == StatusCode::kUsage);
  auto p = make_placement(layout, 3, "round-robin");
  REQUIRE(p.ok());
  std::vector<float> flat(layout.total()), back(layout.total(), -1.0f);
  std::iota(flat.begin(), flat.end(), 0.0f);
  for (const Shard& s : p->shards) {
    std::vector<float> buf(s.size());
    gather_shard(s, flat.data(), buf.data());
    scatter_shard(s, buf.data(), back.data());
  }
  CHECK(back == flat);
}
