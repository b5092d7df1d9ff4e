// Placement strategies and the table printer.
#include "cluster/placement.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace podlab {
namespace {

void add_piece(Shard& s, size_t begin, size_t end) {
  if (begin == end) return;
  if (!s.pieces.empty() && s.pieces.back().end == begin) s.pieces.back().end = end;
  else s.pieces.push_back({begin, end});
}

// The padded extent of variable i: from its offset to the next variable's (or the end).
Piece variable_extent(const ParamLayout& layout, size_t i) {
  const auto& ps = layout.params();
  const size_t end = i + 1 < ps.size() ? ps[i + 1].offset : layout.total();
  return {ps[i].offset, end};
}

std::string human_bytes(double b) {
  char buf[32];
  if (b >= 1 << 20) std::snprintf(buf, sizeof buf, "%.2f MiB", b / (1 << 20));
  else if (b >= 1 << 10) std::snprintf(buf, sizeof buf, "%.1f KiB", b / (1 << 10));
  else std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

}  // namespace

size_t Shard::size() const {
  size_t n = 0;
  for (const Piece& p : pieces) n += p.size();
  return n;
}

Result<Placement> make_placement(const ParamLayout& layout, int num_ps, const std::string& strategy) {
  if (num_ps < 1) return Status::Usage("need at least one ps task (got " + std::to_string(num_ps) + ")");
  Placement p;
  p.strategy = strategy;
  p.total = layout.total();
  p.shards.resize(num_ps);
  if (strategy == "round-robin") {
    for (size_t i = 0; i < layout.params().size(); ++i) {
      const Piece v = variable_extent(layout, i);
      add_piece(p.shards[i % num_ps], v.begin, v.end);
    }
  } else if (strategy == "balanced") {
    // Equal counts of alignment units (the last one may be partial: the final variable is not
    // padded); shard sizes differ by at most one unit.
    const size_t units = (p.total + kParamAlignFloats - 1) / kParamAlignFloats;
    for (int k = 0; k < num_ps; ++k) {
      const size_t lo = units * k / num_ps, hi = units * (k + 1) / num_ps;
      add_piece(p.shards[k], lo * kParamAlignFloats, std::min(hi * kParamAlignFloats, p.total));
    }
  } else {
    return Status::Usage("unknown placement '" + strategy + "' (expected round-robin or balanced)");
  }
  return p;
}

void gather_shard(const Shard& s, const float* flat, float* out) {
  for (const Piece& p : s.pieces) {
    std::memcpy(out, flat + p.begin, p.size() * sizeof(float));
    out += p.size();
  }
}

void scatter_shard(const Shard& s, const float* in, float* flat) {
  for (const Piece& p : s.pieces) {
    std::memcpy(flat + p.begin, in, p.size() * sizeof(float));
    in += p.size();
  }
}

double placement_imbalance(const Placement& p) {
  size_t largest = 0;
  for (const Shard& s : p.shards) largest = std::max(largest, s.size());
  const double mean = static_cast<double>(p.total) / std::max(1, p.num_shards());
  return mean > 0 ? largest / mean : 1.0;
}

std::vector<VariableShare> shard_variables(const Shard& s, const ParamLayout& layout) {
  std::vector<VariableShare> shares;
  for (const Piece& piece : s.pieces) {
    for (size_t i = 0; i < layout.params().size(); ++i) {
      const ParamInfo& v = layout[static_cast<int>(i)];
      const size_t lo = std::max(v.offset, piece.begin), hi = std::min(v.offset + v.size(), piece.end);
      if (lo < hi) shares.push_back({i, lo - v.offset, hi - v.offset});
    }
  }
  return shares;
}

size_t shard_parameters(const Shard& s, const ParamLayout& layout) {
  size_t n = 0;
  for (const VariableShare& v : shard_variables(s, layout)) n += v.floats();
  return n;
}

std::string placement_table(const Placement& p, const ParamLayout& layout) {
  std::string out;
  char line[256];
  const size_t params = layout.parameter_count();
  std::snprintf(line, sizeof line, "placement %s over %d ps (%zu parameters, %s)\n", p.strategy.c_str(), p.num_shards(),
                params, human_bytes(params * 4.0).c_str());
  out += line;
  std::snprintf(line, sizeof line, "  %-6s %-30s %12s %12s\n", "task", "variable", "floats", "bytes");
  out += line;
  for (int k = 0; k < p.num_shards(); ++k) {
    for (const VariableShare& v : shard_variables(p.shards[k], layout)) {
      const ParamInfo& info = layout[static_cast<int>(v.index)];
      std::string name = info.name;
      if (v.first != 0 || v.last != info.size()) name += "[" + std::to_string(v.first) + ":" + std::to_string(v.last) + "]";
      std::snprintf(line, sizeof line, "  ps:%-3d %-30s %12zu %12s\n", k, name.c_str(), v.floats(),
                    human_bytes(v.floats() * 4.0).c_str());
      out += line;
    }
  }
  for (int k = 0; k < p.num_shards(); ++k) {
    const size_t n = shard_parameters(p.shards[k], layout);
    std::snprintf(line, sizeof line, "  ps:%-3d %-30s %12zu %12s  %5.1f%%", k, "(total)", n, human_bytes(n * 4.0).c_str(),
                  params ? 100.0 * n / params : 0.0);
    out += line;
    // Variables start on 16-float boundaries of the flat buffer: a ps holds (and sends) the gaps too.
    const size_t held = p.shards[static_cast<size_t>(k)].size();
    if (held != n) {
      std::snprintf(line, sizeof line, "  (holds %zu with alignment padding)", held);
      out += line;
    }
    out += "\n";
  }
  std::snprintf(line, sizeof line, "  imbalance (largest / mean shard): %.2f\n", placement_imbalance(p));
  out += line;
  return out;
}

}  // namespace podlab
