// The Lesson panel: a side panel right of the tabs with a lesson's prose, a Run button per step
// (the step runs on LessonSession's thread as a child podlab process), live output, each check's
// result with the values it read, quizzes with a reveal, and the tab each step is about highlighted.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "gui/lesson_session.h"
#include "gui/state.h"

namespace podlab::gui {
namespace {

const ImVec4 kHeading(1.0f, 0.82f, 0.4f, 1.0f);
const ImVec4 kCode(0.62f, 0.88f, 0.62f, 1.0f);
const ImVec4 kPass(0.45f, 0.9f, 0.45f, 1.0f);
const ImVec4 kFail(1.0f, 0.42f, 0.42f, 1.0f);
const ImVec4 kDim(0.65f, 0.65f, 0.7f, 1.0f);

// Text on a dark rounded background, as a code block (wrapped to the panel).
void code_block(const std::string& text, const ImVec4& colour = kCode) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->ChannelsSplit(2);
  dl->ChannelsSetCurrent(1);
  const ImVec2 pad = ImGui::GetStyle().FramePadding;
  ImGui::SetCursorPosY(ImGui::GetCursorPosY() + pad.y);
  ImGui::Indent(pad.x);
  ImGui::BeginGroup();
  ImGui::PushStyleColor(ImGuiCol_Text, colour);
  ImGui::PushTextWrapPos(ImGui::GetContentRegionMax().x - pad.x);
  ImGui::TextUnformatted(text.c_str(), text.c_str() + text.size());
  ImGui::PopTextWrapPos();
  ImGui::PopStyleColor();
  ImGui::EndGroup();
  ImGui::Unindent(pad.x);
  const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  dl->ChannelsSetCurrent(0);
  const float right = ImGui::GetWindowPos().x + ImGui::GetContentRegionMax().x;
  dl->AddRectFilled(ImVec2(a.x - pad.x, a.y - pad.y), ImVec2(std::max(b.x + pad.x, right), b.y + pad.y),
                    IM_COL32(24, 26, 32, 255), 4.0f);
  dl->ChannelsMerge();
  ImGui::SetCursorPosY(ImGui::GetCursorPosY() + pad.y);
}

void draw_prose(const std::vector<ProseBlock>& blocks) {
  for (const ProseBlock& b : blocks) {
    switch (b.kind) {
      case ProseBlock::Kind::kHeading:
        ImGui::Spacing();
        ImGui::PushStyleColor(ImGuiCol_Text, kHeading);
        ImGui::TextWrapped("%s", b.text.c_str());
        ImGui::PopStyleColor();
        if (b.level <= 2) ImGui::Separator();
        break;
      case ProseBlock::Kind::kParagraph: ImGui::TextWrapped("%s", b.text.c_str()); break;
      case ProseBlock::Kind::kQuote:
        ImGui::Indent();
        ImGui::PushStyleColor(ImGuiCol_Text, kDim);
        ImGui::TextWrapped("%s", b.text.c_str());
        ImGui::PopStyleColor();
        ImGui::Unindent();
        break;
      case ProseBlock::Kind::kListItem: {
        const float indent = ImGui::GetFontSize() * 0.8f * static_cast<float>(std::max(0, b.level - 1));
        if (indent > 0) ImGui::Indent(indent);
        ImGui::Bullet();
        ImGui::TextWrapped("%s", b.text.c_str());
        if (indent > 0) ImGui::Unindent(indent);
        break;
      }
      case ProseBlock::Kind::kCode: code_block(b.text); break;
      case ProseBlock::Kind::kTableRow:
        if (b.header) ImGui::PushStyleColor(ImGuiCol_Text, kHeading);
        ImGui::TextWrapped("%s", b.text.c_str());
        if (b.header) ImGui::PopStyleColor();
        break;
    }
  }
}

Msg tab_msg(Tab tab) {
  switch (tab) {
    case Tab::kData: return Msg::kPanelData;
    case Tab::kGraph: return Msg::kPanelGraph;
    case Tab::kInside: return Msg::kPanelInside;
    case Tab::kResults: return Msg::kPanelResults;
    case Tab::kCluster: return Msg::kPanelCluster;
    default: return Msg::kPanelTraining;
  }
}

void draw_quiz(GuiState& s, size_t qi, const Quiz& quiz) {
  const Text& t = s.t;
  ImGui::PushID(static_cast<int>(1000 + qi));
  ImGui::PushStyleColor(ImGuiCol_Text, kHeading);
  ImGui::TextUnformatted(t(Msg::kLessonQuiz));
  ImGui::PopStyleColor();
  ImGui::TextWrapped("%s", quiz.question.c_str());
  const bool revealed = s.quiz_revealed[qi];
  for (size_t i = 0; i < quiz.options.size(); ++i) {
    const QuizOption& o = quiz.options[i];
    if (revealed) ImGui::PushStyleColor(ImGuiCol_Text, o.correct ? kPass : kDim);
    ImGui::PushID(static_cast<int>(i));
    if (ImGui::RadioButton(o.text.c_str(), s.quiz_choice[qi] == static_cast<int>(i)))
      s.quiz_choice[qi] = static_cast<int>(i);
    ImGui::PopID();
    if (revealed) ImGui::PopStyleColor();
  }
  if (!revealed) {
    if (ImGui::SmallButton(t(Msg::kLessonReveal))) s.quiz_revealed[qi] = true;
  } else {
    // The right options are green; the explanation follows.
    if (!quiz.explanation.empty()) ImGui::TextWrapped("%s", quiz.explanation.c_str());
  }
  ImGui::PopID();
  ImGui::Spacing();
}

// One step: its command, Run / Stop / Show, the tab it is about, live output and check results.
void draw_step(GuiState& s, int i, const Step& step, const StepView& v, bool busy) {
  const Text& t = s.t;
  const int n = static_cast<int>(s.lesson->lesson()->steps.size());
  ImGui::PushID(i);
  ImGui::Spacing();
  char head[96];
  std::snprintf(head, sizeof head, t(Msg::kLessonStep), i + 1, n);
  ImGui::TextColored(kDim, "%s", head);
  Tab tab;
  const bool has_tab = lesson_step_tab(step, &tab);
  if (step.gui) {
    ImGui::SameLine();
    if (ImGui::SmallButton(label(t(Msg::kLessonShow), "show")) && has_tab) show_step_tab(s, step);
  } else if (v.state == StepView::State::kRunning || v.state == StepView::State::kQueued) {
    ImGui::SameLine();
    if (ImGui::SmallButton(label(t(Msg::kStop), "stop"))) s.lesson->stop();
  } else {
    ImGui::SameLine();
    ImGui::BeginDisabled(busy || !s.lesson->blocked().empty());
    if (s.lesson_run_x == 0 && s.lesson_run_y == 0) {
      const ImVec2 p = ImGui::GetCursorScreenPos();
      s.lesson_run_x = p.x + 4;
      s.lesson_run_y = p.y + 4;
    }
    if (ImGui::SmallButton(label(t(Msg::kLessonRun), "run"))) {
      s.lesson->run(i, i, s.lesson_fast);
      if (has_tab && s.lesson_follow) show_step_tab(s, step);
    }
    ImGui::EndDisabled();
  }
  if (has_tab) {
    ImGui::SameLine();
    char go[96];
    std::snprintf(go, sizeof go, "-> %s###goto", t(tab_msg(tab)));
    if (ImGui::SmallButton(go)) show_step_tab(s, step);
  }
  GuiSetup here = s.setup;
  bool processes = false;
  if (!step.gui && setup_from_step(step, here, &processes)) {
    ImGui::SameLine();
    if (ImGui::SmallButton(label(t(Msg::kLessonSetUpHere), "here"))) {
      here.language = s.setup.language;
      apply_setup(s, here);
      s.cluster_as_processes = processes;
      if (has_tab) show_tab_highlighted(s, tab);
    }
    item_tooltip(t(Msg::kTipLessonSetUpHere));
  }
  std::string cmd = "podlab";
  for (const std::string& a : step.run_args(s.lesson_fast && !step.gui))
    cmd += " " + (a.find_first_of(" \"'{}[]") == std::string::npos ? a : "'" + a + "'");
  code_block("$ " + cmd);
  if (step.gui) ImGui::TextColored(kDim, "%s", t(Msg::kLessonGuiStep));

  char line[128];
  switch (v.state) {
    case StepView::State::kIdle: break;
    case StepView::State::kQueued: ImGui::TextColored(kDim, "%s", t(Msg::kLessonQueued)); break;
    case StepView::State::kRunning:
      std::snprintf(line, sizeof line, t(Msg::kLessonRunning), v.seconds);
      ImGui::TextColored(kHeading, "%s", line);
      break;
    case StepView::State::kDone: {
      std::snprintf(line, sizeof line, t(Msg::kLessonExit), v.exit_code, v.seconds);
      ImGui::TextColored(v.exit_code == 0 ? kDim : kFail, "%s", line);
      if (!v.error.empty()) ImGui::TextColored(kFail, "%s", v.error.c_str());
      break;
    }
  }
  if (!v.output.empty() && v.state != StepView::State::kIdle) {
    // The last lines it printed, newest at the bottom.
    std::string tail;
    const size_t from = v.output.size() > 6 ? v.output.size() - 6 : 0;
    for (size_t k = from; k < v.output.size(); ++k) tail += (k > from ? "\n" : "") + v.output[k];
    code_block(tail, kDim);
  }
  if (v.state == StepView::State::kDone) {
    int passed = 0;
    for (const CheckView& c : v.checks) {
      passed += c.passed;
      const std::string text = std::string(c.passed ? "PASS " : "FAIL ") + c.text + "   [" + c.detail + "]";
      s.lesson_check_lines.push_back(text);
      ImGui::PushStyleColor(ImGuiCol_Text, c.passed ? kPass : kFail);
      ImGui::TextWrapped("%s", text.c_str());
      ImGui::PopStyleColor();
      if (!c.note.empty()) {
        ImGui::Indent();
        ImGui::TextColored(kDim, "# %s", c.note.c_str());
        ImGui::Unindent();
      }
    }
    if (!v.checks.empty()) {
      std::snprintf(line, sizeof line, t(Msg::kLessonChecks), passed, static_cast<int>(v.checks.size()));
      ImGui::TextColored(passed == static_cast<int>(v.checks.size()) ? kPass : kFail, "%s", line);
    }
    if (!v.stderr_tail.empty()) code_block(v.stderr_tail, kFail);
  } else if (!step.checks.empty()) {
    // Not run yet: the checks it will evaluate.
    for (const Check& c : step.checks) {
      if ((c.mode == CheckMode::kFast && !s.lesson_fast) || (c.mode == CheckMode::kNormal && s.lesson_fast)) continue;
      ImGui::PushStyleColor(ImGuiCol_Text, kDim);
      ImGui::TextWrapped("?  %s", c.expression.text().c_str());
      ImGui::PopStyleColor();
    }
  }
  ImGui::PopID();
}

void draw_lesson_picker(GuiState& s, const std::string& lang) {
  const Text& t = s.t;
  lesson_entries(s, lang);
  const Lesson* l = s.lesson->lesson();
  std::string current = l ? s.lesson_name + "  " + l->meta.title : t(Msg::kLessonPick);
  ImGui::SetNextItemWidth(-ImGui::GetFontSize() * 1.8f);
  // Another lesson only once no step runs: loading one stops the running step and waits for it.
  ImGui::BeginDisabled(s.lesson->busy());
  const bool picking = ImGui::BeginCombo("##lesson", current.c_str());
  ImGui::EndDisabled();
  if (picking) {
    for (const LessonEntry& e : s.lesson_entries) {
      const std::string item = e.name + "  " + (e.error.empty() ? e.meta.title : e.error);
      if (ImGui::Selectable(item.c_str(), e.name == s.lesson_name) && e.error.empty()) open_lesson(s, e.name, lang);
    }
    ImGui::EndCombo();
  }
  ImGui::SameLine();
  if (ImGui::SmallButton("x")) s.lesson_open = false;
  item_tooltip(t(Msg::kMenuLessonClose));
  if (s.lesson_entries.empty()) {
    char buf[600];
    std::snprintf(buf, sizeof buf, t(Msg::kLessonNone), (s.lessons_dir + "/" + lang).c_str());
    ImGui::TextWrapped("%s", buf);
  }
}

}  // namespace

bool lesson_step_tab(const Step& step, Tab* out) {
  if (!step.panel.empty() && parse_tab(step.panel, out)) return true;
  const std::vector<std::string>& a = step.args;
  if (a.empty()) return false;
  if (a[0] == "gui") {
    for (size_t i = 1; i + 1 < a.size(); ++i)
      if (a[i] == "--panel") return parse_tab(a[i + 1], out);
    return false;
  }
  struct Rule {
    const char* command;
    Tab tab;
  };
  static const Rule kRules[] = {{"train", Tab::kTraining}, {"graph", Tab::kGraph},   {"eval", Tab::kResults},
                                {"cluster", Tab::kCluster}, {"ps", Tab::kCluster},    {"worker", Tab::kCluster},
                                {"keys", Tab::kCluster},    {"k8s", Tab::kCluster},   {"data", Tab::kData}};
  for (const Rule& r : kRules)
    if (a[0] == r.command) {
      *out = r.tab;
      return true;
    }
  return false;
}

const std::vector<LessonEntry>& lesson_entries(GuiState& s, const std::string& lang) {
  if (s.lesson_entries_lang != lang) {
    s.lesson_entries = list_lessons(s.lessons_dir, lang);
    s.lesson_entries_lang = lang;
  }
  return s.lesson_entries;
}

bool setup_from_step(const Step& step, GuiSetup& setup, bool* processes) {
  const std::vector<std::string>& a = step.args;
  const bool train = !a.empty() && a[0] == "train";
  const bool cluster = a.size() >= 2 && a[0] == "cluster" && a[1] == "run";
  if (!train && !cluster) return false;
  GuiSetup g = setup;
  auto value = [&a](const std::string& flag) -> const std::string* {
    for (size_t i = 0; i + 1 < a.size(); ++i)
      if (a[i] == flag) return &a[i + 1];
    return nullptr;
  };
  // As the command line does: the model's own defaults, then the flags given.
  g.model = value("--model") ? *value("--model") : GuiSetup{}.model;
  apply_model_defaults(g);
  try {
    if (auto v = value("--optimizer")) g.optimizer = *v;
    if (auto v = value("--lr")) g.lr = std::stof(*v);
    if (auto v = value("--batch")) g.batch = std::stoi(*v);
    if (auto v = value("--seed")) g.seed = std::stoull(*v);
    if (auto v = value("--dataset")) g.dataset = *v;
    g.limit_train = value("--limit-train") ? std::stoi(*value("--limit-train")) : 0;
    if (cluster) {
      if (auto v = value("--ps")) g.cluster_ps = std::stoi(*v);
      if (auto v = value("--workers")) g.cluster_workers = std::stoi(*v);
      g.cluster_mode = value("--mode") ? *value("--mode") : "async";
      g.cluster_placement = value("--placement") ? *value("--placement") : "round-robin";
      g.cluster_backup = value("--replicas-to-aggregate") ? g.cluster_workers - std::stoi(*value("--replicas-to-aggregate")) : 0;
    }
  } catch (const std::exception&) {
    return false;  // a number that is not one: the step's own run reports it
  }
  if (!validate_setup(g).ok()) return false;
  setup = g;
  if (processes) *processes = cluster && value("--transport") && *value("--transport") == "processes";
  return true;
}

void show_step_tab(GuiState& s, const Step& step) {
  Tab tab;
  if (!lesson_step_tab(step, &tab)) return;
  if (tab == Tab::kGraph) show_lesson_graph(s, step.args);
  show_tab_highlighted(s, tab);
}

void show_tab_highlighted(GuiState& s, Tab tab) {
  s.selected = tab;
  s.select_tab_once = true;
  s.highlight_tab = tab;
  s.highlight_until = ImGui::GetTime() + 3.0;
}

bool open_lesson(GuiState& s, const std::string& name, const std::string& lang) {
  const std::string path = resolve_lesson_path(name, s.lessons_dir, lang);
  Status st = path.empty() ? Status::Io("no lesson " + name + " in " + s.lessons_dir + "/" + lang +
                                        " (podlab lesson list --lang " + lang + " shows the names)")
                           : s.lesson->load(path);
  if (!st.ok()) {
    s.lesson_message = st.message();
    return false;
  }
  const Lesson* l = s.lesson->lesson();
  s.lesson_name = std::filesystem::path(path).stem().string();
  s.lesson_lang = l->meta.language;
  s.lesson_message.clear();
  s.quiz_choice.assign(l->quizzes.size(), -1);
  s.quiz_revealed.assign(l->quizzes.size(), false);
  s.lesson_last_running = -1;
  s.lesson_open = true;
  return true;
}

void draw_lesson_panel(GuiState& s) {
  const Text& t = s.t;
  s.lesson_check_lines.clear();
  s.lesson_run_x = s.lesson_run_y = 0;
  if (!s.lesson) return;
  const std::string lang = lang_code(t.lang);
  // The UI language changed: the same lesson in the other language, once no step runs.
  if (s.lesson->lesson() && s.lesson_lang != lang && !s.lesson->busy() &&
      !resolve_lesson_path(s.lesson_name, s.lessons_dir, lang).empty())
    open_lesson(s, s.lesson_name, lang);

  ImGui::TextUnformatted(t(Msg::kPanelLesson));
  help_marker(t(Msg::kTipLesson));
  draw_lesson_picker(s, lang);
  if (!s.lesson_message.empty()) ImGui::TextColored(kFail, "%s", s.lesson_message.c_str());
  const Lesson* l = s.lesson->lesson();
  if (!l) return;

  const bool busy = s.lesson->busy();
  const std::vector<StepView> views = s.lesson->view();
  ImGui::TextColored(kDim, "%s · %s · %s", l->meta.level.c_str(), l->meta.duration.c_str(), l->meta.dataset.c_str());
  ImGui::Checkbox(label(t(Msg::kLessonFast), "fast"), &s.lesson_fast);
  item_tooltip(t(Msg::kTipLessonFast));
  ImGui::SameLine();
  ImGui::Checkbox(label(t(Msg::kLessonFollow), "follow"), &s.lesson_follow);
  item_tooltip(t(Msg::kTipLessonFollow));
  ImGui::SameLine();
  if (busy) {
    if (ImGui::SmallButton(label(t(Msg::kStop), "stopall"))) s.lesson->stop();
  } else {
    ImGui::BeginDisabled(!s.lesson->blocked().empty());
    if (ImGui::SmallButton(label(t(Msg::kLessonRunAll), "runall")))
      s.lesson->run(0, static_cast<int>(l->steps.size()) - 1, s.lesson_fast);
    ImGui::EndDisabled();
  }
  if (!s.lesson->blocked().empty()) ImGui::TextColored(kFail, "%s", s.lesson->blocked().c_str());
  char wd[600];
  std::snprintf(wd, sizeof wd, t(Msg::kLessonWorkDir), s.lesson->work_dir().c_str());
  ImGui::TextColored(kDim, "%s", wd);
  item_tooltip(wd);

  // A newly started step (Run all moves from step to step): follow it to its tab.
  const int running = s.lesson->running_step();
  if (running != s.lesson_last_running && running >= 0) {
    Tab tab;
    if (s.lesson_follow && lesson_step_tab(l->steps[static_cast<size_t>(running)], &tab))
      show_step_tab(s, l->steps[static_cast<size_t>(running)]);
    s.lesson_scroll_to_running = true;
  }
  s.lesson_last_running = running;

  ImGui::Separator();
  ImGui::BeginChild("lesson_text", ImVec2(0, 0), false);
  const auto& prose = s.lesson->prose();
  for (size_t q = 0; q < l->quizzes.size(); ++q)
    if (l->quizzes[q].after_step < 0) draw_quiz(s, q, l->quizzes[q]);
  for (size_t i = 0; i < l->steps.size(); ++i) {
    draw_prose(prose[i]);
    const bool is_running = static_cast<int>(i) == running;
    if (is_running) {
      ImGui::PushStyleColor(ImGuiCol_Separator, ImVec4(0.95f, 0.55f, 0.1f, 1.0f));
      ImGui::Separator();
      ImGui::PopStyleColor();
      if (s.lesson_scroll_to_running) {
        ImGui::SetScrollHereY(0.2f);
        s.lesson_scroll_to_running = false;
      }
    }
    draw_step(s, static_cast<int>(i), l->steps[i], views[i], busy);
    for (size_t q = 0; q < l->quizzes.size(); ++q)
      if (l->quizzes[q].after_step == static_cast<int>(i)) draw_quiz(s, q, l->quizzes[q]);
  }
  draw_prose(prose.back());
  ImGui::EndChild();
}

}  // namespace podlab::gui
