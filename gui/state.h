// GuiState: everything the panels draw from and edit, in one plain struct (no function statics).
// The UI thread owns it. Training lives behind `session` (commands) and `view` (snapshots read once
// per frame); panels never touch the trainer's own buffers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gui/cluster_session.h"
#include "gui/graph_layout.h"
#include "gui/i18n.h"
#include "gui/inference.h"
#include "gui/plot.h"
#include "gui/process_progress.h"
#include "gui/setup_file.h"
#include "gui/snapshot.h"
#include "gui/textures.h"
#include "lessons/catalog.h"

namespace podlab::gui {

class TrainingSession;
class ClusterSession;
class ProcessRun;
class LessonSession;

enum class Tab { kTraining, kData, kGraph, kInside, kResults, kCluster, kCount };
// "training", "data", "graph", ... -> Tab; false for unknown names.
bool parse_tab(const std::string& name, Tab* out);
const char* tab_name(Tab tab);
const char* tab_names();  // "training, data, ..." for error messages

// The Model panel's fields; the spec string is built from them (compose_model_spec).
struct ModelEdit {
  int kind = 1;                  // 0 softmax, 1 mlp, 2 cnn, 3 lstm
  char hidden[64] = "200,200";   // mlp layer sizes
  int activation = 0;            // relu, tanh, sigmoid
  int lstm_units = 128, lstm_layers = 1;
};
std::string compose_model_spec(const ModelEdit& m);
void decompose_model_spec(const std::string& spec, ModelEdit& m);  // unknown specs leave m alone

// Parameter count and FLOPs of the edited spec, recomputed when the spec text changes.
struct ModelSummary {
  std::string spec;  // what this summary describes, for inputs of shape `input`
  Shape input;
  std::string error;
  int64_t parameters = 0, forward_flops = 0;
};

// Histograms of every variable at each weights snapshot, for the Inside tab.
inline constexpr int kHistogramBins = 48;
inline constexpr size_t kHistorySnapshots = 160;  // beyond this, every other old snapshot is dropped
struct WeightHistory {
  struct Snapshot {
    int64_t step = 0;
    std::vector<std::vector<float>> bins;  // [variable][bin]
  };
  std::vector<std::pair<float, float>> ranges;  // per variable, fixed at the first snapshot
  std::vector<Snapshot> snapshots;
};
void update_weight_history(WeightHistory& h, const Network& net, const FloatBuffer& w, int64_t step);

struct GuiState {
  Text t;
  bool cjk_font = false;          // a CJK font was loaded (else Chinese shows a hint)
  GuiSetup setup;                 // as edited; applied to the session by Reset
  GuiSetup applied;               // what the current model was built from
  ModelEdit model_edit;
  ModelSummary summary;
  TrainingSession* session = nullptr;
  SnapshotExchange* exchange = nullptr;
  SnapshotExchange::View view;    // refreshed at the start of every frame
  TextureStore* textures = nullptr;

  InferenceModel inference;       // the UI's own network on the newest weights snapshot
  WeightHistory history;
  uint64_t history_generation = 0;

  // Training tab
  PlotView loss_plot, accuracy_plot;
  bool wall_time_axis = false;
  // Data tab
  int data_page = 0;
  bool data_show_test = false;
  const void* data_counts_for = nullptr;  // the Dataset the counts below belong to
  std::vector<int> train_counts, test_counts;
  ImTextureID data_texture = nullptr;
  std::string data_texture_key;
  // Graph tab
  ModelGraph graph;
  std::string graph_spec;
  std::set<std::string> graph_expanded;
  GraphLayout graph_layout;
  bool graph_dirty = true;
  std::string graph_source;  // "" : the Graph tab shows the model; else the lesson step whose graph it shows
  // Inside tab
  std::string first_layer_key;
  ImTextureID first_layer_tex = nullptr;
  int first_layer_w = 0, first_layer_h = 0;
  int inside_sample = 0;
  std::string activation_key;
  std::vector<ImTextureID> activation_tex;
  std::vector<ImVec2> activation_size;
  std::vector<float> inside_probs;
  int hist_var = 0;
  // Results tab
  int results_cell_r = -1, results_cell_c = -1;
  std::string results_images_key;
  ImTextureID results_images = nullptr;
  int results_images_rows = 0;
  std::vector<float> canvas, canvas_probs;
  ImVec2 canvas_last = ImVec2(-1, -1);
  bool canvas_dirty = true;
  int64_t canvas_weights_step = -2;
  // Cluster tab
  ClusterSession* cluster = nullptr;
  ProcessRun* processes = nullptr;  // the "as processes" run (optional)
  bool cluster_as_processes = false;
  ProcessProgress proc_progress;    // parsed from the processes run's JSON lines
  std::string cluster_ckpt_dir;     // the processes run's --checkpoint-dir (a fresh temp dir per Start)
  std::map<std::string, std::pair<float, float>> proc_kill_buttons;  // task -> where its kill -9 was drawn (tests)
  ProcessRun* k8s_apply = nullptr;  // `podlab k8s apply` (optional)
  std::string kubectl_path;         // found at start-up ($KUBECTL or PATH); "" when not installed
  std::string k8s_message;          // why Apply did not start
  float k8s_apply_x = 0, k8s_apply_y = 0;    // where Apply and Status were drawn (scripted clicks in tests)
  float k8s_status_x = 0, k8s_status_y = 0;  // Status, or Stop while following
  bool k8s_watching = false;                  // k8s_apply runs `podlab k8s status --watch`
  std::string podlab_exe;           // the podlab binary for process runs ("": this process's own)
  ClusterStatus cluster_status;   // copied at the start of the tab's frame
  uint64_t cluster_rates_tick = 0;
  double cluster_prev_t = 0;
  std::vector<EndpointCounters> cluster_prev_counters;
  std::vector<int64_t> cluster_prev_pushes;
  std::vector<std::vector<double>> cluster_link_rates;  // [worker][ps] bytes/s
  std::vector<double> cluster_steps_per_s;
  std::vector<bool> cluster_slow;
  float cluster_latency_ms = 1, cluster_bandwidth_mbps = 0, cluster_drop_percent = 0;
  int cluster_epochs = 1;
  std::string cluster_message;
  char k8s_name[64] = "mnist";
  char k8s_image[128] = "localhost/podlab:latest";
  bool k8s_open = false;          // Kubernetes section open at start
  bool k8s_render_now = false;    // render on the next frame (tests, --panel cluster screenshots)
  std::string k8s_yaml;
  int k8s_docs = 0;
  // Lesson panel (a side panel right of the tabs)
  LessonSession* lesson = nullptr;
  bool lesson_open = false;
  std::string lessons_dir;                  // holds en/ and zh/
  std::vector<LessonEntry> lesson_entries;  // the listing for lesson_entries_lang
  std::string lesson_entries_lang;
  std::string lesson_name;                  // the loaded lesson's file name without .md ("03-mlp")
  std::string lesson_lang;                  // the language folder it was loaded from
  std::string lesson_message;               // the last load error
  bool lesson_fast = false, lesson_follow = true;
  std::vector<int> quiz_choice;             // per quiz: the option picked (-1: none)
  std::vector<bool> quiz_revealed;
  int lesson_last_running = -1;
  bool lesson_scroll_to_running = false;
  Tab highlight_tab = Tab::kTraining;       // the tab a lesson step is about, drawn highlighted
  double highlight_until = -1;              // ImGui time until which it is highlighted
  float lesson_run_x = 0, lesson_run_y = 0;  // the first runnable step's Run button (scripted clicks in tests)
  std::vector<std::string> lesson_check_lines;  // "PASS ops == 6  [ops = 6]" as drawn in the last frame
  // Set-up file
  char setup_path[512] = "podlab-setup.txt";
  std::string setup_message;
  bool setup_message_is_error = false;
  // Frame control
  Tab selected = Tab::kTraining;
  bool select_tab_once = false;   // make `selected` the open tab on the next frame
  bool quit = false;
  bool space_tapped = false;      // set by the window's key callback (a tap shorter than a frame)
  // Where the Play button was last drawn (screen pixels), for scripted clicks in tests.
  float play_button_x = 0, play_button_y = 0;
};

// Applies `setup` as both edited and applied state and resets the session with it.
void apply_setup(GuiState& s, const GuiSetup& setup);

// One frame of the whole UI: reads the newest snapshot, draws every panel. Call between
// ImGui::NewFrame() and ImGui::Render(). Needs no renderer (s.textures may be NullTextures).
void draw_frame(GuiState& s);

// Panels (gui/panels/*.cpp).
void draw_model_panel(GuiState& s);
void draw_training_controls(GuiState& s);
void draw_training_tab(GuiState& s);
void draw_data_tab(GuiState& s);
void draw_graph_tab(GuiState& s);
// Shows the hello graph of a lesson's `podlab graph [--layers N] [--weight W] [--random] [--scope S]`
// step (`args` without "podlab") in the Graph tab, every scope expanded, until "Show the model's graph".
// False (and nothing changed) when the flags do not build a graph.
bool show_lesson_graph(GuiState& s, const std::vector<std::string>& args);
void draw_inside_tab(GuiState& s);
void draw_results_tab(GuiState& s);
void draw_cluster_tab(GuiState& s);
// The Cluster tab's Start in processes mode: `podlab cluster run --transport processes --json ...`.
void start_cluster_processes(GuiState& s);
void draw_menu_bar(GuiState& s);
void draw_lesson_panel(GuiState& s);
// The tab a lesson step is about: its panel= attribute, else `podlab gui --panel NAME`, else from the
// command (train -> training, graph -> graph, eval -> results, cluster/ps/worker/keys/k8s -> cluster).
// False when none applies.
bool lesson_step_tab(const Step& step, Tab* out);
// Loads lesson `name` ("03-mlp", or a file) of s.lessons_dir in `lang` into s.lesson and opens the
// panel; false on error, with the message in s.lesson_message.
bool open_lesson(GuiState& s, const std::string& name, const std::string& lang);
// For a `train` or `cluster run` step: `setup` with the step's model, optimiser, learning rate,
// batch, seed, dataset, --limit-train and cluster shape (the model's defaults where the step gives
// none, as the command does); *processes tells whether it runs as processes. False (and `setup`
// unchanged) for other steps or values the GUI cannot take.
bool setup_from_step(const Step& step, GuiSetup& setup, bool* processes);
// The lessons of s.lessons_dir in `lang`, listed once per language.
const std::vector<LessonEntry>& lesson_entries(GuiState& s, const std::string& lang);
// Switches to `tab` and highlights it for a few seconds (a lesson step about it ran or was shown).
void show_tab_highlighted(GuiState& s, Tab tab);
// A lesson step's tab (lesson_step_tab), highlighted; for a `podlab graph` step with its graph.
void show_step_tab(GuiState& s, const Step& step);

// "?" marker after the last item with `text` as its tooltip; also the last item's own tooltip.
void help_marker(const char* text);
void item_tooltip(const char* text);
// "text###id": a label that changes with the language while the widget keeps its id.
const char* label(const char* text, const char* id);
// "1.23M", "45.6k", "789".
std::string human_count(double n);

}  // namespace podlab::gui
