#!/usr/bin/env bash
# End-to-end check of `podlab cluster run --transport processes`: one ps and two workers as child
# podlab processes over ZeroMQ on 127.0.0.1 train a small Fashion-MNIST slice; the final JSON report
# has the usual fields and a sensible accuracy, and no task process is left behind. Also: a worker
# whose ps never comes up exits with the network code (6) after its connect timeout, and one started
# with other training flags than its ps is refused and exits 3 (and its ps, without a chief, too); a
# ps that starts after --peer-timeout-s (within --connect-timeout-s) does not make the others give up;
# a chief whose ps was killed reports how far it got.
# Usage: cluster_processes.sh PATH_TO_PODLAB
set -u
source "$(dirname "$0")/lib/process_tasks.sh" podlab_cli_procs "$@"
SMALL=(--dataset fashion-mnist --limit-train 3000 --limit-test 500)

# Two epochs, not one: async training of 30 steps is nondeterministic and ends anywhere in 0.52..0.70
# (threads mode as well), so one epoch would make "accuracy > 0.6" a coin toss; two give 0.69..0.77.
timeout 120 "$PODLAB" cluster run --transport processes --ps 1 --workers 2 "${SMALL[@]}" --epochs 2 --json >"$TMP/out" 2>"$TMP/err"
CODE=$?
[ "$CODE" -eq 0 ] || { fail "cluster run exited $CODE"; sed 's/^/  | /' "$TMP/out" "$TMP/err"; }
tail -n 1 "$TMP/out" >"$TMP/result.json"
python3 - "$TMP/result.json" <<'PY' || { fail "final JSON report"; sed 's/^/  | /' "$TMP/out" "$TMP/err"; }
import json, sys
r = json.load(open(sys.argv[1]))
assert r["event"] == "result", r
assert r["ps"] == 1 and r["workers"] == 2, r
assert r["epochs"] == 2 and r["steps"] == 60, r
assert r["test_accuracy"] > 0.6, r
assert r["samples_per_s"] > 0, r
# Every worker ran and reached the ps over ZeroMQ. Not every worker need push: on a fast machine the
# chief can finish 60 async steps while another worker is still loading its data.
assert len(r["worker_tasks"]) == 2 and all(w["status"] == "ok" for w in r["worker_tasks"]), r
assert sum(w["pushes"] for w in r["worker_tasks"]) >= r["steps"], r
assert len(r["transport"]) == 3 and all(t["messages_in"] > 0 for t in r["transport"]), r
print("processes: accuracy %.3f, %.0f samples/s" % (r["test_accuracy"], r["samples_per_s"]))
PY
grep -q '"event":"epoch"' "$TMP/out" || fail "no epoch event from the chief"
sleep 0.2
if pgrep -f "$TMP" >/dev/null; then fail "task processes left running:"; pgrep -af "$TMP"; fi

# --overlap reaches the worker processes: with one worker every gradient but the first is computed
# on values one update old (async without --overlap: all fresh, which the run above cannot show).
timeout 60 "$PODLAB" cluster run --transport processes --ps 1 --workers 1 "${SMALL[@]}" --epochs 1 --max-steps 10 \
  --overlap --json >"$TMP/out" 2>"$TMP/err"
CODE=$?
[ "$CODE" -eq 0 ] || { fail "cluster run --overlap exited $CODE"; sed 's/^/  | /' "$TMP/out" "$TMP/err"; }
tail -n 1 "$TMP/out" >"$TMP/overlap.json"
python3 - "$TMP/overlap.json" <<'PY' || { fail "--overlap: staleness"; sed 's/^/  | /' "$TMP/out" "$TMP/err"; }
import json, sys
r = json.load(open(sys.argv[1]))
ps = r["ps_tasks"][0]
assert r["steps"] == 10 and ps["applied"] == 10, r
assert ps["max_staleness"] == 1 and ps["staleness"]["0"] == 1 and ps["staleness"]["1"] == ps["gradients"] - 1, ps
PY

# A worker with no ps: a clear network error (exit 6) after --connect-timeout-s, not a hang.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SPEC="{\"ps\": [\"127.0.0.1:$PORT\"], \"worker\": [\"127.0.0.1:1\"]}"
timeout 60 "$PODLAB" worker --cluster "$SPEC" --index 0 "${SMALL[@]}" --epochs 1 --connect-timeout-s 1 --json \
  --report "$TMP/lonely.json" >"$TMP/out" 2>&1
CODE=$?
[ "$CODE" -eq 6 ] || { fail "worker without ps exited $CODE, expected 6"; sed 's/^/  | /' "$TMP/out"; }
grep -q "no connection to ps:0" "$TMP/out" || { fail "no clear error for the missing ps"; sed 's/^/  | /' "$TMP/out"; }
# ... and SIGTERM while it waits (a pod deleted before its ps came up) ends it at once, not after the
# connect timeout: the chief with 143 (its pod is going away: a replacement is started, as for a
# chief that leaves mid-run), a wait-for-job server with 130; and SIGTERM while the chief still loads
# its data is the same 143.
for server in "" --wait-for-job; do
  training=("${SMALL[@]}" --epochs 1)
  [ -n "$server" ] && training=()  # a server takes them from each job
  "$PODLAB" worker --cluster "$SPEC" --index 0 "${training[@]}" --connect-timeout-s 30 $server >"$TMP/out" 2>&1 &
  PID=$!
  sleep 1.5  # past the data loading, into the wait for the ps
  kill -TERM $PID
  for _ in $(seq 1 30); do kill -0 $PID 2>/dev/null || break; sleep 0.1; done
  if kill -0 $PID 2>/dev/null; then
    fail "worker $server waiting for its ps: still running 3 s after SIGTERM"
    kill -KILL $PID
  fi
  wait $PID
  CODE=$?
  want=143
  [ -n "$server" ] && want=130
  [ "$CODE" -eq "$want" ] || { fail "worker $server waiting for its ps: exit $CODE after SIGTERM, expected $want"; sed 's/^/  | /' "$TMP/out"; }
done
"$PODLAB" worker --cluster "$SPEC" --index 0 "${SMALL[@]}" --epochs 1 --model cnn >"$TMP/out" 2>&1 &
PID=$!
sleep 0.1  # loading
kill -TERM $PID
wait $PID
CODE=$?
[ "$CODE" -eq 143 ] && grep -q "(SIGTERM before training: the pod is going away" "$TMP/out" ||
  { fail "chief loading its data: exit $CODE after SIGTERM, expected 143"; sed 's/^/  | /' "$TMP/out"; }

# A wait-for-job server given training flags would ignore them: refused (exit 2), naming them.
timeout 10 "$PODLAB" worker --cluster "$SPEC" --index 0 --wait-for-job --epochs 3 --mode sync >"$TMP/out" 2>&1
CODE=$?
[ "$CODE" -eq 2 ] && grep -q "takes its training flags from each job, not from its own command line (--epochs, --mode)" "$TMP/out" ||
  { fail "wait-for-job server with training flags: exit $CODE, expected 2 naming them"; sed 's/^/  | /' "$TMP/out"; }

# Tasks started by hand with different training flags: the ps refuses the worker's INIT (its plan's
# fingerprint differs), the worker exits 3 at once naming the flags that differ, not a silent hang.
PORT2=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SPEC2="{\"ps\": [\"127.0.0.1:$PORT2\"], \"worker\": [\"127.0.0.1:1\"]}"
timeout 60 "$PODLAB" ps --cluster "$SPEC2" --index 0 "${SMALL[@]}" --epochs 1 --peer-timeout-s 30 --connect-timeout-s 8 \
  >"$TMP/ps-mismatch.out" 2>&1 &
PS_PID=$!
for model in "" "--model softmax"; do
  # shellcheck disable=SC2086
  timeout 60 "$PODLAB" worker --cluster "$SPEC2" --index 0 "${SMALL[@]}" --epochs 2 $model >"$TMP/out" 2>&1
  CODE=$?
  [ "$CODE" -eq 3 ] || { fail "worker with other flags ($model): exit $CODE, expected 3"; sed 's/^/  | /' "$TMP/out"; }
  grep -q "ps:0 at 127.0.0.1:$PORT2 refused worker:0: they were started with different training flags (.*total_steps: " "$TMP/out" ||
    { fail "worker with other flags ($model): no clear error"; sed 's/^/  | /' "$TMP/out"; }
done
grep -q "model: softmax here, mlp:200,200 on ps:0" "$TMP/out" || fail "the other model is not named"
# Its only chief refused, the ps gives up after --connect-timeout-s with 3, saying why.
wait $PS_PID
CODE=$?
[ "$CODE" -eq 3 ] || fail "ps whose chief was refused: exit $CODE, expected 3"
grep -q "the chief (worker 0) came with other training flags and was refused" "$TMP/ps-mismatch.out" ||
  { fail "the ps does not say its chief was refused"; sed 's/^/  | /' "$TMP/ps-mismatch.out"; }
grep -q "ps:0: refused worker:0: it was started with other training flags" "$TMP/ps-mismatch.out" ||
  { fail "the ps did not say it refused the worker"; sed 's/^/  | /' "$TMP/ps-mismatch.out"; }

# A ps that comes late (within --connect-timeout-s, after --peer-timeout-s): the chief waits for it
# before its first gradient, and neither the chief nor the other ps takes that wait for a loss.
PORTS=($(python3 -c 'import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'))
SPEC_LATE="{\"ps\": [\"127.0.0.1:${PORTS[0]}\", \"127.0.0.1:${PORTS[1]}\"], \"worker\": [\"127.0.0.1:${PORTS[2]}\"]}"
LATE=(--dataset fashion-mnist --limit-train 2000 --limit-test 500 --epochs 2 --peer-timeout-s 2 --connect-timeout-s 20)
timeout 60 "$PODLAB" ps --cluster "$SPEC_LATE" --index 0 "${LATE[@]}" >"$TMP/late-ps0.out" 2>&1 &
LATE_PS0=$!
timeout 60 "$PODLAB" worker --cluster "$SPEC_LATE" --index 0 "${LATE[@]}" --json >"$TMP/late-w0.out" 2>&1 &
LATE_W0=$!
sleep 4
timeout 60 "$PODLAB" ps --cluster "$SPEC_LATE" --index 1 "${LATE[@]}" >"$TMP/late-ps1.out" 2>&1
CODE=$?
[ "$CODE" -eq 0 ] || { fail "late ps:1: exit $CODE"; sed 's/^/  | /' "$TMP/late-ps1.out" | tail -n 3; }
for task in ps0:$LATE_PS0 w0:$LATE_W0; do
  wait "${task#*:}"
  CODE=$?
  [ "$CODE" -eq 0 ] || { fail "late ps:1: ${task%%:*} exited $CODE"; sed 's/^/  | /' "$TMP/late-${task%%:*}.out" | tail -n 3; }
done

# A chief whose ps is killed mid-run exits 6, and still says how far it got: its last stdout line is
# a result with code 6, its step and its last evaluation, and so is its --report.
SPEC_GONE="{\"ps\": [\"127.0.0.1:${PORTS[0]}\"], \"worker\": [\"127.0.0.1:${PORTS[2]}\"]}"
GONE=(--dataset fashion-mnist --limit-train 2000 --limit-test 500 --epochs 300 --peer-timeout-s 2 --connect-timeout-s 3)
"$PODLAB" ps --cluster "$SPEC_GONE" --index 0 "${GONE[@]}" >"$TMP/gone-ps.out" 2>&1 &
GONE_PS=$!
timeout 60 "$PODLAB" worker --cluster "$SPEC_GONE" --index 0 "${GONE[@]}" --json --report "$TMP/gone-w0.json" \
  >"$TMP/gone-w0.out" 2>"$TMP/gone-w0.err" &
GONE_W0=$!
for _ in $(seq 1 300); do grep -q '"event":"epoch","epoch":2,' "$TMP/gone-w0.out" 2>/dev/null && break; sleep 0.05; done
kill -KILL $GONE_PS
wait $GONE_PS 2>/dev/null
wait $GONE_W0
CODE=$?
[ "$CODE" -eq 6 ] || fail "chief whose ps was killed: exit $CODE, expected 6"
python3 - "$TMP/gone-w0.out" "$TMP/gone-w0.json" <<'PY' || { fail "chief whose ps was killed: its result"; tail -n 2 "$TMP/gone-w0.out" | cut -c1-400 | sed 's/^/  | /'; }
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert r["event"] == "result" and r["code"] == 6 and "ps:0" in r["message"], r
assert r["steps"] >= 40 and r["epochs"] >= 2 and r["test_samples"] == 500 and r["test_accuracy"] > 0.3, r
rep = json.load(open(sys.argv[2]))
assert rep["code"] == 6 and rep["chief"]["steps"] == r["steps"] and rep["chief"]["test_accuracy"] == r["test_accuracy"], rep
PY

# Tasks on their own (as in pods) say what happens: the ps where it serves, each worker it hears,
# one gone silent, and its counters at the end; the chief ends with its result, another worker with
# what it did. A second worker 1 is refused; kill -9 of worker 1 mid-run: async training goes on,
# every other task exits 0.
PORTS=($(python3 -c 'import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'))
SPEC3="{\"ps\": [\"127.0.0.1:${PORTS[0]}\"], \"worker\": [\"127.0.0.1:${PORTS[1]}\", \"127.0.0.1:${PORTS[2]}\"]}"
ALONE=(--dataset fashion-mnist --limit-train 30000 --limit-test 500 --epochs 20 --heartbeat-timeout-s 1)
timeout 90 "$PODLAB" ps --cluster "$SPEC3" --index 0 "${ALONE[@]}" >"$TMP/alone-ps.out" 2>"$TMP/alone-ps.err" &
PS_PID=$!
"$PODLAB" worker --cluster "$SPEC3" --index 1 "${ALONE[@]}" >"$TMP/alone-w1.out" 2>"$TMP/alone-w1.err" &
W1_PID=$!
timeout 90 "$PODLAB" worker --cluster "$SPEC3" --index 0 "${ALONE[@]}" --json >"$TMP/alone-w0.out" 2>"$TMP/alone-w0.err" &
W0_PID=$!
for _ in $(seq 1 300); do grep -q "worker:1 connected" "$TMP/alone-ps.err" 2>/dev/null && break; sleep 0.05; done
# A second process started with --index 1 while the first trains: refused (exit 6, saying why) once
# the ps hears the first again; the first trains on.
"$PODLAB" worker --cluster "$SPEC3" --index 1 "${ALONE[@]}" >"$TMP/alone-w1b.out" 2>&1 &
W1B_PID=$!
for _ in $(seq 1 300); do kill -0 $W1B_PID 2>/dev/null || break; sleep 0.1; done
kill -KILL $W1B_PID 2>/dev/null && fail "a second worker:1: still running after 30 s"
wait $W1B_PID
CODE=$?
[ "$CODE" -eq 6 ] && grep -q "ps:0 at 127.0.0.1:${PORTS[0]} refused this process: another process is already running as worker:1" "$TMP/alone-w1b.out" ||
  { fail "a second worker:1: exit $CODE, expected 6 saying another process runs as worker:1"; sed 's/^/  | /' "$TMP/alone-w1b.out" | tail -n 3; }
kill -0 $W1_PID 2>/dev/null || fail "the first worker:1 did not train on beside a second one"
sleep 0.3
kill -KILL $W1_PID
wait $W0_PID
CODE=$?
[ "$CODE" -eq 0 ] || { fail "chief on its own: exit $CODE"; sed 's/^/  | /' "$TMP/alone-w0.err" | tail -n 5; }
wait $PS_PID
CODE=$?
[ "$CODE" -eq 0 ] || { fail "ps on its own: exit $CODE"; sed 's/^/  | /' "$TMP/alone-ps.err" | tail -n 5; }
wait $W1_PID 2>/dev/null
for want in "ps:0: serving 199226 floats of the model at 127.0.0.1:${PORTS[0]} for 2 workers" "ps:0: worker:0 connected" \
  "ps:0: worker:1 connected" "ps:0: more than one process is running as worker:1" "ps:0: worker:1 silent for" "ps:0: done at step 6000:" \
  "1 worker restart(s) (of which 1 second processes refused)"; do
  grep -q "$want" "$TMP/alone-ps.err" || { fail "ps on its own does not say '$want'"; sed 's/^/  | /' "$TMP/alone-ps.err"; }
done
tail -n 1 "$TMP/alone-w0.out" | grep -q '"event":"result","task":"worker:0","code":0,"message":"","test_accuracy":0\.[5-9]' ||
  { fail "chief on its own: no result line"; tail -n 2 "$TMP/alone-w0.out" | sed 's/^/  | /'; }

# A chief that evaluates for longer than --peer-timeout-s (the CNN's evaluation of the 10,000 test
# images after epoch 1 takes about 2 s here) does not take its ps's silence meanwhile for a dead ps
# (the silence counts from its next request), and its ps keeps hearing from it (HEARTBEATs between
# evaluation chunks): alone, the chief is not given up on as "no message from any worker".
for run in "2" "2 --overlap" "1"; do
  read -r workers overlap <<<"$run"
  timeout 120 "$PODLAB" cluster run --transport processes --workers "$workers" --model cnn --epochs 2 --limit-train 600 \
    --peer-timeout-s 1 $overlap --dataset fashion-mnist --json >"$TMP/slow-eval.out" 2>"$TMP/slow-eval.err"
  CODE=$?
  [ "$CODE" -eq 0 ] || { fail "a chief evaluating longer than --peer-timeout-s (--workers $run): exit $CODE"; tail -n 3 "$TMP/slow-eval.err" | sed 's/^/  | /'; }
done

# Bad task flags are usage errors.
timeout 60 "$PODLAB" ps --cluster "$SPEC" >"$TMP/out" 2>&1
[ $? -eq 2 ] || fail "ps without --index: expected exit 2"
# A worker whose loss turns nan does not push it (it would spoil the ps for everyone): it fails with
# 3, and so does the run.
timeout 60 "$PODLAB" cluster run --transport processes "${SMALL[@]}" --epochs 1 --workers 2 --optimizer sgd --lr 1e30 >"$TMP/out" 2>&1
[ $? -eq 3 ] || { fail "diverging cluster: expected exit 3"; sed 's/^/  | /' "$TMP/out"; }
grep -q "worker:[01]: training diverged at step [0-9]*: the loss is nan" "$TMP/out" || { fail "diverging cluster: no clear error"; sed 's/^/  | /' "$TMP/out"; }

# Timeouts shorter than two heartbeats would take live peers for dead: usage errors.
timeout 60 "$PODLAB" cluster run "${SMALL[@]}" --epochs 1 --heartbeat-ms 2000 --peer-timeout-s 3 >"$TMP/out" 2>&1
[ $? -eq 2 ] || { fail "--peer-timeout-s 3 against --heartbeat-ms 2000: expected exit 2"; sed 's/^/  | /' "$TMP/out"; }
grep -q "each timeout must be at least two heartbeats" "$TMP/out" || { fail "timeouts against heartbeats: no clear error"; sed 's/^/  | /' "$TMP/out"; }
timeout 60 "$PODLAB" cluster run "${SMALL[@]}" --epochs 1 --heartbeat-timeout-s 0.1 >"$TMP/out" 2>&1
[ $? -eq 2 ] || { fail "--heartbeat-timeout-s 0.1 against --heartbeat-ms 500: expected exit 2"; sed 's/^/  | /' "$TMP/out"; }

[ "$FAILS" -eq 0 ] && echo "cluster_processes.sh: all checks passed"
exit $((FAILS > 0))
