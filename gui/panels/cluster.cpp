// Cluster tab: the job as ps and worker threads (cluster/local_cluster) with a simulated network:
// shape and mode, a topology view with bytes/s per link, steps/s per worker, the staleness histogram,
// fault buttons; or as real processes (`podlab cluster run --transport processes`: live per-task
// progress and heartbeats from its JSON lines, kill -9 per task and the launcher's recovery); and
// the same job rendered as Kubernetes manifests, applied with `podlab k8s apply`.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "cluster/k8s_render.h"
#include "gui/cluster_session.h"
#include "gui/colormap.h"
#include "gui/process_run.h"
#include "gui/state.h"

namespace podlab::gui {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Per-worker steps/s and per-link bytes/s from the counters of successive ticks.
void update_rates(GuiState& s) {
  ClusterStatus& st = s.cluster_status;
  if (st.ticks == s.cluster_rates_tick) return;
  const double t = now_s();
  if (s.cluster_rates_tick != 0 && t > s.cluster_prev_t && st.live.workers.size() == s.cluster_prev_pushes.size()) {
    const double dt = t - s.cluster_prev_t;
    s.cluster_link_rates = link_rates(s.cluster_prev_counters, st.live.transport, st.num_ps, st.num_workers, dt);
    s.cluster_steps_per_s.assign(st.live.workers.size(), 0);
    for (size_t w = 0; w < st.live.workers.size(); ++w)
      s.cluster_steps_per_s[w] = (st.live.workers[w].pushes - s.cluster_prev_pushes[w]) / dt;
  }
  s.cluster_prev_counters = st.live.transport;
  s.cluster_prev_pushes.clear();
  for (const WorkerStats& w : st.live.workers) s.cluster_prev_pushes.push_back(w.pushes);
  s.cluster_prev_t = t;
  s.cluster_rates_tick = st.ticks;
}

Msg cluster_phase(const std::string& p) {
  if (p == "starting") return Msg::kPhaseStarting;
  if (p == "running") return Msg::kPhaseRunning;
  if (p == "stopping") return Msg::kPhaseStopping;
  if (p == "done") return Msg::kPhaseDone;
  if (p == "error") return Msg::kPhaseError;
  return Msg::kPhaseIdle;
}

std::string rate_text(double bytes_per_s) {
  char buf[32];
  if (bytes_per_s >= 1e6) std::snprintf(buf, sizeof buf, "%.1f MB/s", bytes_per_s / 1e6);
  else std::snprintf(buf, sizeof buf, "%.0f kB/s", bytes_per_s / 1e3);
  return buf;
}

constexpr int kProcessRestarts = 2;

std::string self_exe_path() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "podlab";
}

// `podlab cluster run --transport processes` with the tab's settings.
std::vector<std::string> process_command_line(const GuiState& s) {
  const GuiSetup& g = s.setup;
  char lr[32];
  std::snprintf(lr, sizeof lr, "%g", g.lr);
  std::vector<std::string> a = {s.podlab_exe.empty() ? self_exe_path() : s.podlab_exe, "cluster", "run", "--transport", "processes", "--json",
                                "--ps", std::to_string(g.cluster_ps), "--workers", std::to_string(g.cluster_workers),
                                "--mode", g.cluster_mode, "--placement", g.cluster_placement,
                                "--epochs", std::to_string(s.cluster_epochs), "--model", g.model,
                                "--optimizer", g.optimizer, "--lr", lr, "--batch", std::to_string(g.batch),
                                "--seed", std::to_string(g.seed)};
  if (g.cluster_mode == "sync") {
    a.push_back("--replicas-to-aggregate");
    a.push_back(std::to_string(g.cluster_workers - g.cluster_backup));
  }
  if (!g.dataset.empty()) a.insert(a.end(), {"--dataset", g.dataset});
  if (g.limit_train > 0) a.insert(a.end(), {"--limit-train", std::to_string(g.limit_train)});
  // So the kill -9 buttons show a recovery: dead tasks are restarted, a ps from the last checkpoint.
  a.insert(a.end(), {"--restart-failed", std::to_string(kProcessRestarts), "--checkpoint-dir", s.cluster_ckpt_dir,
                     "--ps-checkpoint-every-steps", "20"});
  return a;
}

// "ok 0.3 s" (green), "quiet 1.8 s" (yellow), "DEAD 3.4 s" (red) or "done" (grey).
void heartbeat_cell(const Text& t, const ProcessTask& task) {
  char buf[64];
  if (task.done) {
    ImGui::TextDisabled("%s", t(Msg::kProcDone));
  } else if (task.silent_s < 0) {
    ImGui::TextDisabled("-");
  } else if (task.dead) {
    std::snprintf(buf, sizeof buf, t(Msg::kProcDead), task.silent_s);
    ImGui::TextColored(ImVec4(1, 0.35f, 0.35f, 1), "%s", buf);
  } else if (task.silent_s > 1.0) {
    std::snprintf(buf, sizeof buf, t(Msg::kProcQuiet), task.silent_s);
    ImGui::TextColored(ImVec4(1, 0.8f, 0.3f, 1), "%s", buf);
  } else {
    std::snprintf(buf, sizeof buf, t(Msg::kProcOk), task.silent_s);
    ImGui::TextColored(ImVec4(0.45f, 0.9f, 0.45f, 1), "%s", buf);
  }
}

void processes_view(GuiState& s) {
  const Text& t = s.t;
  const ProcessRun::View v = s.processes->view(s.proc_progress.lines_seen);
  for (const std::string& line : v.lines) s.proc_progress.add_line(line);
  const ProcessProgress& p = s.proc_progress;
  std::map<std::string, pid_t> pids;  // task -> pid of its running process
  for (const ProcessRun::Task& task : v.children) pids[task_of_command(task.command)] = task.pid;

  if (v.pid > 0) ImGui::Text("pid %d  podlab cluster run --transport processes", static_cast<int>(v.pid));
  if (!v.running && v.exit_code >= 0) {
    ImGui::SameLine();
    ImGui::Text(t(Msg::kProcessExit), v.exit_code);
  }
  if (!s.cluster_ckpt_dir.empty()) {
    char buf[700];
    std::snprintf(buf, sizeof buf, t(Msg::kProcRestarts), s.cluster_ckpt_dir.c_str());
    ImGui::TextDisabled("%s", buf);
    if (p.last_checkpoint_step >= 0) {
      ImGui::SameLine();
      ImGui::TextDisabled("(%lld)", static_cast<long long>(p.last_checkpoint_step));
    }
  }
  if (p.total_steps > 0) {
    char txt[96];
    std::snprintf(txt, sizeof txt, "%lld / %lld  %.0f samples/s", static_cast<long long>(p.step),
                  static_cast<long long>(p.total_steps), std::max(0.0, p.samples_per_s));
    ImGui::ProgressBar(static_cast<float>(p.step) / static_cast<float>(p.total_steps), ImVec2(-1, 0), txt);
  }
  if (!p.test_accuracy.empty())  // every epoch's is in the log
    ImGui::Text(t(Msg::kClusterAccuracy), static_cast<int>(p.test_accuracy.size()), p.test_accuracy.back());

  // One row per task: progress, heartbeat, what it waits for (or the launcher's note), kill -9.
  s.proc_kill_buttons.clear();
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingFixedFit;
  if (!p.tasks.empty() && ImGui::BeginTable("proc_tasks", 7, flags)) {
    ImGui::TableSetupColumn(t(Msg::kProcTask));
    ImGui::TableSetupColumn("pid");
    ImGui::TableSetupColumn("step");
    ImGui::TableSetupColumn("loss");
    ImGui::TableSetupColumn(t(Msg::kProcHeartbeat));
    ImGui::TableSetupColumn(t(Msg::kProcFault));
    ImGui::TableSetupColumn(t(Msg::kProcState), ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableHeadersRow();
    for (const ProcessTask& task : p.tasks) {
      ImGui::PushID(task.name.c_str());
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(task.name.c_str());
      ImGui::TableNextColumn();
      const auto pid = pids.find(task.name);
      if (pid != pids.end()) ImGui::Text("%d", static_cast<int>(pid->second));
      else ImGui::TextDisabled("-");
      ImGui::TableNextColumn();
      char txt[48];
      std::snprintf(txt, sizeof txt, "%lld", static_cast<long long>(task.step));
      ImGui::ProgressBar(p.total_steps > 0 ? static_cast<float>(task.step) / static_cast<float>(p.total_steps) : 0.0f,
                         ImVec2(ImGui::GetFontSize() * 5, 0), txt);
      ImGui::TableNextColumn();
      if (task.name.rfind("worker", 0) == 0) ImGui::Text("%.3f", task.loss);
      ImGui::TableNextColumn();
      heartbeat_cell(t, task);
      item_tooltip(t(Msg::kTipProcHeartbeat));
      ImGui::TableNextColumn();
      ImGui::BeginDisabled(pid == pids.end() || !v.running);
      const ImVec2 at = ImGui::GetCursorScreenPos();
      if (ImGui::SmallButton(label(t(Msg::kProcKill9), "kill9")) && pid != pids.end()) {
        const Status st = s.processes->signal_task(pid->second, SIGKILL);
        char note[128];
        std::snprintf(note, sizeof note, t(Msg::kProcKilled), task.name.c_str(), static_cast<int>(pid->second));
        s.proc_progress.log.push_back(std::string("         ") + (st.ok() ? note : st.message()));
      }
      item_tooltip(t(Msg::kTipProcKill));
      ImGui::EndDisabled();
      s.proc_kill_buttons[task.name] = {at.x + 4, at.y + 4};
      ImGui::TableNextColumn();
      if (!task.state.empty()) ImGui::TextUnformatted(task.state.c_str());
      ImGui::PopID();
    }
    ImGui::EndTable();
  }
  ImGui::TextUnformatted(t(Msg::kProcLog));
  ImGui::BeginChild("proc_log", ImVec2(0, 0), true, ImGuiWindowFlags_HorizontalScrollbar);
  for (const std::string& line : p.log) ImGui::TextUnformatted(line.c_str());
  if (ImGui::GetScrollY() >= ImGui::GetScrollMaxY() - 1) ImGui::SetScrollHereY(1.0f);  // stick to the newest
  ImGui::EndChild();
}

void controls(GuiState& s, ClusterSession& c) {
  const Text& t = s.t;
  GuiSetup& g = s.setup;
  const bool procs = s.cluster_as_processes && s.processes;
  const bool busy = c.busy() || (s.processes && s.processes->running());
  ImGui::BeginDisabled(busy);
  if (ImGui::RadioButton(label(t(Msg::kAsThreads), "asthreads"), !s.cluster_as_processes)) s.cluster_as_processes = false;
  item_tooltip(t(Msg::kTipAsProcesses));
  if (s.processes) {
    ImGui::SameLine();
    if (ImGui::RadioButton(label(t(Msg::kAsProcesses), "asprocs"), s.cluster_as_processes)) s.cluster_as_processes = true;
    item_tooltip(t(Msg::kTipAsProcesses));
  }
  ImGui::EndDisabled();
  ImGui::BeginDisabled(busy);
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
  ImGui::SliderInt(label(t(Msg::kPsCount), "ps"), &g.cluster_ps, 1, 4);
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
  ImGui::SliderInt(label(t(Msg::kWorkerCount), "workers"), &g.cluster_workers, 1, 8);
  const char* modes[] = {"async", "sync", "ssp:1", "ssp:3"};
  int mode = 0;
  for (int i = 0; i < 4; ++i)
    if (g.cluster_mode == modes[i]) mode = i;
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
  if (ImGui::Combo(label(t(Msg::kMode), "mode"), &mode, modes, 4)) g.cluster_mode = modes[mode];
  item_tooltip(t(Msg::kTipMode));
  if (g.cluster_mode == "sync") {
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
    ImGui::SliderInt(label(t(Msg::kBackupWorkers), "backup"), &g.cluster_backup, 0, g.cluster_workers - 1);
    item_tooltip(t(Msg::kTipMode));
  }
  g.cluster_backup = std::clamp(g.cluster_backup, 0, g.cluster_workers - 1);
  const char* placements[] = {"round-robin", "balanced"};
  int pl = g.cluster_placement == "balanced" ? 1 : 0;
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
  if (ImGui::Combo(label(t(Msg::kPlacement), "placement"), &pl, placements, 2)) g.cluster_placement = placements[pl];
  item_tooltip(t(Msg::kTipPlacement));
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
  ImGui::SliderFloat(label(t(Msg::kLatency), "latency"), &s.cluster_latency_ms, 0, 50, "%.1f");
  item_tooltip(t(Msg::kTipNetwork));
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
  ImGui::SliderFloat(label(t(Msg::kBandwidth), "bw"), &s.cluster_bandwidth_mbps, 0, 1000, "%.0f");
  item_tooltip(t(Msg::kTipNetwork));
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
  ImGui::SliderInt(label(t(Msg::kEpochs), "epochs"), &s.cluster_epochs, 1, 10);
  ImGui::EndDisabled();

  if (!busy && procs) {
    if (ImGui::Button(label(t(Msg::kStart), "pstart"), ImVec2(ImGui::GetFontSize() * 5, 0))) {
      start_cluster_processes(s);
    }
  } else if (procs) {
    if (ImGui::Button(label(t(Msg::kStop), "pstop"), ImVec2(ImGui::GetFontSize() * 5, 0))) s.processes->stop();
  } else if (!busy) {
    if (ImGui::Button(label(t(Msg::kStart), "cstart"), ImVec2(ImGui::GetFontSize() * 5, 0))) {
      LinkModel link;
      link.latency_ms = s.cluster_latency_ms;
      link.bandwidth_mbps = s.cluster_bandwidth_mbps;
      const Status st = c.start(g, s.view.status.data, link, s.cluster_epochs);
      s.cluster_message = st.ok() ? "" : st.message();
      s.cluster_rates_tick = 0;
      s.cluster_link_rates.clear();
      s.cluster_steps_per_s.clear();
      s.cluster_slow.assign(LiveFaults::kMaxTasks, false);
      s.cluster_drop_percent = 0;
    }
  } else if (ImGui::Button(label(t(Msg::kStop), "cstop"), ImVec2(ImGui::GetFontSize() * 5, 0))) {
    c.stop();
  }
  if (!s.cluster_message.empty()) ImGui::TextColored(ImVec4(1, 0.45f, 0.45f, 1), "%s", s.cluster_message.c_str());
  if (procs) return;  // faults are the simulated network's: threads only
  ImGui::TextWrapped("%s", t(Msg::kClusterThreads));

  // Faults, live.
  const ClusterStatus& st = s.cluster_status;
  ImGui::Separator();
  ImGui::TextUnformatted(t(Msg::kFaults));
  item_tooltip(t(Msg::kTipFaults));
  ImGui::BeginDisabled(!busy);
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
  if (ImGui::SliderFloat(label(t(Msg::kDropMessages), "drop"), &s.cluster_drop_percent, 0, 50, "%.0f"))
    c.faults().loss = s.cluster_drop_percent / 100.0;
  s.cluster_slow.resize(LiveFaults::kMaxTasks, false);
  for (int w = 0; w < std::min(st.num_workers, LiveFaults::kMaxTasks); ++w) {
    ImGui::PushID(w);
    ImGui::Text("worker:%d", w);
    ImGui::SameLine(ImGui::GetFontSize() * 5);
    bool slow = s.cluster_slow[w];
    if (ImGui::Checkbox(label(t(Msg::kSlowX4), "slow"), &slow)) {
      s.cluster_slow[w] = slow;
      c.faults().worker_slowdown[w] = slow ? 4.0 : 0.0;
    }
    ImGui::SameLine();
    const bool dead = c.faults().worker_killed[w].load();
    ImGui::BeginDisabled(dead || w == 0);  // the chief runs the job; killing it is another lesson
    if (ImGui::SmallButton(label(t(Msg::kKill), "kill"))) c.faults().worker_killed[w] = true;
    ImGui::EndDisabled();
    if (dead) {
      ImGui::SameLine();
      ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "x");
    }
    ImGui::PopID();
  }
  for (int k = 0; k < std::min(st.num_ps, LiveFaults::kMaxTasks); ++k) {
    ImGui::PushID(100 + k);
    ImGui::Text("ps:%d", k);
    ImGui::SameLine(ImGui::GetFontSize() * 5);
    const bool dead = c.faults().ps_killed[k].load();
    ImGui::BeginDisabled(dead);
    if (ImGui::SmallButton(label(t(Msg::kKill), "kill"))) c.faults().ps_killed[k] = true;
    ImGui::EndDisabled();
    if (dead) {
      ImGui::SameLine();
      ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "x");
    }
    ImGui::PopID();
  }
  ImGui::EndDisabled();
}

void topology(GuiState& s, ClusterSession& c, float height) {
  const Text& t = s.t;
  const ClusterStatus& st = s.cluster_status;
  ImGui::TextUnformatted(t(Msg::kTopology));
  item_tooltip(t(Msg::kTipTopology));
  const float fs = ImGui::GetFontSize();
  const ImVec2 a = ImGui::GetCursorScreenPos();
  const float W = ImGui::GetContentRegionAvail().x, H = height;
  ImGui::InvisibleButton("topology", ImVec2(W, H));
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddRectFilled(a, ImVec2(a.x + W, a.y + H), IM_COL32(22, 24, 30, 255));
  if (st.num_ps == 0) return;
  const float bw = fs * 7, bh = fs * 3.2f;
  auto ps_pos = [&](int k) { return ImVec2(a.x + W * (k + 0.5f) / st.num_ps, a.y + fs * 0.5f + bh / 2); };
  auto w_pos = [&](int w) { return ImVec2(a.x + W * (w + 0.5f) / st.num_workers, a.y + H - fs * 0.5f - bh / 2); };
  double max_rate = 1;
  for (const auto& row : s.cluster_link_rates)
    for (double r : row) max_rate = std::max(max_rate, r);
  for (int w = 0; w < st.num_workers; ++w)
    for (int k = 0; k < st.num_ps; ++k) {
      const double r = w < static_cast<int>(s.cluster_link_rates.size()) ? s.cluster_link_rates[w][k] : 0;
      const float f = static_cast<float>(r / max_rate);
      const ImVec2 p = ps_pos(k), q = w_pos(w);
      dl->AddLine(ImVec2(p.x, p.y + bh / 2), ImVec2(q.x, q.y - bh / 2), sequential(0.25f + 0.75f * f), 1 + 5 * f);
      const std::string txt = rate_text(r);
      const ImVec2 m((p.x + q.x) / 2, (p.y + q.y) / 2 + (k - (st.num_ps - 1) / 2.0f) * fs);
      dl->AddText(ImVec2(m.x - ImGui::CalcTextSize(txt.c_str()).x / 2, m.y - fs / 2), IM_COL32(220, 220, 160, 255),
                  txt.c_str());
    }
  char line[96];
  for (int k = 0; k < st.num_ps; ++k) {
    const ImVec2 p = ps_pos(k);
    const bool dead = k < LiveFaults::kMaxTasks && c.faults().ps_killed[k].load();
    dl->AddRectFilled(ImVec2(p.x - bw / 2, p.y - bh / 2), ImVec2(p.x + bw / 2, p.y + bh / 2),
                      dead ? IM_COL32(120, 40, 40, 255) : IM_COL32(150, 110, 40, 255), fs * 0.3f);
    const size_t floats = k < st.placement.num_shards() ? st.placement.shards[k].size() : 0;
    const int64_t step = k < static_cast<int>(st.live.ps.size()) ? st.live.ps[k].step : 0;
    std::snprintf(line, sizeof line, "ps:%d  %s floats", k, human_count(static_cast<double>(floats)).c_str());
    dl->AddText(ImVec2(p.x - bw / 2 + 4, p.y - bh / 2 + 2), IM_COL32(245, 245, 245, 255), line);
    std::snprintf(line, sizeof line, "step %lld", static_cast<long long>(step));
    dl->AddText(ImVec2(p.x - bw / 2 + 4, p.y - bh / 2 + 2 + fs), IM_COL32(230, 230, 230, 255), line);
  }
  for (int w = 0; w < st.num_workers; ++w) {
    const ImVec2 q = w_pos(w);
    const bool dead = w < LiveFaults::kMaxTasks && c.faults().worker_killed[w].load();
    const bool slow = w < LiveFaults::kMaxTasks && c.faults().worker_slowdown[w].load() > 1;
    const ImU32 col = dead ? IM_COL32(120, 40, 40, 255) : slow ? IM_COL32(120, 100, 40, 255) : IM_COL32(60, 90, 140, 255);
    dl->AddRectFilled(ImVec2(q.x - bw / 2, q.y - bh / 2), ImVec2(q.x + bw / 2, q.y + bh / 2), col, fs * 0.3f);
    std::snprintf(line, sizeof line, "worker:%d%s", w, w == 0 ? " chief" : "");
    dl->AddText(ImVec2(q.x - bw / 2 + 4, q.y - bh / 2 + 2), IM_COL32(245, 245, 245, 255), line);
    const double sps = w < static_cast<int>(s.cluster_steps_per_s.size()) ? s.cluster_steps_per_s[w] : 0;
    const double loss = w < static_cast<int>(st.tasks.size()) - st.num_ps ? st.tasks[st.num_ps + w].loss : 0;
    std::snprintf(line, sizeof line, "%.1f steps/s  loss %.2f", sps, loss);
    dl->AddText(ImVec2(q.x - bw / 2 + 4, q.y - bh / 2 + 2 + fs), IM_COL32(230, 230, 230, 255), line);
  }
}

void staleness(GuiState& s) {
  const ClusterStatus& st = s.cluster_status;
  ImGui::TextUnformatted(s.t(Msg::kStaleness));
  item_tooltip(s.t(Msg::kTipStaleness));
  std::vector<int64_t> buckets(kStalenessBuckets, 0);
  for (const PsStats& p : st.live.ps)
    for (int b = 0; b < kStalenessBuckets && b < static_cast<int>(p.staleness.size()); ++b) buckets[b] += p.staleness[b];
  const int64_t m = std::max<int64_t>(1, *std::max_element(buckets.begin(), buckets.end()));
  for (int b = 0; b < kStalenessBuckets; ++b) {
    ImGui::Text("%6s", staleness_bucket_label(b));
    ImGui::SameLine();
    char txt[32];
    std::snprintf(txt, sizeof txt, "%lld", static_cast<long long>(buckets[b]));
    ImGui::ProgressBar(static_cast<float>(buckets[b]) / m, ImVec2(ImGui::GetFontSize() * 10, ImGui::GetFontSize()), txt);
  }
}

// The tab's job as `podlab k8s render` options.
K8sOptions k8s_options(const GuiState& s) {
  K8sOptions o;
  o.name = s.k8s_name;
  o.image = s.k8s_image;
  o.mode = s.setup.cluster_mode;
  o.ps = s.setup.cluster_ps;
  o.workers = s.setup.cluster_workers;
  char lr[32];
  std::snprintf(lr, sizeof lr, "%g", s.setup.lr);
  o.training = {{"model", s.setup.model}, {"optimizer", s.setup.optimizer}, {"lr", lr},
                {"batch", std::to_string(s.setup.batch)}, {"seed", std::to_string(s.setup.seed)}};
  if (!s.setup.dataset.empty()) o.training.emplace_back("dataset", s.setup.dataset);
  return o;
}

// `podlab k8s apply` with the same options (or `podlab k8s status NAME`, to follow the pods), as a
// child whose output (stdout and stderr) the section shows; without kubectl, says how to get it.
void apply_k8s(GuiState& s, bool status) {
  if (s.kubectl_path.empty()) {
    s.k8s_message = s.t(Msg::kK8sNoKubectl);
    return;
  }
  const K8sOptions o = k8s_options(s);
  const std::string podlab = s.podlab_exe.empty() ? self_exe_path() : s.podlab_exe;
  std::vector<std::string> a = {podlab, "k8s", "status", o.name, "--watch", "--interval-s", "3"};
  if (!status) {
    a = {podlab, "k8s", "apply", "--name", o.name, "--image", o.image, "--mode", o.mode,
         "--ps", std::to_string(o.ps), "--workers", std::to_string(o.workers)};
    for (const auto& [key, value] : o.training) a.insert(a.end(), {"--" + key, value});
  }
  const Status st = s.k8s_apply->start(a, /*capture_stderr=*/true);
  s.k8s_message = st.ok() ? "" : st.message();
  s.k8s_watching = st.ok() && status;
}

// The lines to show of the child's output: everything for apply; for status --watch, its latest look
// (from the last "run NAME in namespace ..." header on).
size_t latest_look(const std::vector<std::string>& lines, bool watching) {
  size_t from = 0;
  if (watching)
    for (size_t i = 0; i < lines.size(); ++i)
      if (lines[i].rfind("run ", 0) == 0 && lines[i].find(" in namespace ") != std::string::npos) from = i;
  return from;
}

void kubernetes(GuiState& s) {
  const Text& t = s.t;
  if (!ImGui::CollapsingHeader(label(t(Msg::kKubernetes), "k8s"), s.k8s_open ? ImGuiTreeNodeFlags_DefaultOpen : 0))
    return;
  item_tooltip(t(Msg::kTipKubernetes));
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
  ImGui::InputText(label(t(Msg::kJobName), "k8sname"), s.k8s_name, sizeof s.k8s_name);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 14);
  ImGui::InputText(label(t(Msg::kImage), "k8simage"), s.k8s_image, sizeof s.k8s_image);
  ImGui::SameLine();
  if (ImGui::Button(label(t(Msg::kRender), "k8srender")) || s.k8s_render_now) {
    s.k8s_render_now = false;
    auto docs = render_k8s(k8s_options(s));
    s.k8s_yaml.clear();
    s.k8s_docs = 0;
    if (!docs.ok()) {
      s.k8s_yaml = "error: " + docs.status().message();
    } else {
      auto yaml = k8s_yaml_stream(*docs);
      s.k8s_yaml = yaml.ok() ? *yaml : "error: " + yaml.status().message();
      s.k8s_docs = static_cast<int>(docs->size());
    }
  }
  if (s.k8s_apply) {
    const bool running = s.k8s_apply->running();
    ImGui::BeginDisabled(running);
    s.k8s_apply_x = ImGui::GetCursorScreenPos().x + 4;
    s.k8s_apply_y = ImGui::GetCursorScreenPos().y + 4;
    if (ImGui::Button(label(t(Msg::kK8sApply), "k8sapply"))) apply_k8s(s, false);
    item_tooltip(t(Msg::kTipK8sApply));
    ImGui::EndDisabled();
    ImGui::SameLine();
    s.k8s_status_x = ImGui::GetCursorScreenPos().x + 4;
    s.k8s_status_y = ImGui::GetCursorScreenPos().y + 4;
    if (running && s.k8s_watching) {
      if (ImGui::Button(label(t(Msg::kStop), "k8sstopwatch"))) s.k8s_apply->stop();
      item_tooltip(t(Msg::kTipK8sStopWatch));
    } else {
      ImGui::BeginDisabled(running);
      if (ImGui::Button(label(t(Msg::kK8sStatus), "k8sstatus"))) apply_k8s(s, true);
      item_tooltip(t(Msg::kTipK8sStatus));
      ImGui::EndDisabled();
    }
    if (s.kubectl_path.empty()) {
      ImGui::SameLine();
      ImGui::TextDisabled("(kubectl?)");
      item_tooltip(t(Msg::kK8sNoKubectl));
    }
    if (!s.k8s_message.empty()) ImGui::TextColored(ImVec4(1, 0.8f, 0.3f, 1), "%s", s.k8s_message.c_str());
    const ProcessRun::View v = s.k8s_apply->view();
    if (v.pid > 0) {
      ImGui::BeginChild("k8s_apply_out", ImVec2(0, ImGui::GetFontSize() * (s.k8s_watching ? 12 : 6)), true);
      for (size_t i = latest_look(v.lines, s.k8s_watching); i < v.lines.size(); ++i) ImGui::TextUnformatted(v.lines[i].c_str());
      if (!v.running && v.exit_code >= 0) ImGui::Text(t(Msg::kProcessExit), v.exit_code);
      ImGui::EndChild();
    }
  }
  if (s.k8s_docs > 0) ImGui::Text(t(Msg::kDocuments), s.k8s_docs);
  if (!s.k8s_yaml.empty())
    ImGui::InputTextMultiline("##yaml", s.k8s_yaml.data(), s.k8s_yaml.size() + 1,
                              ImVec2(-1, ImGui::GetFontSize() * 16), ImGuiInputTextFlags_ReadOnly);
}

}  // namespace

void start_cluster_processes(GuiState& s) {
  if (!s.processes || s.processes->running()) return;
  // A fresh checkpoint directory per run: a run restores every ps from the directory's checkpoint.
  std::error_code ec;
  if (!s.cluster_ckpt_dir.empty()) std::filesystem::remove_all(s.cluster_ckpt_dir, ec);
  std::string dir = (std::filesystem::temp_directory_path() / "podlab-gui-ckpt-XXXXXX").string();
  s.cluster_ckpt_dir = mkdtemp(dir.data()) ? dir : "";
  if (s.cluster_ckpt_dir.empty()) {
    s.cluster_message = "cannot create a checkpoint directory in " + std::filesystem::temp_directory_path().string();
    return;
  }
  s.proc_progress = ProcessProgress{};
  // stderr too: the launcher and the tasks say there what they restart and restore.
  const Status st = s.processes->start(process_command_line(s), /*capture_stderr=*/true);
  s.cluster_message = st.ok() ? "" : st.message();
}

void draw_cluster_tab(GuiState& s) {
  if (!s.cluster) return;
  ClusterSession& c = *s.cluster;
  update_rates(s);
  const ClusterStatus& st = s.cluster_status;
  const bool procs = s.cluster_as_processes && s.processes;
  ImGui::TextDisabled("(?)");
  item_tooltip(s.t(Msg::kTipCluster));
  if (!procs) {  // the threads run's status; processes show their own
    ImGui::SameLine();
    ImGui::Text(s.t(Msg::kClusterStatus), s.t(cluster_phase(st.phase)), st.elapsed_s,
                static_cast<long long>(st.live.ps.empty() ? 0 : st.live.ps[0].step),
                static_cast<long long>(st.total_steps));
    if (st.phase == "error") ImGui::TextColored(ImVec4(1, 0.45f, 0.45f, 1), "%s", st.error.c_str());
    for (size_t e = 0; e < st.test_accuracy.size(); ++e) {
      ImGui::SameLine();
      ImGui::Text(s.t(Msg::kClusterAccuracy), static_cast<int>(e + 1), st.test_accuracy[e].second);
    }
  }
  ImGui::BeginChild("cluster_controls", ImVec2(ImGui::GetFontSize() * 17, 0), true);
  controls(s, c);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("cluster_view", ImVec2(0, 0), false);
  if (procs) {
    kubernetes(s);
    processes_view(s);
    ImGui::EndChild();
    return;
  }
  topology(s, c, ImGui::GetFontSize() * 14);
  staleness(s);
  kubernetes(s);
  ImGui::EndChild();
}

}  // namespace podlab::gui
