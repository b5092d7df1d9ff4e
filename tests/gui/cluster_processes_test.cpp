// The Cluster tab's processes mode: progress and heartbeats parsed from the run's JSON lines, and a
// kill -9 button that reaches only the run's own task processes.
#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "gui/process_progress.h"
#include "gui/process_run.h"
#include "gui/state.h"
#include "tests/gui/gui_test_util.h"
#include "tests/temp_dir.h"

using namespace podlab;
using namespace podlab::gui;
using podlab::testing::wait_until;

namespace {
std::string progress_line(double elapsed, double heard_w1, const std::string& w1_state, bool w1_dead) {
  return std::string("{\"event\":\"progress\",\"elapsed_s\":") + std::to_string(elapsed) +
         ",\"step\":40,\"total_steps\":100,\"samples_per_s\":5000,\"dead\":[" + (w1_dead ? "\"worker:1\"" : "") +
         "],\"tasks\":[{\"task\":\"ps:0\",\"step\":40,\"pushes\":80,\"applied\":40,\"dropped\":0,\"loss\":0,"
         "\"done\":false,\"state\":\"\",\"heartbeat_age_s\":{\"worker:0\":0.2,\"worker:1\":" +
         std::to_string(heard_w1) +
         "}},{\"task\":\"worker:0\",\"step\":40,\"pushes\":40,\"applied\":4000,\"dropped\":0,\"loss\":0.61,"
         "\"done\":false,\"state\":\"\",\"heartbeat_age_s\":{\"ps:0\":0.1}},{\"task\":\"worker:1\",\"step\":38,"
         "\"pushes\":39,\"applied\":3900,\"dropped\":0,\"loss\":0.7,\"done\":false,\"state\":\"" +
         w1_state + "\",\"heartbeat_age_s\":{\"ps:0\":0.1}}]}";
}
}  // namespace

TEST_CASE("process progress: tasks, heartbeats, deaths and restarts from the JSON lines", "[gui][process]") {
  ProcessProgress p;
  p.add_line("{\"event\":\"start\",\"parameters\":7850}");
  p.add_line(progress_line(1.0, 0.3, "", false));
  REQUIRE(p.tasks.size() == 3);
  CHECK(p.step == 40);
  CHECK(p.total_steps == 100);
  CHECK(p.tasks[0].silent_s == Approx(0.1));  // the shortest age any peer reports about ps:0
  CHECK(p.tasks[2].silent_s == Approx(0.3));
  CHECK_FALSE(p.tasks[2].dead);
  p.add_line(progress_line(4.5, 3.4, "", true));
  CHECK(p.tasks[2].dead);
  p.add_line(progress_line(5.5, 0.2, "was killed by signal 9 at 4.9 s, restarted (1 of 2)", false));
  CHECK_FALSE(p.tasks[2].dead);
  p.add_line("{\"event\":\"epoch\",\"epoch\":1,\"test_accuracy\":0.81}");
  p.add_line("{\"test_accuracy\":0.83,\"steps\":100}");
  REQUIRE(p.test_accuracy == std::vector<double>{0.81});
  std::string log;
  for (const std::string& l : p.log) log += l + "\n";
  INFO(log);
  CHECK(log.find("started") != std::string::npos);
  CHECK(log.find("worker:1: no message for longer than the heartbeat timeout (DEAD)") != std::string::npos);
  CHECK(log.find("worker:1: was killed by signal 9 at 4.9 s, restarted (1 of 2)") != std::string::npos);
  CHECK(log.find("worker:1: heard from again") != std::string::npos);
  CHECK(log.find("epoch 1: test accuracy 0.8100") != std::string::npos);
  CHECK(log.find("done: test accuracy 0.8300") != std::string::npos);
  CHECK(p.lines_seen == 6);
  p.add_line("not json {");
  CHECK(p.log.back().find("not json {") != std::string::npos);
}

TEST_CASE("task names from command lines", "[gui][process]") {
  CHECK(task_of_command("/x/podlab worker --cluster /tmp/s.json --index 1 --json") == "worker:1");
  CHECK(task_of_command("podlab ps --cluster s --index 0") == "ps:0");
  CHECK(task_of_command("podlab train --index 0") == "");
  CHECK(task_of_command("sleep 30") == "");
}

TEST_CASE("the processes view's kill -9 stops a task process of the run, and only those", "[gui][process]") {
  testing::HeadlessImGui imgui;
  ProcessRun run;
  // A stand-in for `podlab cluster run --transport processes`: one child named like a worker task,
  // one progress line, then it waits for the child; killing the child ends the run.
  REQUIRE(run.start({"/bin/bash", "-c",
                     "(exec -a 'podlab worker --index 1' sleep 30) & echo '" + progress_line(1, 0.2, "", false) +
                         "'; wait; echo after"})
              .ok());
  ClusterSession cluster;
  NullTextures textures;
  GuiState s;
  testing::show_cluster_tab(s, cluster, textures);
  s.processes = &run;
  s.cluster_as_processes = true;
  REQUIRE(wait_until([&] {
    testing::frame(s);
    // The forked subshell shows as the worker once it has exec'd (its command line changes then).
    bool worker = false;
    for (const ProcessRun::Task& t : run.view().children) worker |= task_of_command(t.command) == "worker:1";
    return s.proc_progress.tasks.size() == 3 && s.proc_kill_buttons.count("worker:1") && worker;
  }));
  CHECK(run.signal_task(1, SIGKILL).code() == StatusCode::kUsage);  // init is not a task of the run
  // The row's pid appears in the same frame as the worker; a table's fitted column widths settle over
  // the next frames, moving the button. Click where it stays.
  for (int i = 0; i < 5; ++i) testing::frame(s);
  const auto at = s.proc_kill_buttons.at("worker:1");
  testing::click(s, ImVec2(at.first, at.second));
  REQUIRE(wait_until([&] {
    testing::frame(s);
    return !run.running();
  }, 10));
  testing::frame(s);
  CHECK(run.view().exit_code == 0);  // bash saw its child die and went on
  bool noted = false;
  for (const std::string& l : s.proc_progress.log) noted |= l.find("kill -9 worker:1 (pid") != std::string::npos;
  CHECK(noted);
  CHECK(s.proc_progress.log.back().find("after") != std::string::npos);
}

TEST_CASE("Kubernetes Apply runs podlab k8s apply, or says how to get kubectl", "[gui][process]") {
  testing::HeadlessImGui imgui;
  testing::TempDir dir;
  const std::string fake = (dir.path / "kubectl").string();
  // apply: echoes its arguments and counts the manifest lines; get: an empty list.
  std::ofstream(fake) << "#!/bin/sh\ncase \"$1\" in get) echo '{\"items\":[]}';; "
                         "*) echo \"fake kubectl $*\"; echo \"$(wc -l) lines of manifests\";; esac\n";
  std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
  ProcessRun apply;
  ClusterSession cluster;
  NullTextures textures;
  GuiState s;
  testing::show_cluster_tab(s, cluster, textures);
  s.k8s_apply = &apply;
  s.podlab_exe = PODLAB_BINARY;
  s.k8s_open = true;
  testing::frame(s);
  testing::frame(s);
  REQUIRE(s.k8s_apply_x > 0);
  // No kubectl: nothing starts, the section says what to install.
  testing::click(s, ImVec2(s.k8s_apply_x, s.k8s_apply_y));
  CHECK_FALSE(apply.running());
  CHECK(s.k8s_message.find("apt-get install kubernetes-client") != std::string::npos);
  // kubectl (a stand-in found through $KUBECTL, as podlab k8s apply finds it): the manifests go to it.
  setenv("KUBECTL", fake.c_str(), 1);
  s.kubectl_path = find_kubectl_path();
  CHECK(s.kubectl_path == fake);
  testing::click(s, ImVec2(s.k8s_apply_x, s.k8s_apply_y));
  REQUIRE(wait_until([&] {
    testing::frame(s);
    return apply.view().exit_code >= 0 && !apply.running();
  }, 20));
  auto output = [&apply] {
    std::string out;
    for (const std::string& l : apply.view().lines) out += l + "\n";
    return out;
  };
  std::string out = output();
  INFO(out);
  CHECK(apply.view().exit_code == 0);
  CHECK(out.find("fake kubectl apply -f -") != std::string::npos);
  CHECK(out.find("run mnist applied") != std::string::npos);
  // Status follows the run: podlab k8s status --watch asks kubectl for the job's Jobs and pods (none
  // here, so the run is not over) every few seconds, until Stop (in Status's place) ends it.
  testing::click(s, ImVec2(s.k8s_status_x, s.k8s_status_y));
  REQUIRE(wait_until([&] {
    testing::frame(s);
    return output().find("run mnist in namespace default") != std::string::npos;
  }, 20));
  CHECK(output().find("(no pods)") != std::string::npos);
  CHECK(output().find("not applied yet") != std::string::npos);
  CHECK(apply.running());
  CHECK(s.k8s_watching);
  testing::frame(s);
  testing::click(s, ImVec2(s.k8s_status_x, s.k8s_status_y));
  REQUIRE(wait_until([&] {
    testing::frame(s);
    return !apply.running();
  }, 10));
  unsetenv("KUBECTL");
}
