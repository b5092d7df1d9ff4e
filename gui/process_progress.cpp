// Parsing the process run's JSON lines; see process_progress.h.
#include "gui/process_progress.h"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace podlab::gui {
namespace {

constexpr size_t kLogLines = 200;

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%6.1f s  ", s);
  return buf;
}

}  // namespace

void ProcessProgress::add_line(const std::string& line) {
  ++lines_seen;
  auto note = [this](const std::string& text) {
    log.push_back(seconds_text(elapsed_s) + text);
    if (log.size() > kLogLines) log.erase(log.begin());
  };
  if (line.empty() || line[0] != '{') {
    if (!line.empty()) note(line);
    return;
  }
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return;
  const std::string event = j.value("event", "");
  if (event == "progress") {
    elapsed_s = j.value("elapsed_s", elapsed_s);
    step = j.value("step", step);
    total_steps = j.value("total_steps", total_steps);
    samples_per_s = j.value("samples_per_s", 0.0);
    std::map<std::string, std::string> old_state;
    std::map<std::string, bool> old_dead;
    for (const ProcessTask& t : tasks) {
      old_state[t.name] = t.state;
      old_dead[t.name] = t.dead;
    }
    std::map<std::string, double> heard;  // task -> shortest age any running peer reports
    std::vector<ProcessTask> now;
    if (j.contains("tasks") && j["tasks"].is_array())
      for (const auto& e : j["tasks"]) {
        if (!e.is_object()) continue;
        ProcessTask t;
        t.name = e.value("task", "");
        t.step = e.value("step", int64_t{0});
        t.pushes = e.value("pushes", int64_t{0});
        t.applied = e.value("applied", int64_t{0});
        t.dropped = e.value("dropped", int64_t{0});
        t.loss = e.value("loss", 0.0);
        t.done = e.value("done", false);
        t.state = e.value("state", "");
        if (!t.done && e.contains("heartbeat_age_s") && e["heartbeat_age_s"].is_object())
          for (auto it = e["heartbeat_age_s"].begin(); it != e["heartbeat_age_s"].end(); ++it) {
            if (!it.value().is_number()) continue;
            const double age = it.value().get<double>();
            auto h = heard.find(it.key());
            if (h == heard.end() || age < h->second) heard[it.key()] = age;
          }
        now.push_back(std::move(t));
      }
    if (j.contains("dead") && j["dead"].is_array())
      for (const auto& d : j["dead"])
        if (d.is_string())
          for (ProcessTask& t : now)
            if (t.name == d.get<std::string>()) t.dead = true;
    for (ProcessTask& t : now) {
      if (auto h = heard.find(t.name); h != heard.end()) t.silent_s = h->second;
      if (!t.state.empty() && t.state != old_state[t.name]) note(t.name + ": " + t.state);
      if (t.dead && !old_dead[t.name]) note(t.name + ": no message for longer than the heartbeat timeout (DEAD)");
      if (!t.dead && old_dead[t.name]) note(t.name + ": heard from again");
    }
    tasks = std::move(now);
  } else if (event == "start") {
    started = true;
    note("started");
  } else if (event == "epoch") {
    test_accuracy.push_back(j.value("test_accuracy", 0.0));
    char buf[96];
    std::snprintf(buf, sizeof buf, "epoch %d: test accuracy %.4f", j.value("epoch", 0), j.value("test_accuracy", 0.0));
    note(buf);
  } else if (event == "checkpoint") {
    last_checkpoint_step = j.value("step", int64_t{0});  // every few steps: shown, not logged
  } else if (event == "result" || j.contains("test_accuracy")) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "done: test accuracy %.4f", j.value("test_accuracy", 0.0));
    note(buf);
  }
}

std::string task_of_command(const std::string& command) {
  std::istringstream in(command);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  if (words.size() < 2 || (words[1] != "ps" && words[1] != "worker")) return "";
  for (size_t i = 2; i + 1 < words.size(); ++i)
    if (words[i] == "--index") return words[1] + ":" + words[i + 1];
  return "";
}

}  // namespace podlab::gui
