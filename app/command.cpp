// Helpers shared by the subcommands.
#include "app/command.h"

#include <unistd.h>

#include <cstdio>

namespace podlab {

int report(const Status& status) {
  if (!status.ok()) std::fprintf(stderr, "podlab: error: %s\n", status.message().c_str());
  return status.exit_code();
}

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

}  // namespace podlab
