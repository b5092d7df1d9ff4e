#!/usr/bin/env bash
# Tasks started one by one (as in pods), on 127.0.0.1, whose chief is lost: the job still ends.
#   - kill -9 of the chief mid-run (async, 1 ps, 2 workers): worker 1 trains to the last step, then
#     waits for the chief's STOP without computing more (the ps counts at most a gradient or two per
#     worker as late, not thousands); once the chief has been silent for the longer of
#     --peer-timeout-s and --connect-timeout-s the ps exits 6 saying so, and worker 1 exits 6 with the
#     ps's reason at once, not a timeout later;
#   - a chief that never comes: the ps and worker 1 exit 6 after --connect-timeout-s, naming it.
# No process is left behind, also on failure.
# Usage: cluster_chief_lost.sh PATH_TO_PODLAB
set -u
source "$(dirname "$0")/lib/job_servers.sh" podlab_cli_chief_lost "$@"  # PODLAB, TMP, PIDS, fail, now
ports() {
  python3 -c 'import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'
}
# gave_up PID WHAT FILE MESSAGE: waits for PID, which must exit 6 with MESSAGE in FILE.
gave_up() {
  wait "$1"
  local code=$?
  [ "$code" -eq 6 ] || { fail "$2: exit $code, expected 6"; sed 's/^/  | /' "$3" | tail -n 4; }
  grep -q "$4" "$3" || { fail "$2: does not say '$4'"; sed 's/^/  | /' "$3" | tail -n 4; }
}
# Some 2 s of training on an idle machine: the chief is killed well before the end.
FLAGS=(--dataset fashion-mnist --limit-train 20000 --limit-test 500 --epochs 3 --peer-timeout-s 3)

read -r P0 P1 P2 <<<"$(ports)"
SPEC="{\"ps\": [\"127.0.0.1:$P0\"], \"worker\": [\"127.0.0.1:$P1\", \"127.0.0.1:$P2\"]}"
timeout 90 "$PODLAB" ps --cluster "$SPEC" --index 0 "${FLAGS[@]}" --connect-timeout-s 3 >"$TMP/ps.out" 2>"$TMP/ps.err" &
PS=$!
timeout 90 "$PODLAB" worker --cluster "$SPEC" --index 1 "${FLAGS[@]}" --connect-timeout-s 20 >"$TMP/w1.out" 2>"$TMP/w1.err" &
W1=$!
"$PODLAB" worker --cluster "$SPEC" --index 0 "${FLAGS[@]}" --connect-timeout-s 20 >"$TMP/w0.out" 2>"$TMP/w0.err" &
W0=$!
PIDS=($PS $W1 $W0)
for _ in $(seq 1 600); do grep -q "worker:0 connected" "$TMP/ps.err" 2>/dev/null && break; sleep 0.05; done
kill -KILL $W0
T0=$(now)
gave_up $PS "ps after its chief was killed" "$TMP/ps.err" "ps:0: the chief (worker 0) has been silent for 3.0 s"
T_PS=$(python3 -c "print('%.2f' % ($(now) - $T0))")
gave_up $W1 "worker 1 after the chief was killed" "$TMP/w1.err" \
  "worker:1: ps:0 at 127.0.0.1:$P0 gave up: the chief (worker 0) has been silent"
T_W1=$(python3 -c "print('%.2f' % ($(now) - $T0))")
echo "chief killed: ps exit 6 after $T_PS s, worker 1 exit 6 after $T_W1 s"
python3 -c "import sys; sys.exit(not ($T_PS < 20 and $T_W1 - $T_PS < 5))" ||
  fail "the ps or worker 1 took too long to give up (ps $T_PS s, worker 1 $T_W1 s after the kill)"
LATE=$(sed -n 's/.*done at step [0-9]*: .* \([0-9]*\) late,.*/\1/p' "$TMP/ps.err")
echo "gradients the ps counted late: ${LATE:-?}"
[ -n "$LATE" ] && [ "$LATE" -le 4 ] || fail "worker 1 kept computing after the last step: ${LATE:-no} late gradients"

# A chief that never comes.
read -r P0 P1 P2 <<<"$(ports)"
SPEC="{\"ps\": [\"127.0.0.1:$P0\"], \"worker\": [\"127.0.0.1:$P1\", \"127.0.0.1:$P2\"]}"
T0=$(now)
timeout 60 "$PODLAB" ps --cluster "$SPEC" --index 0 "${FLAGS[@]}" --connect-timeout-s 2 >"$TMP/ps.out" 2>"$TMP/ps.err" &
PS=$!
timeout 60 "$PODLAB" worker --cluster "$SPEC" --index 1 "${FLAGS[@]}" --connect-timeout-s 2 >"$TMP/w1.out" 2>"$TMP/w1.err" &
W1=$!
PIDS=($PS $W1)
gave_up $PS "ps without a chief" "$TMP/ps.err" "ps:0: the chief (worker 0) has not come in 2.0 s"
gave_up $W1 "worker 1 without a chief" "$TMP/w1.err" "gave up: the chief (worker 0) has not come"
python3 -c "import sys; t = $(now) - $T0; print('no chief: both exit 6 after %.2f s' % t); sys.exit(t > 20)" ||
  fail "no chief: took too long"
PIDS=()

if pgrep -f "127.0.0.1:$P0" >/dev/null; then fail "processes left running"; pgrep -af "127.0.0.1:$P0"; fi
[ "$FAILS" -eq 0 ] && echo "cluster_chief_lost.sh: all checks passed"
exit $((FAILS > 0))
