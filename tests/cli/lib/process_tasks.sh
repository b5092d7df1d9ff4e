# Shared set-up of the tests that run podlab task processes (cluster_processes.sh, cluster_faults.sh,
# cluster_terminal.sh); sourced, not run. Usage, after `set -u`:
#   source "$(dirname "$0")/lib/process_tasks.sh" NAME "$@"
# Sets PODLAB (the first argument of the test), TMP (a fresh directory /tmp/NAME.XXXXXX, removed at
# exit with every process whose command line names it: TMPDIR points there, so the launcher's task
# directory, in every child's argv, lands in it) and FAILS; points HOME and XDG_CACHE_HOME into TMP
# and unsets the variables podlab reads; defines fail.
PODLAB=${2:?usage: $(basename "$0") PATH_TO_PODLAB}
TMP=$(mktemp -d "/tmp/$1.XXXXXX")
cleanup() {
  pkill -KILL -f "$TMP" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
export XDG_CACHE_HOME=$TMP/cache HOME=$TMP/home TMPDIR=$TMP
unset PODLAB_DATA TF_CONFIG
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
