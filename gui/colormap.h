// Colour maps for heat maps: diverging (weights: blue negative, orange positive, dark at zero) and
// sequential (activations, counts: dark -> yellow-white). Colours are ImGui's packed RGBA.
#pragma once

#include <algorithm>
#include <cstdint>

#include "imgui.h"

namespace podlab::gui {

// t in [-1, 1].
inline uint32_t diverging(float t) {
  t = std::clamp(t, -1.0f, 1.0f);
  const float a = t < 0 ? -t : t;
  return t >= 0 ? IM_COL32(static_cast<int>(255 * a), static_cast<int>(150 * a), static_cast<int>(40 * a), 255)
                : IM_COL32(static_cast<int>(50 * a), static_cast<int>(140 * a), static_cast<int>(255 * a), 255);
}

// t in [0, 1].
inline uint32_t sequential(float t) {
  t = std::clamp(t, 0.0f, 1.0f);
  return IM_COL32(static_cast<int>(255 * std::min(1.0f, t * 1.6f)), static_cast<int>(255 * t * t),
                  static_cast<int>(255 * t * t * t * t) + static_cast<int>(40 * (1 - t)), 255);
}

}  // namespace podlab::gui
