// Running kubectl for `podlab k8s apply|status|logs|delete`: found as $KUBECTL or on PATH, started
// without a shell (arguments passed as they are), stderr shown to the user.
#pragma once

#include <string>
#include <vector>

#include "engine/status.h"

namespace podlab {

struct KubectlRun {
  int exit_code = 0;
  std::string out;  // stdout, when captured
};

// Runs `kubectl args...`, writing `input` to its stdin (empty: none) and capturing stdout when
// `capture` (else it goes to ours). kConfig error when kubectl is not installed; its own failures
// come back as a non-zero exit_code (the caller decides what they mean).
Result<KubectlRun> run_kubectl(const std::vector<std::string>& args, const std::string& input, bool capture);

}  // namespace podlab
