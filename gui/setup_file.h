// The GUI's whole set-up (dataset, model, optimiser, seed, cluster shape, language) as a small text
// file that a teacher can share so a class starts from the same state:
//
//   # podlab gui set-up
//   format = 1
//   dataset = fashion-mnist
//   model = mlp:200,200
//   ...
//
// One `key = value` per line; `#` starts a comment; unknown keys and bad values are errors that name
// the file, the line and what would be accepted. Missing keys keep their defaults.
#pragma once

#include <string>

#include "engine/status.h"

namespace podlab::gui {

struct GuiSetup {
  std::string dataset;            // "" = mnist if found, else fashion-mnist
  std::string model = "mlp:200,200";
  std::string optimizer = "adam"; // sgd | momentum | adam
  float lr = 0.003f;
  int batch = 100;
  uint64_t seed = 1;
  int limit_train = 0;            // > 0: only the first N training samples
  double speed_limit = 0;         // optimiser steps per second; 0 = as fast as possible
  // Cluster tab (threads transport).
  int cluster_ps = 1, cluster_workers = 2;
  int cluster_backup = 0;         // sync: workers beyond the R = workers - backup aggregated per step
  std::string cluster_mode = "async";  // async | sync | ssp:K
  std::string cluster_placement = "round-robin";
  std::string language = "en";    // en | zh

  bool operator==(const GuiSetup& o) const;
  bool operator!=(const GuiSetup& o) const { return !(*this == o); }
};

// Checks every field; the message names the key and the accepted values.
Status validate_setup(const GuiSetup& s);

std::string setup_to_text(const GuiSetup& s);
// `source` names the text in error messages ("class.podlab:7: ...").
Result<GuiSetup> setup_from_text(const std::string& text, const std::string& source);

// Atomic write (temp file + rename); errors are kIo with the path.
Status save_setup(const GuiSetup& s, const std::string& path);
Result<GuiSetup> load_setup(const std::string& path);

// The model's default optimiser, learning rate and batch (engine/train_defaults.h) for `model`.
void apply_model_defaults(GuiSetup& s);

}  // namespace podlab::gui
