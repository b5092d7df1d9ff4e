// Duplicate keys are found with nlohmann's parser callback: it reports each object's keys as they
// are read, so a stack of the keys seen per open object (and the index per open array, for the
// location in the message) is enough; the first repeat stops the parse.
#include "cluster/json_input.h"

#include <set>
#include <vector>

namespace podlab {
namespace {

using nlohmann::json;

struct DuplicateKey {
  std::string message;
};

// One open object or array, outermost first.
struct Open {
  bool object = false;
  std::set<std::string> keys;  // object: the keys read so far
  std::string key;             // object: the key whose value is being read
  size_t index = 0;            // array: the index of the element being read
};

// "cluster", "jobs[2].spec": where the innermost open object sits.
std::string location(const std::vector<Open>& open) {
  std::string at;
  for (size_t i = 0; i + 1 < open.size(); ++i) {
    if (open[i].object)
      at += (at.empty() ? "" : ".") + open[i].key;
    else
      at += "[" + std::to_string(open[i].index) + "]";
  }
  return at;
}

}  // namespace

Result<nlohmann::json> parse_json_input(const std::string& text, const std::string& what) {
  std::vector<Open> open;
  auto element_done = [&open] {
    if (!open.empty() && !open.back().object) ++open.back().index;
  };
  const json::parser_callback_t check = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: open.push_back({true, {}, {}, 0}); break;
      case json::parse_event_t::array_start: open.push_back({false, {}, {}, 0}); break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        open.pop_back();
        element_done();
        break;
      case json::parse_event_t::key: {
        const std::string key = parsed.get<std::string>();
        if (!open.back().keys.insert(key).second) {
          const std::string at = location(open);
          throw DuplicateKey{what + " has the key \"" + key + "\" twice" +
                             (at.empty() ? std::string(" at the top level") : " in \"" + at + "\"") +
                             ": a key may appear once per JSON object (parsers differ on which copy counts); "
                             "keep one \"" + key + "\" and delete the other"};
        }
        open.back().key = key;
        break;
      }
      case json::parse_event_t::value: element_done(); break;
    }
    return true;
  };
  try {
    return json::parse(text, check);
  } catch (const DuplicateKey& e) {
    return Status::Config(e.message);
  } catch (const json::parse_error& e) {
    return Status::Config(what + " is not valid JSON: " + e.what());
  }
}

}  // namespace podlab
