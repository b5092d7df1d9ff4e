#!/usr/bin/env bash
# Faults in process mode (ps and workers as podlab processes over ZeroMQ on 127.0.0.1):
#   - kill -9 a worker mid-run: the launcher (--restart-failed) starts it again, it rejoins, the run
#     completes with exit 0, and the progress lines name the dead task;
#   - kill -9 the ps mid-run: it is restarted, restores the chief's last checkpoint, the workers
#     reconnect, and the run completes with exit 0;
#   - without --restart-failed, kill -9 a worker (or SIGTERM it): async training goes on without it
#     and completes with exit 0, the report naming the lost worker; in sync with every worker needed, and for a
#     killed ps, the run ends at once with 6 and a clear message;
#   - SIGTERM to the chief process (a pod going away): it checkpoints and exits 143 without stopping
#     the ps; the launcher restarts it, the new chief carries on from the ps state, the run completes;
#   - SIGTERM to the launcher: the chief checkpoints and every task exits promptly with 130;
#   - SIGTERM to a single ps task exits 130; a ps that hears from no worker exits 6, and so does a
#     worker started after its ps has gone (after --connect-timeout-s).
# Prints the measured recovery times. No process is left behind, also on failure.
# Usage: cluster_faults.sh PATH_TO_PODLAB
set -u
source "$(dirname "$0")/lib/process_tasks.sh" podlab_cli_faults "$@"
SMALL=(--dataset fashion-mnist --limit-train 3000 --limit-test 500 --retry-ms 200 --heartbeat-timeout-s 1)
# Runs long enough (EPOCHS x 30 steps, some 5 s on an idle machine) that a fault sent at step 20
# still lands mid-run, and a restarted task still rejoins, on a loaded machine where starting a
# process or polling a file takes a while.
EPOCHS=60
STEPS=$((EPOCHS * 30))
now() { date +%s.%N; }

# The step of the chief's newest checkpoint event in $1 (-1 before the first): it reports those as
# they happen, while the launcher's progress lines come once a second.
# Plain grep and sed (no interpreter start-up), so polling keeps up on a busy machine.
last_checkpoint() {
  local step
  step=$(grep -o '"event":"checkpoint","step":[0-9]*' "$1" 2>/dev/null | tail -n 1 | sed 's/.*://')
  echo "${step:--1}"
}

# wait_for_step FILE STEP: waits (at most 90 s) until the chief has checkpointed step >= STEP.
wait_for_step() {
  for _ in $(seq 1 900); do
    [ "$(last_checkpoint "$1")" -ge "$2" ] && return 0
    sleep 0.05
  done
  return 1
}

# wait_for_pushes FILE TASK: waits (at most 90 s) until a progress line shows TASK has pushed: a
# worker killed before its first message could not be seen coming back.
wait_for_pushes() {
  for _ in $(seq 1 900); do
    grep -q "\"task\":\"$2\",\"step\":[0-9]*,\"pushes\":[1-9]" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# kill_task_run ROLE INDEX [SIGNAL]: trains with --restart-failed, sends task ROLE:INDEX SIGNAL (KILL)
# at step 20 (and once a worker has pushed) and checks that the run completes. Leaves the output in $TMP/NAME.out, .err and .result,
# NAME being ROLE, or ROLE-SIGNAL for any other signal than KILL.
kill_task_run() {
  local role=$1 index=$2 sig=${3:-KILL}
  local name=$role
  [ "$sig" = KILL ] || name=$role-$sig
  local out=$TMP/$name.out err=$TMP/$name.err
  timeout 150 "$PODLAB" cluster run --transport processes --ps 1 --workers 2 "${SMALL[@]}" --epochs "$EPOCHS" --json \
    --restart-failed 2 --checkpoint-dir "$TMP/ckpt-$name" --ps-checkpoint-every-steps 10 >"$out" 2>"$err" &
  local launcher=$!
  if ! wait_for_step "$out" 20 || { [ "$role" = worker ] && ! wait_for_pushes "$out" "worker:$index"; }; then
    fail "$role run: never reached step 20 (or $role:$index never pushed)"
    kill -KILL $launcher 2>/dev/null
    wait $launcher 2>/dev/null
    sed 's/^/  | /' "$out" "$err" | tail -n 20
    return 1
  fi
  local pid
  pgrep -af -- "$role --cluster $TMP/.*--index $index " | cut -c1-150
  pid=$(pgrep -f -- "$role --cluster $TMP/.*--index $index " | head -n 1)
  [ -n "$pid" ] || { fail "no $role:$index process found"; kill -KILL $launcher; wait $launcher 2>/dev/null; return 1; }
  local killed_at step_at_kill
  killed_at=$(now)
  kill -"$sig" "$pid"
  step_at_kill=$(last_checkpoint "$out")
  # Recovery: the first checkpoint beyond the last one before the kill (a restored ps starts from an
  # earlier step, so the cluster has then caught up and gone past where it was).
  local recovered_at=""
  for _ in $(seq 1 900); do
    if [ "$(last_checkpoint "$out")" -gt "$step_at_kill" ] && grep -q "restarting it" "$err"; then
      recovered_at=$(now)
      break
    fi
    kill -0 $launcher 2>/dev/null || break
    sleep 0.1
  done
  wait $launcher
  local code=$?
  [ "$code" -eq 0 ] || { fail "$role killed: cluster run exited $code"; sed 's/^/  | /' "$out" "$err" | tail -n 30; }
  [ -n "$recovered_at" ] && python3 -c "print('%s:%s sent SIG%s after checkpoint %s: a later checkpoint %.1f s after it' % ('$role', $index, '$sig', $step_at_kill, $recovered_at - $killed_at))"
  local how="was killed by signal 9"
  [ "$sig" = TERM ] && how="exited with code 143"
  grep -q "$role:$index $how; restarting it" "$err" || fail "$role: no restart message ($how)"

  tail -n 1 "$out" >"$TMP/$name.result"
  return 0
}

# 1. A worker dies and comes back.
if kill_task_run worker 1; then
  python3 - "$TMP/worker.result" "$TMP/worker.out" "$STEPS" <<'PY' || { fail "worker kill: report"; tail -n 5 "$TMP/worker.out" | sed 's/^/  | /'; }
import json, sys
steps = int(sys.argv[-1])
r = json.load(open(sys.argv[1]))
assert r["event"] == "result" and r["steps"] == steps and r["epochs"] == steps // 30, r
assert r["ps_tasks"][0]["worker_restarts"] >= 1, r["ps_tasks"]
assert all(w["status"] == "ok" for w in r["worker_tasks"]), r["worker_tasks"]
assert r["test_accuracy"] > 0.6, r
# The launcher's progress lines say which task died.
states = [t["state"] for line in open(sys.argv[2]) if '"event":"progress"' in line
          for t in json.loads(line)["tasks"] if t["task"] == "worker:1"]
assert any("killed by signal 9" in s for s in states), states[-5:]
print("worker kill: completed, accuracy %.3f, worker_restarts %d" % (r["test_accuracy"], r["ps_tasks"][0]["worker_restarts"]))
PY
fi

# 2. The ps dies and restores the last checkpoint.
if kill_task_run ps 0; then
  grep -q "ps:0: restored step" "$TMP/ps.err" || fail "ps kill: the restarted ps did not restore a checkpoint"
  python3 - "$TMP/ps.result" "$STEPS" <<'PY' || { fail "ps kill: report"; tail -n 5 "$TMP/ps.out" | sed 's/^/  | /'; }
import json, sys
steps = int(sys.argv[-1])
r = json.load(open(sys.argv[1]))
assert r["event"] == "result" and r["steps"] == steps, r
ps = r["ps_tasks"][0]
assert ps["restored_step"] >= 10, ps
assert all(w["status"] == "ok" for w in r["worker_tasks"]), r["worker_tasks"]
assert r["test_accuracy"] > 0.6, r
print("ps kill: restored step %d, completed, accuracy %.3f" % (ps["restored_step"], r["test_accuracy"]))
PY
  ls "$TMP/ckpt-ps"/ckpt-*.podlab >/dev/null 2>&1 || fail "ps kill: no checkpoint files"
fi

# 2b. Without --restart-failed: async training goes on without a worker killed with -9, or stopped by
# a SIGTERM it catches (exit 130), and completes with exit 0, the report saying which worker was lost;
# a killed ps ends the run with 6 (a lost peer).
# lost_worker SIGNAL WHAT: WHAT is how the report puts the worker's end.
lost_worker() {
  local sig=$1 what=$2
  timeout 150 "$PODLAB" cluster run --transport processes --ps 1 --workers 3 "${SMALL[@]}" --epochs "$EPOCHS" --json \
    --checkpoint-dir "$TMP/ckpt-lost-$sig" --ps-checkpoint-every-steps 10 >"$TMP/lost.out" 2>"$TMP/lost.err" &
  LAUNCHER=$!
  if wait_for_step "$TMP/lost.out" 20 && wait_for_pushes "$TMP/lost.out" "worker:2"; then
    pkill "-$sig" -f -- "worker --cluster $TMP/.*--index 2 "
    wait $LAUNCHER
    CODE=$?
    [ "$CODE" -eq 0 ] || { fail "worker lost ($sig) without restarts: exit $CODE, expected 0"; sed 's/^/  | /' "$TMP/lost.err" | tail -n 10; }
    grep -q "worker:2 $what at .* training went on without it" "$TMP/lost.err" ||
      fail "worker lost ($sig) without restarts: the launcher did not say so"
    python3 - "$TMP/lost.out" "$STEPS" "$what" <<'PY' || { fail "worker lost ($sig) without restarts: report"; tail -n 3 "$TMP/lost.out" | cut -c1-600 | sed 's/^/  | /'; }
import json, sys
steps, what = int(sys.argv[2]), sys.argv[3]
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert r["event"] == "result" and r["steps"] == steps and not r["interrupted"], r
status = [w["status"] for w in r["worker_tasks"]]
assert status[:2] == ["ok", "ok"] and what in status[2], status
# Its counters: from its last progress report (it had pushed before the kill), its traffic as the ps
# counted it.
lost = r["worker_tasks"][2]
assert lost["pushes"] > 0 and lost["samples"] > 0 and lost["compute_s"] > 0 and lost["wait_s"] > 0, lost
t = {e["task"]: e for e in r["transport"]}
ps_view = t["ps:0"]["peers"]["worker:2"]
assert t["worker:2"]["messages_out"] == ps_view["messages_in"] > 0, (t["worker:2"], ps_view)
assert t["worker:2"]["bytes_in"] == ps_view["bytes_out"] > 0, (t["worker:2"], ps_view)
print("worker lost without restarts: completed, accuracy %.3f; %s" % (r["test_accuracy"], status[2]))
PY
  else
    fail "lost-worker run ($sig) never reached step 20 (or worker:2 never pushed)"
    kill -KILL $LAUNCHER 2>/dev/null
    wait $LAUNCHER 2>/dev/null
  fi
}
lost_worker KILL "was killed by signal 9"
lost_worker TERM "was stopped by a signal (SIGINT or SIGTERM: it exited 130)"
# end_by_kill NAME ROLE INDEX MESSAGE [FLAGS...]: without restarts, kill -9 task ROLE:INDEX at step 20;
# the run must end at once with 6 and MESSAGE on stderr.
end_by_kill() {
  local name=$1 role=$2 index=$3 message=$4
  shift 4
  timeout 150 "$PODLAB" cluster run --transport processes --ps 1 --workers 2 "${SMALL[@]}" --epochs "$EPOCHS" --json \
    --checkpoint-dir "$TMP/ckpt-$name" --ps-checkpoint-every-steps 10 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  local launcher=$!
  if ! wait_for_step "$TMP/$name.out" 20; then
    fail "$name: never reached step 20"
    kill -KILL $launcher 2>/dev/null
    wait $launcher 2>/dev/null
    return
  fi
  pkill -KILL -f -- "$role --cluster $TMP/.*--index $index "
  wait $launcher
  local code=$?
  [ "$code" -eq 6 ] || { fail "$name: exit $code, expected 6"; sed 's/^/  | /' "$TMP/$name.err" | tail -n 10; }
  grep -q -- "$message" "$TMP/$name.err" || fail "$name: no clear message ($message)"
}
# Sync with every worker needed (R = 2 of 2) cannot go on without one: not a wait that never ends.
end_by_kill lostsync worker 1 "worker:1 was killed by signal 9; stopped every other task" --mode sync
end_by_kill lostps ps 0 "ps:0 was killed by signal 9; stopped every other task (--restart-failed N"

# 3. SIGTERM to the chief, as Kubernetes sends a pod it preempts, evicts or deletes: the chief
# checkpoints and exits 143 (retried by the rendered policies) without telling the ps to stop; its
# replacement (the launcher's restart here) resumes from the state the ps kept, not from step 0.
if kill_task_run worker 0 TERM; then
  python3 - "$TMP/worker-TERM.out" "$STEPS" <<'PY' || { fail "chief SIGTERM: report"; grep -v progress "$TMP/worker-TERM.out" | tail -n 8 | sed 's/^/  | /'; }
import json, sys
steps = int(sys.argv[-1])
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
r = lines[-1]
assert r["event"] == "result" and r["steps"] == steps and not r["interrupted"], r
assert r["ps_tasks"][0]["worker_restarts"] >= 1, r["ps_tasks"]
assert r["test_accuracy"] > 0.6, r
ckpt = [l["step"] for l in lines if l.get("event") == "checkpoint"]
# The leaving chief checkpointed where it was; its replacement's first checkpoint (right after its
# INIT) is at or past that step: it resumed, it did not start again.
restart = [i for i in range(1, len(ckpt)) if ckpt[i] < ckpt[i - 1]]
assert not restart, ("the steps went back", ckpt)
assert r["worker_tasks"][0]["pushes"] < steps, r["worker_tasks"][0]
# Each epoch is reported once, by the chief that trained in it (not again, with no loss, by the
# replacement as it starts).
epochs = [(l["epoch"], l["train_loss"]) for l in lines if l.get("event") == "epoch"]
assert [e for e, _ in epochs] == sorted(set(e for e, _ in epochs)), ("an epoch reported twice", epochs)
assert all(loss > 0 for _, loss in epochs), ("an epoch with no training loss", epochs)
print("chief SIGTERM: exit 143, restarted, completed; the %d checkpoint steps never went back: %s ... %s" % (len(ckpt), ckpt[:5], ckpt[-3:]))
PY
fi

# 4. SIGTERM to the launcher: the chief checkpoints, STOPs the cluster, everything exits 130 promptly.
timeout 120 "$PODLAB" cluster run --transport processes --ps 1 --workers 2 "${SMALL[@]}" --epochs "$EPOCHS" --json \
  --checkpoint-dir "$TMP/ckpt-term" --ps-checkpoint-every-steps 10 >"$TMP/term.out" 2>"$TMP/term.err" &
LAUNCHER=$!
if wait_for_step "$TMP/term.out" 10; then
  T0=$(now)
  kill -TERM $LAUNCHER
  wait $LAUNCHER
  CODE=$?
  T1=$(now)
  [ "$CODE" -eq 130 ] || { fail "SIGTERM: exit $CODE, expected 130"; sed 's/^/  | /' "$TMP/term.err" | tail -n 10; }
  python3 -c "import sys; t = $T1 - $T0; print('SIGTERM to the launcher: exit after %.2f s' % t); sys.exit(t > 15)" ||
    fail "SIGTERM: took too long"
  # The chief's last act before STOP was a checkpoint of the step it stopped at.
  python3 - "$TMP/term.out" "$STEPS" <<'PY' || fail "SIGTERM: no checkpoint of the final step"
import json, sys
steps = int(sys.argv[-1])
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
r = lines[-1]
ckpt = [l["step"] for l in lines if l.get("event") == "checkpoint"]
assert r["event"] == "result" and r["interrupted"] and r["steps"] < steps, r
assert ckpt and ckpt[-1] == r["steps"], (ckpt[-3:], r["steps"])
PY
else
  fail "SIGTERM run never reached step 10"
  kill -KILL $LAUNCHER 2>/dev/null
  wait $LAUNCHER 2>/dev/null
fi

# 5. Single tasks: SIGTERM ends a ps with 130; a ps whose workers never come exits 6.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SPEC="{\"ps\": [\"127.0.0.1:$PORT\"], \"worker\": [\"127.0.0.1:1\"]}"
timeout 60 "$PODLAB" ps --cluster "$SPEC" --index 0 "${SMALL[@]}" >"$TMP/ps1.out" 2>&1 &
PS_PID=$!
sleep 3
T0=$(now)
kill -TERM $PS_PID
wait $PS_PID
CODE=$?
[ "$CODE" -eq 130 ] || { fail "ps after SIGTERM exited $CODE, expected 130"; sed 's/^/  | /' "$TMP/ps1.out"; }
python3 -c "import sys; t = $(now) - $T0; print('SIGTERM to a ps: exit 130 after %.2f s' % t); sys.exit(t > 5)" || fail "ps SIGTERM: slow"

# A ps no worker ever comes to gives up after --connect-timeout-s (--peer-timeout-s is for workers
# lost once they came: a short one does not cut the wait for workers still starting).
T0=$(now)
timeout 60 "$PODLAB" ps --cluster "$SPEC" --index 0 "${SMALL[@]}" --peer-timeout-s 1 --connect-timeout-s 2.5 >"$TMP/ps2.out" 2>&1
CODE=$?
[ "$CODE" -eq 6 ] || { fail "lonely ps exited $CODE, expected 6"; sed 's/^/  | /' "$TMP/ps2.out"; }
grep -q "ps:0: no worker has come in 2.5 s; giving up (.*--connect-timeout-s sets the limit)" "$TMP/ps2.out" ||
  { fail "lonely ps: no clear message"; sed 's/^/  | /' "$TMP/ps2.out"; }
python3 -c "import sys; t = $(now) - $T0; print('lonely ps: exit 6 after %.2f s' % t); sys.exit(not 2.4 < t < 10)" ||
  fail "lonely ps: did not wait --connect-timeout-s"

# A worker (re)started after its ps has exited gives up after its connect timeout with 6 (network).
T0=$(now)
timeout 60 "$PODLAB" worker --cluster "$SPEC" --index 0 "${SMALL[@]}" --connect-timeout-s 2 >"$TMP/w-late.out" 2>&1
CODE=$?
[ "$CODE" -eq 6 ] || { fail "worker after its ps exited: exit $CODE, expected 6"; sed 's/^/  | /' "$TMP/w-late.out"; }
grep -q "no connection to ps:0" "$TMP/w-late.out" || fail "worker after its ps exited: no clear message"
python3 -c "import sys; t = $(now) - $T0; print('worker after its ps exited: exit 6 after %.2f s' % t); sys.exit(t > 20)" || fail "late worker: slow"

sleep 0.2
if pgrep -f "$TMP" >/dev/null; then fail "processes left running:"; pgrep -af "$TMP"; fi
[ "$FAILS" -eq 0 ] && echo "cluster_faults.sh: all checks passed"
exit $((FAILS > 0))
