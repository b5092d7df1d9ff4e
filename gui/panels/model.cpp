// Model panel: network kind and shape, optimiser, learning rate, batch, seed; parameter count and
// FLOPs of the edited network. Like TensorFlow Playground, edits apply on Reset.
#include "engine/network.h"
#include "gui/state.h"

namespace podlab::gui {
namespace {

void refresh_summary(GuiState& s) {
  // The input shape of the dataset in use, else MNIST's.
  const Shape input = s.view.status.data ? s.view.status.data->input_shape() : Shape{28, 28, 1};
  if (s.summary.spec == s.setup.model && s.summary.input == input) return;
  s.summary = ModelSummary{};
  s.summary.spec = s.setup.model;
  s.summary.input = input;
  auto spec = ModelSpec::parse(s.setup.model);
  if (!spec.ok()) {
    s.summary.error = spec.status().message();
    return;
  }
  auto net = Network::build(*spec, input, 10);
  if (!net.ok()) {
    s.summary.error = net.status().message();
    return;
  }
  s.summary.parameters = static_cast<int64_t>((*net)->layout().parameter_count());
  s.summary.forward_flops = (*net)->forward_flops_per_sample();
}

}  // namespace

void draw_model_panel(GuiState& s) {
  const Text& t = s.t;
  ImGui::TextUnformatted(t(Msg::kPanelModel));
  ModelEdit& m = s.model_edit;
  const char* kinds[] = {"softmax", "mlp", "cnn", "lstm"};
  const Msg kind_tips[] = {Msg::kTipSoftmax, Msg::kTipMlp, Msg::kTipCnn, Msg::kTipLstm};
  bool kind_changed = false;
  for (int k = 0; k < 4; ++k) {
    if (k) ImGui::SameLine();
    if (ImGui::RadioButton(kinds[k], m.kind == k) && m.kind != k) {
      m.kind = k;
      kind_changed = true;
    }
    item_tooltip(t(kind_tips[k]));
  }
  if (m.kind == 1) {
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
    ImGui::InputText(label(t(Msg::kHiddenLayers), "hidden"), m.hidden, sizeof m.hidden,
                     ImGuiInputTextFlags_CharsDecimal);
    item_tooltip(t(Msg::kTipHiddenLayers));
    const char* acts[] = {"relu", "tanh", "sigmoid"};
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
    ImGui::Combo(label(t(Msg::kActivation), "act"), &m.activation, acts, 3);
    item_tooltip(t(Msg::kTipActivation));
  } else if (m.kind == 3) {
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
    ImGui::InputInt(label(t(Msg::kLstmUnits), "units"), &m.lstm_units, 16, 64);
    m.lstm_units = std::clamp(m.lstm_units, 1, 1024);
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
    ImGui::SliderInt(label(t(Msg::kLstmLayers), "layers"), &m.lstm_layers, 1, 3);
  }
  s.setup.model = compose_model_spec(m);
  if (kind_changed) apply_model_defaults(s.setup);

  const char* opts[] = {"sgd", "momentum", "adam"};
  int opt = s.setup.optimizer == "sgd" ? 0 : s.setup.optimizer == "momentum" ? 1 : 2;
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
  if (ImGui::Combo(label(t(Msg::kOptimizer), "opt"), &opt, opts, 3)) s.setup.optimizer = opts[opt];
  item_tooltip(t(Msg::kTipOptimizer));
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
  ImGui::SliderFloat(label(t(Msg::kLearningRate), "lr"), &s.setup.lr, 1e-5f, 1.0f, "%.5f",
                     ImGuiSliderFlags_Logarithmic);
  item_tooltip(t(Msg::kTipLearningRate));
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
  ImGui::SliderInt(label(t(Msg::kBatch), "batch"), &s.setup.batch, 1, 1000, "%d", ImGuiSliderFlags_Logarithmic);
  item_tooltip(t(Msg::kTipBatch));
  int seed = static_cast<int>(s.setup.seed);
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
  if (ImGui::InputInt(label(t(Msg::kSeed), "seed"), &seed)) s.setup.seed = static_cast<uint64_t>(std::max(0, seed));
  item_tooltip(t(Msg::kTipSeed));
  if (ImGui::SmallButton(label(t(Msg::kModelDefaults), "defaults"))) apply_model_defaults(s.setup);

  refresh_summary(s);
  if (!s.summary.error.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(255, 110, 110, 255));
    ImGui::TextWrapped(t(Msg::kBadModel), s.summary.error.c_str());
    ImGui::PopStyleColor();
  } else {
    ImGui::Text(t(Msg::kParameters), human_count(static_cast<double>(s.summary.parameters)).c_str());
    item_tooltip(t(Msg::kTipParameters));
    ImGui::Text(t(Msg::kFlops), human_count(static_cast<double>(s.summary.forward_flops)).c_str(),
                human_count(3.0 * static_cast<double>(s.summary.forward_flops)).c_str());
    item_tooltip(t(Msg::kTipFlops));
  }
  if (s.setup != s.applied) {
    ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(255, 200, 80, 255));
    ImGui::TextUnformatted(t(Msg::kApplyOnReset));
    ImGui::PopStyleColor();
  }
}

}  // namespace podlab::gui
