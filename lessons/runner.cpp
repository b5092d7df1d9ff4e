// Step execution and check evaluation; see runner.h for the variables a check can read.
#include "lessons/runner.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/data/dataset.h"
#include "lessons/child_process.h"

namespace podlab {
namespace {

using json = nlohmann::json;

std::string sanitize(const std::string& key) {
  std::string out = key;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  return out;
}

std::string join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

void flatten(const json& j, const std::string& name, Variables& out) {
  if (j.is_boolean()) {
    if (!name.empty()) out[name] = j.get<bool>() ? 1.0 : 0.0;
  } else if (j.is_number()) {
    if (!name.empty()) out[name] = j.get<double>();
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) flatten(it.value(), join(name, sanitize(it.key())), out);
  } else if (j.is_array() && !name.empty()) {
    out[name + ".count"] = static_cast<double>(j.size());
    // Per element, then min/max/sum/mean of each field over the elements that have it.
    std::map<std::string, std::vector<double>> fields;
    for (size_t i = 0; i < j.size(); ++i) {
      Variables element;
      flatten(j[i], "", element);
      if (j[i].is_number() || j[i].is_boolean())
        element[""] = j[i].is_boolean() ? j[i].get<bool>() : j[i].get<double>();
      for (const auto& kv : element) {
        out[join(name, std::to_string(i)) + (kv.first.empty() ? "" : "." + kv.first)] = kv.second;
        fields[kv.first].push_back(kv.second);
      }
    }
    for (const auto& f : fields) {
      const std::string base = f.first.empty() ? name : join(name, f.first);
      double sum = 0;
      for (double v : f.second) sum += v;
      out[base + ".min"] = *std::min_element(f.second.begin(), f.second.end());
      out[base + ".max"] = *std::max_element(f.second.begin(), f.second.end());
      out[base + ".sum"] = sum;
      out[base + ".mean"] = sum / static_cast<double>(f.second.size());
    }
  }
}

std::string format_value(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::string self_executable() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

Variables variables_from_output(const std::string& out, int exit_code, double seconds) {
  Variables vars;
  // A single JSON document, possibly over several lines (e.g. `podlab k8s render --json`): an object
  // gives its fields, an array is flattened under the name "items".
  json whole = json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (whole.is_object() || whole.is_array()) {
    flatten(whole, whole.is_array() ? "items" : "", vars);
    vars["exit_code"] = exit_code;
    vars["wall_seconds"] = seconds;
    return vars;
  }
  json last;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    const size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] != '{') continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;
    if (j.contains("event") && j["event"].is_string()) flatten(j, sanitize(j["event"].get<std::string>()), vars);
    if (j.contains("work") && j["work"].is_string()) flatten(j, sanitize(j["work"].get<std::string>()), vars);
    last = std::move(j);
  }
  if (last.is_object()) flatten(last, "", vars);
  vars["exit_code"] = exit_code;
  vars["wall_seconds"] = seconds;
  return vars;
}

StepOutcome run_step(const Step& step, const RunOptions& options) {
  StepOutcome o;
  if (step.gui) {
    o.skipped = true;
    return o;
  }
  const std::string binary = options.podlab_binary.empty() ? self_executable() : options.podlab_binary;
  if (binary.empty()) {
    o.error = "cannot find the podlab executable to run the step";
    return o;
  }
  ChildOptions co;
  co.work_dir = options.work_dir;
  co.timeout_s = step.timeout_s * options.timeout_scale;
  co.grace_s = 10;  // podlab stops politely on SIGTERM (saves a checkpoint, stops its tasks)
  co.on_stdout_line = options.on_stdout_line;
  co.cancel = options.cancel;
  if (!options.data_dir.empty()) co.extra_env.push_back("PODLAB_DATA=" + options.data_dir);
  ChildResult r = run_child(binary, step.run_args(options.fast), co);
  o.started = r.started && r.error.empty();
  o.timed_out = r.timed_out;
  o.cancelled = r.cancelled;
  o.exit_code = r.exit_code;
  o.seconds = r.seconds;
  o.out = std::move(r.out);
  o.err = std::move(r.err);
  if (!r.error.empty())
    o.error = r.error;
  else if (r.timed_out)
    o.error = "timed out after " + format_value(co.timeout_s) + " s (the step's timeout=) and was stopped";
  else if (r.cancelled)
    o.error = "stopped on request";
  o.variables = variables_from_output(o.out, o.exit_code, o.seconds);
  o.variables["timed_out"] = r.timed_out ? 1.0 : 0.0;
  return o;
}

std::vector<CheckResult> evaluate_checks(const Step& step, const StepOutcome& outcome, bool fast) {
  std::vector<CheckResult> results;
  // A step stopped at its timeout fails every check, unless its checks ask about the timeout: then
  // the lesson expects it (a job that hangs on purpose) and the checks read what it printed.
  bool expects_timeout = false;
  for (const Check& c : step.checks) {
    const std::vector<std::string> names = c.expression.names();
    expects_timeout |= std::find(names.begin(), names.end(), "timed_out") != names.end();
  }
  for (const Check& c : step.checks) {
    if (c.mode == CheckMode::kFast && !fast) continue;
    if (c.mode == CheckMode::kNormal && fast) continue;
    CheckResult r;
    r.check = &c;
    if (outcome.skipped) {
      r.detail = "the step did not run";
    } else if (!outcome.started || (outcome.timed_out && !expects_timeout) || outcome.cancelled) {
      r.detail = outcome.error;
    } else {
      Result<bool> v = c.expression.test(outcome.variables);
      if (!v.ok()) {
        r.detail = v.status().message();
      } else {
        r.passed = *v;
        for (const std::string& name : c.expression.names())
          r.detail += (r.detail.empty() ? "" : ", ") + name + " = " + format_value(outcome.variables.at(name));
      }
    }
    results.push_back(std::move(r));
  }
  return results;
}

Status check_lesson_dataset(const Lesson& lesson, const std::string& data_dir) {
  const std::string& name = lesson.meta.dataset;
  if (name.empty() || name == "none") return Status::Ok();
  if (!locate_dataset(name, data_dir).empty()) return Status::Ok();
  std::string dirs;
  for (const std::string& d : dataset_search_dirs(name, data_dir)) dirs += (dirs.empty() ? "" : ", ") + d;
  const std::string how = name == "fashion-mnist"
                              ? "install Debian's dataset-fashion-mnist or run `podlab data fetch fashion-mnist`"
                              : "run `podlab data fetch " + name + "`";
  return Status::Data(lesson.path + ": the lesson needs the " + name + " dataset, which is not in " + dirs + "; " +
                      how + " (or point --data at a directory holding it)");
}

}  // namespace podlab
