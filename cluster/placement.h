// Placement: which parameter-server task holds which floats of the flat parameter buffer.
//   round-robin  whole variables dealt to ps 0, 1, ..., N-1, 0, ... in declaration order, like TF 1's
//                replica_device_setter; simple, but sizes follow the variables (for the MLP with 2 ps,
//                ps 0 gets all three weight matrices and ps 1 only the biases).
//   balanced     the buffer cut into N byte ranges of equal size (key-range partitioning, as ps-lite
//                does), splitting variables where needed; boundaries stay kParamAlignFloats-aligned.
// A shard is a list of pieces (contiguous ranges of the flat buffer); its floats, concatenated in
// piece order, form the shard's own coordinate space [0, size). Messages and the ps optimiser work
// in those coordinates; gather/scatter convert.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "engine/params.h"
#include "engine/status.h"

namespace podlab {

struct Piece {
  size_t begin = 0, end = 0;  // floats into the flat buffer; multiples of kParamAlignFloats, or end = total
  size_t size() const { return end - begin; }
};

struct Shard {
  std::vector<Piece> pieces;  // ascending, non-overlapping, adjacent pieces merged
  size_t size() const;        // floats
};

struct Placement {
  std::string strategy;       // "round-robin" | "balanced"
  size_t total = 0;           // layout.total()
  std::vector<Shard> shards;  // one per ps task; together they cover [0, total) exactly once
  int num_shards() const { return static_cast<int>(shards.size()); }
};

// Splits `layout` over `num_ps` tasks. Errors: unknown strategy, num_ps < 1. A ps may get an empty
// shard (round-robin with more ps than variables, or balanced with more ps than alignment units);
// that is allowed and shown in the table.
Result<Placement> make_placement(const ParamLayout& layout, int num_ps, const std::string& strategy);

// Copies shard `s` of the flat buffer `flat` into `out` (shard coordinates), and back.
void gather_shard(const Shard& s, const float* flat, float* out);
void scatter_shard(const Shard& s, const float* in, float* flat);

// A variable, or the part of it, that a shard holds: elements [first, last) of variable `index` of
// the layout, in the variable's own coordinates. Padding is never part of a share.
struct VariableShare {
  size_t index = 0, first = 0, last = 0;
  size_t floats() const { return last - first; }
};
// The shares of shard `s`, piece by piece, in layout order within each piece.
std::vector<VariableShare> shard_variables(const Shard& s, const ParamLayout& layout);
// Trainable parameters in shard `s`: its floats without the alignment padding that travels with them.
size_t shard_parameters(const Shard& s, const ParamLayout& layout);

// One row per (ps, variable or part of one), then per-ps totals and the imbalance
// (largest shard / mean shard size).
std::string placement_table(const Placement& p, const ParamLayout& layout);

// Largest shard size / mean shard size (1.0 is perfect balance).
double placement_imbalance(const Placement& p);

}  // namespace podlab
