// JSON documents as YAML text, for Kubernetes manifests people read and `kubectl apply`.
// The output is block-style YAML 1.2 that also reads the same under YAML 1.1 parsers: a string is
// written plain only when no parser could take it for anything else (a number, a bool such as
// "yes"/"on", null, a date, a key, a sequence entry), otherwise double-quoted with JSON escapes (which YAML accepts).
// Object keys keep the order of the input text.
#pragma once

#include <string>

#include "engine/status.h"

namespace podlab {

// One YAML document (no leading "---") for the JSON value in `json_text`, ending in a newline.
// kInternal error when `json_text` is not JSON (callers pass text they rendered themselves).
Result<std::string> json_to_yaml(const std::string& json_text);

}  // namespace podlab
