// The Cluster tab's child process: output captured line by line, exit codes, and stop/destroy
// leave no process behind.
#include <catch2/catch.hpp>

#include <signal.h>

#include "gui/process_run.h"
#include "tests/gui/gui_test_util.h"

using namespace podlab::gui;
using podlab::testing::wait_until;

TEST_CASE("a child's stdout arrives as lines and its exit code is kept", "[gui][process]") {
  ProcessRun p;
  REQUIRE(p.start({"/bin/sh", "-c", "echo first; echo second; exit 3"}).ok());
  REQUIRE(wait_until([&] { return !p.running(); }));
  const ProcessRun::View v = p.view();
  CHECK(v.lines == std::vector<std::string>{"first", "second"});
  CHECK(v.exit_code == 3);
  CHECK_FALSE(p.start({"/nonexistent/podlab"}).ok());
}

TEST_CASE("stop ends a child and its children; destroying a running one reaps it", "[gui][process]") {
  pid_t child = 0;
  {
    ProcessRun p;
    REQUIRE(p.start({"/bin/sh", "-c", "sleep 30 & wait"}).ok());
    // The forked shell execs sleep a moment after it appears.
    REQUIRE(wait_until([&] {
      const auto v = p.view();
      return !v.children.empty() && v.children[0].command == "sleep 30";
    }));
    child = p.view().children[0].pid;
    p.stop();  // sh dies of SIGTERM; its orphaned sleep still holds the pipe, which must not matter
    REQUIRE(wait_until([&] { return !p.running(); }, 5));
    CHECK(p.view().exit_code == 128 + SIGTERM);
  }  // the destructor ends what is left of the process group
  CHECK(wait_until([&] { return kill(child, 0) != 0 || podlab::gui::process_command(child).empty(); }, 5));
  {
    ProcessRun p;
    REQUIRE(p.start({"/bin/sleep", "30"}).ok());
  }  // the destructor sends SIGTERM and waits
}
