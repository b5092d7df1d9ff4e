// A small synthetic dataset for tests that need learnable data without files: 10 classes of 8x8
// images; class c lights a short bar whose place depends on c, over noise. Deterministic in `seed`.
#pragma once

#include <cstdint>

#include "engine/data/dataset.h"
#include "engine/rng.h"

namespace podlab::testing {

inline Split synthetic_split(int n, uint64_t seed) {
  Split s;
  s.count = n;
  s.rows = s.cols = 8;
  s.pixels.resize(static_cast<size_t>(n) * 64);
  s.labels.resize(n);
  Rng rng(seed);
  for (int i = 0; i < n; ++i) {
    const int c = static_cast<int>(rng.below(10));
    s.labels[i] = static_cast<uint8_t>(c);
    for (int k = 0; k < 64; ++k) s.pixels[i * 64 + k] = static_cast<uint8_t>(rng.below(60));
    for (int k = 0; k < 6; ++k) s.pixels[i * 64 + (c % 8) * 8 + (c / 8) * 2 + k % 6] = 250;
  }
  return s;
}

}  // namespace podlab::testing
