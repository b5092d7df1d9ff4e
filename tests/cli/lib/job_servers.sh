# Shared set-up of the wait-for-job server tests (cluster_jobs.sh, cluster_job_failures.sh,
# cluster_job_queue.sh); sourced, not run. Usage, after `set -u`:
#   source "$(dirname "$0")/lib/job_servers.sh" NAME "$@"
# Sets PODLAB (the first argument of the test), TMP (a fresh directory /tmp/NAME.XXXXXX, removed at
# exit unless KEEP is set), PIDS (kill -KILLed at exit, then waited for) and FAILS; points HOME and
# XDG_CACHE_HOME into TMP and unsets the variables podlab reads; defines fail, now and free_port.
PODLAB=${2:?usage: $(basename "$0") PATH_TO_PODLAB}
TMP=$(mktemp -d "/tmp/$1.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
export XDG_CACHE_HOME=$TMP/cache HOME=$TMP/home TMPDIR=$TMP
unset PODLAB_DATA TF_CONFIG PODLAB_KEYS
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
now() { date +%s.%N; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
