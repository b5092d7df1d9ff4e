// The lesson panel's runner; see lesson_session.h.
#include "gui/lesson_session.h"

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lessons/runner.h"

namespace podlab::gui {
namespace {

namespace fs = std::filesystem;
constexpr size_t kOutputLines = 200;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A line the step printed, as people read it: JSON event lines as "event: key value, ...", the
// final JSON report as "result: ...", other lines as they are.
std::string readable_line(const std::string& line) {
  if (line.empty() || line[0] != '{') return line;
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return line;
  std::string out = j.contains("event") && j["event"].is_string() ? j["event"].get<std::string>() : "result";
  out += ":";
  for (auto it = j.begin(); it != j.end() && out.size() < 160; ++it) {
    if (it.key() == "event") continue;
    char buf[64];
    if (it.value().is_number_float())
      std::snprintf(buf, sizeof buf, "%.4g", it.value().get<double>());
    else if (it.value().is_number() || it.value().is_boolean())
      std::snprintf(buf, sizeof buf, "%s", it.value().dump().c_str());
    else if (it.value().is_string())
      std::snprintf(buf, sizeof buf, "%s", it.value().get<std::string>().c_str());
    else
      continue;  // objects and arrays: too long for a line
    out += " " + it.key() + " " + buf;
  }
  return out;
}

std::string last_lines(const std::string& text, int n) {
  size_t pos = text.size();
  while (pos > 0 && text[pos - 1] == '\n') --pos;
  const size_t end = pos;
  for (int i = 0; i < n && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  return text.substr(pos == 0 ? 0 : pos + 1, end - (pos == 0 ? 0 : pos + 1));
}

}  // namespace

LessonSession::LessonSession(std::string podlab_binary, std::string data_dir)
    : binary_(std::move(podlab_binary)), data_dir_(std::move(data_dir)) {}

LessonSession::~LessonSession() { close(); }

void LessonSession::join() {
  cancel_ = true;
  if (worker_.joinable()) worker_.join();
  cancel_ = false;
}

void LessonSession::close() {
  join();
  std::error_code ec;
  if (!work_dir_.empty()) fs::remove_all(work_dir_, ec);
  work_dir_.clear();
  lesson_.reset();
  prose_.clear();
  blocked_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  steps_.clear();
  running_ = -1;
}

Status LessonSession::load(const std::string& path) {
  Result<Lesson> loaded = load_lesson(path);
  if (!loaded.ok()) return loaded.status();
  std::string tmpl = (fs::temp_directory_path() / "podlab-lesson-XXXXXX").string();
  if (!mkdtemp(tmpl.data()))
    return Status::Io("cannot create a temporary directory in " + fs::temp_directory_path().string());
  close();
  work_dir_ = tmpl;
  lesson_ = std::make_unique<Lesson>(std::move(*loaded));
  for (const Step& step : lesson_->steps) prose_.push_back(prose_blocks(step.prose));
  prose_.push_back(prose_blocks(lesson_->closing_prose));
  const Status data = check_lesson_dataset(*lesson_, data_dir_);
  blocked_ = data.ok() ? "" : data.message();
  std::lock_guard<std::mutex> lock(mu_);
  steps_.assign(lesson_->steps.size(), StepView{});
  return Status::Ok();
}

bool LessonSession::run(int first, int last, bool fast) {
  if (!lesson_ || busy_ || first < 0 || last < first || last >= static_cast<int>(lesson_->steps.size())) return false;
  if (worker_.joinable()) worker_.join();  // the previous run has ended (busy_ is false)
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = first; i <= last; ++i)
      if (!lesson_->steps[i].gui) {
        steps_[i] = StepView{};
        steps_[i].state = StepView::State::kQueued;
        steps_[i].fast = fast;
      }
  }
  cancel_ = false;
  busy_ = true;
  worker_ = std::thread([this, first, last, fast] { work(first, last, fast); });
  return true;
}

void LessonSession::stop() { cancel_ = true; }

int LessonSession::running_step() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

std::vector<StepView> LessonSession::view() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<StepView> v = steps_;
  if (running_ >= 0) v[running_].seconds = now_s() - running_since_;
  return v;
}

void LessonSession::work(int first, int last, bool fast) {
  for (int i = first; i <= last; ++i) {
    const Step& step = lesson_->steps[i];
    if (step.gui) continue;
    if (cancel_ || !blocked_.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      steps_[i].state = StepView::State::kIdle;
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      steps_[i].state = StepView::State::kRunning;
      running_ = i;
      running_since_ = now_s();
    }
    RunOptions opt;
    opt.fast = fast;
    opt.podlab_binary = binary_;
    opt.work_dir = work_dir_;
    opt.data_dir = data_dir_;
    opt.cancel = &cancel_;
    opt.on_stdout_line = [this, i](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      std::vector<std::string>& out = steps_[i].output;
      out.push_back(readable_line(line));
      if (out.size() > kOutputLines) out.erase(out.begin(), out.begin() + (out.size() - kOutputLines));
    };
    const StepOutcome o = run_step(step, opt);
    std::vector<CheckView> checks;
    bool failed = o.exit_code != 0;
    for (const CheckResult& r : evaluate_checks(step, o, fast)) {
      checks.push_back(CheckView{r.check->expression.text(), r.check->note, r.passed, r.detail});
      failed |= !r.passed;
    }
    std::lock_guard<std::mutex> lock(mu_);
    StepView& v = steps_[i];
    v.state = StepView::State::kDone;
    v.seconds = o.seconds;
    v.exit_code = o.exit_code;
    v.error = o.error;
    v.checks = std::move(checks);
    if (failed) v.stderr_tail = last_lines(o.err, 8);
    running_ = -1;
  }
  busy_ = false;
}

}  // namespace podlab::gui
