// Parsing JSON that a user wrote (a cluster spec from --cluster or its file, TF_CONFIG). Stricter
// than plain nlohmann::json::parse: an object that names a key twice is an error, not "the last one
// wins", because a spec with two "ps" lists was meant to say something the parser would throw away.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "engine/status.h"

namespace podlab {

// Parses `text`. `what` names the input in errors ("the cluster spec", "TF_CONFIG"). kConfig error
// when the text is not valid JSON, or when any object in it, at any depth, repeats a key; that
// error names the key and where it is (e.g. at "cluster" for TF_CONFIG's cluster object).
// Never throws.
Result<nlohmann::json> parse_json_input(const std::string& text, const std::string& what);

}  // namespace podlab
