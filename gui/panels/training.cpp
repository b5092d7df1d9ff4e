// Training: play / pause / step / reset and the speed limit (left column), and the live loss and
// accuracy plots (Training tab).
#include <cinttypes>

#include "gui/state.h"
#include "gui/training_session.h"

namespace podlab::gui {
namespace {

Msg phase_msg(const std::string& phase) {
  if (phase == "loading") return Msg::kPhaseLoading;
  if (phase == "running") return Msg::kPhaseRunning;
  if (phase == "paused") return Msg::kPhasePaused;
  if (phase == "error") return Msg::kPhaseError;
  return Msg::kPhaseReady;
}

// Series colours: train lighter, test stronger; loss warm, accuracy cool.
constexpr ImU32 kTrainColour = IM_COL32(120, 170, 255, 255);
constexpr ImU32 kTestColour = IM_COL32(255, 150, 60, 255);

}  // namespace

void draw_training_controls(GuiState& s) {
  const Text& t = s.t;
  ImGui::TextUnformatted(t(Msg::kPanelTraining));
  const bool running = s.session && s.session->running();
  const ImVec2 at = ImGui::GetCursorScreenPos();
  if (ImGui::Button(label(running ? t(Msg::kPause) : t(Msg::kPlay), "play"), ImVec2(ImGui::GetFontSize() * 5, 0)) &&
      s.session)
    s.session->set_running(!running);
  const ImVec2 size = ImGui::GetItemRectSize();
  s.play_button_x = at.x + size.x / 2;
  s.play_button_y = at.y + size.y / 2;
  item_tooltip(t(Msg::kTipPlay));
  ImGui::SameLine();
  if (ImGui::Button(label(t(Msg::kStep), "step")) && s.session) s.session->step_once();
  item_tooltip(t(Msg::kTipStep));
  ImGui::SameLine();
  if (ImGui::Button(label(t(Msg::kReset), "reset"))) apply_setup(s, s.setup);
  item_tooltip(t(Msg::kTipReset));

  float speed = static_cast<float>(s.setup.speed_limit);
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
  if (ImGui::SliderFloat(label(t(Msg::kSpeedLimit), "speed"), &speed, 0, 1000, speed == 0 ? "max" : "%.0f",
                         ImGuiSliderFlags_Logarithmic)) {
    s.setup.speed_limit = speed;
    s.applied.speed_limit = speed;  // applies at once, no reset needed
    if (s.session) s.session->set_speed_limit(speed);
  }
  item_tooltip(t(Msg::kTipSpeedLimit));

  const TrainingStatus& st = s.view.status;
  ImGui::Text("[%s]", t(phase_msg(st.phase)));
  if (st.phase == "error") {
    ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(255, 110, 110, 255));
    ImGui::TextWrapped("%s", st.error.c_str());
    ImGui::PopStyleColor();
  }
  ImGui::TextWrapped(t(Msg::kStatusLine), static_cast<long long>(st.step), st.epoch + 1, st.epoch_fraction * 100,
                     st.samples_per_s, st.learning_rate);
  item_tooltip(t(Msg::kTipSamplesPerS));
}

void draw_training_tab(GuiState& s) {
  const Text& t = s.t;
  const TrainingStatus& st = s.view.status;
  ImGui::Text(t(Msg::kLatest), st.train_loss, st.train_accuracy, st.test_loss, st.test_accuracy, st.test_samples);
  item_tooltip(t(Msg::kTipTrainTest));
  ImGui::Checkbox(label(t(Msg::kAgainstWallTime), "wall"), &s.wall_time_axis);
  item_tooltip(t(Msg::kTipAxis));
  ImGui::SameLine();
  if (ImGui::SmallButton(label(t(Msg::kFit), "fit"))) s.loss_plot.fit = s.accuracy_plot.fit = true;
  item_tooltip(t(Msg::kTipAxis));
  ImGui::SameLine();
  ImGui::TextDisabled("%s (?)", t(Msg::kLoss));
  item_tooltip(t(Msg::kTipLoss));
  ImGui::SameLine();
  ImGui::TextDisabled("%s (?)", t(Msg::kAccuracy));
  item_tooltip(t(Msg::kTipAccuracy));

  const char* x_label = s.wall_time_axis ? t(Msg::kXAxisWall) : t(Msg::kXAxisStep);
  const std::string train = t(Msg::kTrain), test = t(Msg::kTest);
  const auto& v = s.view.series;
  const PlotSeries loss[] = {{train.c_str(), &v[static_cast<int>(Series::kTrainLoss)], kTrainColour},
                             {test.c_str(), &v[static_cast<int>(Series::kTestLoss)], kTestColour}};
  const PlotSeries acc[] = {{train.c_str(), &v[static_cast<int>(Series::kTrainAccuracy)], kTrainColour},
                            {test.c_str(), &v[static_cast<int>(Series::kTestAccuracy)], kTestColour}};
  const float h = (ImGui::GetContentRegionAvail().y - ImGui::GetStyle().ItemSpacing.y) / 2;
  const float w = ImGui::GetContentRegionAvail().x;
  draw_plot("loss", x_label, t(Msg::kLoss), s.loss_plot, s.wall_time_axis, loss, 2, ImVec2(w, h));
  draw_plot("accuracy", x_label, t(Msg::kAccuracy), s.accuracy_plot, s.wall_time_axis, acc, 2, ImVec2(w, h));
}

}  // namespace podlab::gui
