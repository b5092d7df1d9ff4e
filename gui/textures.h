// Images for panels (dataset grids, weights, filters) go through this interface, so panels can be
// drawn headless (NullTextures: no images, panels draw a frame instead) and with OpenGL (GlTextures
// in gl_textures.cpp). All calls come from the UI thread.
#pragma once

#include <cstdint>
#include <string>

#include "imgui.h"

namespace podlab::gui {

class TextureStore {
 public:
  virtual ~TextureStore() = default;
  // Creates or replaces the texture called `key` from w x h RGBA pixels (row-major, 0xAABBGGRR as
  // ImGui packs colours); returns the id to draw it with, or nullptr when there is no renderer.
  virtual ImTextureID update(const std::string& key, int w, int h, const uint32_t* rgba) = 0;
};

class NullTextures : public TextureStore {
 public:
  ImTextureID update(const std::string&, int, int, const uint32_t*) override { return nullptr; }
};

}  // namespace podlab::gui
