#!/usr/bin/env bash
# Wait-for-job servers where one worker cannot run a job (its data directory holds files that are not
# a dataset; PODLAB_DATA differs per server, as machines' disks do), on 127.0.0.1:
#   - sync, 2 workers aggregating 2: ps 0 ends the job at once; submit exits 4 naming the worker and
#     its file, and the servers take the next job right away;
#   - async on the same servers: training goes on with the chief alone; exit 0, and the report lists
#     the failed worker under workers_failed;
#   - a job submitted with a spec of 3 workers to these servers of 2: refused, exit 3; one with a
#     second ps: refused as ps 0 admits it (not after --connect-timeout-s), and the next job runs at once;
#   - 2 ps, the chief cannot run the job: submit exits 4 at once, and ps 1 (which the chief never
#     reached) is free for the next job at once, not after --peer-timeout-s;
#   - 2 ps, ps 1 cannot start the job: the workers hear why from it; exit 4 naming ps:1;
#   - SIGTERM to the chief's server mid-job: the job stops as on SIGINT; submit exits 130;
#   - no chief server: even an async job ends, once the chief has not come within ps 0's
#     --connect-timeout-s (exit 6, saying why);
#   - a worker killed during a sync job, without a word: ps 0 ends the job after --peer-timeout-s
#     (exit 6, naming the worker).
# Nothing is left running, also on failure.
# Usage: cluster_job_failures.sh PATH_TO_PODLAB
set -u
source "$(dirname "$0")/lib/job_servers.sh" podlab_cli_job_failures "$@"
mkdir -p "$TMP/bad/fashion-mnist"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  echo "not a dataset" >"$TMP/bad/fashion-mnist/$f"
done
PORTS=""  # of every ps started, for the final check
JOB=(--dataset fashion-mnist --limit-train 2000 --limit-test 500 --retry-ms 200 --connect-timeout-s 20 --json)

# start_servers NUM_PS BAD: 2 workers; the task BAD (worker0, worker1, ps1, ...) reads $TMP/bad; sets SPEC.
start_servers() {
  local num_ps=$1 bad=$2 ps_list="" k port data task tasks=()
  for k in $(seq 0 $((num_ps - 1))); do
    tasks+=("ps$k")
    port=$(free_port)
    PORTS+="${PORTS:+|}127.0.0.1:$port"
    ps_list+="${ps_list:+, }\"127.0.0.1:$port\""
  done
  SPEC="{\"ps\": [$ps_list], \"worker\": [\"127.0.0.1:1\", \"127.0.0.1:2\"]}"
  tasks+=(worker0 worker1)  # worker 1 last: the killed-worker check finds it at the end of PIDS
  for task in "${tasks[@]}"; do
    data=""
    [ "$task" = "$bad" ] && data=$TMP/bad
    PODLAB_DATA=$data timeout 120 "$PODLAB" "${task%%[0-9]*}" --cluster "$SPEC" --index "${task##*[a-z]}" --wait-for-job \
      --peer-timeout-s 60 >"$TMP/$task.out" 2>&1 &
    PIDS+=($!)
  done
}
stop_servers() {
  timeout 30 "$PODLAB" submit --cluster "$SPEC" --shutdown >/dev/null 2>&1 || fail "submit --shutdown exited $?"
  for p in "${PIDS[@]}"; do wait "$p" || fail "a server exited $? after --shutdown"; done
  PIDS=()
}
# submit_job NAME EXPECTED_CODE MAX_SECONDS FLAGS...: output in $TMP/NAME.out and .err.
submit_job() {
  local name=$1 want=$2 max=$3
  shift 3
  local t0
  t0=$(now)
  timeout 90 "$PODLAB" submit --cluster "$SPEC" "${JOB[@]}" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
  local code=$?
  [ "$code" -eq "$want" ] || { fail "$name: submit exited $code, expected $want"; sed 's/^/  | /' "$TMP/$name.out" "$TMP/$name.err" | tail -n 8; }
  python3 -c "import sys; t = $(now) - $t0; print('%s: exit %d after %.2f s' % ('$name', $code, t)); sys.exit(t > $max)" ||
    fail "$name: took more than $max s"
}

start_servers 1 worker1
submit_job sync 4 15 --epochs 1 --mode sync
python3 - "$TMP/sync.out" <<'PY' || fail "sync job's report"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]
assert r["event"] == "result" and r["code"] == 4 and r["task"] == "worker:1", r
assert "bad/fashion-mnist" in r["message"], r
assert [w["task"] for w in r["workers_failed"]] == ["worker:1"], r
PY
grep -q "job .*: worker:1: .*bad/fashion-mnist" "$TMP/sync.err" || { fail "sync job: no error naming the worker"; cat "$TMP/sync.err"; }
grep -q "ending the job: sync training cannot go on without 1 of its 2 workers" "$TMP/ps0.out" || fail "ps:0 does not say why it ended the job"
grep -q "was ended: sync training cannot go on .*--mode async" "$TMP/sync.err" || { fail "sync job: submit does not say why it ended"; cat "$TMP/sync.err"; }
submit_job async 0 30 --epochs 1 --mode async
python3 - "$TMP/async.out" <<'PY' || fail "async job's report"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]
assert r["event"] == "result" and r["code"] == 0 and r["task"] == "worker:0" and r["steps"] == 20, r
w = r["workers_failed"]
assert len(w) == 1 and w[0]["task"] == "worker:1" and w[0]["code"] == 4 and "bad/fashion-mnist" in w[0]["message"], r
PY
# A spec of 3 workers for servers that run 2: refused (exit 3, saying both), not run on 2.
SPEC2=$SPEC
SPEC=${SPEC/\"127.0.0.1:2\"]/\"127.0.0.1:2\", \"127.0.0.1:3\"]}
submit_job other-spec 3 15 --epochs 1 --mode async
grep -q "the servers run a cluster of 1 ps task and 2 workers, but this --cluster has 1 ps task and 3 workers" "$TMP/other-spec.err" ||
  { fail "other-spec job: no error naming both specs"; cat "$TMP/other-spec.err"; }
# A spec with a second ps the servers do not have: refused as ps 0 admits the job, not after waiting
# --connect-timeout-s (20 s) for a ps:1 that is not there; and ps 0 takes the next job at once.
SPEC=${SPEC2/\"ps\": [/\"ps\": [\"127.0.0.1:$(free_port)\", }
SPEC=$(python3 -c 'import json, sys; s = json.loads(sys.argv[1]); s["ps"].reverse(); print(json.dumps(s))' "$SPEC")
submit_job other-ps 3 5 --epochs 1 --mode async
grep -q "the servers run a cluster of 1 ps task and 2 workers, but this --cluster has 2 ps tasks and 2 workers" "$TMP/other-ps.err" ||
  { fail "other-ps job: no error naming both specs"; cat "$TMP/other-ps.err"; }
SPEC=$SPEC2
submit_job after-refusal 0 4 --epochs 1 --max-steps 5 --mode async  # short: what is timed is the admission
stop_servers

start_servers 2 worker0
submit_job chief 4 15 --epochs 1 --mode async
grep -q '"task":"worker:0"' "$TMP/chief.out" || fail "chief job: the report does not name the chief"
# ps 1 never heard from the chief; the client's report ended its run, so the next job is taken at once.
submit_job chief-again 4 15 --epochs 1 --mode async
stop_servers

# ps 1 cannot start the job: its workers hear why from it, and the job fails with its code.
start_servers 2 ps1
submit_job ps1 4 15 --epochs 1 --mode sync
grep -q "ps:1 at 127.0.0.1:[0-9]* could not start this job: .*bad/fashion-mnist" "$TMP/ps1.err" ||
  { fail "ps1 job: no error naming ps:1 and its file"; cat "$TMP/ps1.err"; }
stop_servers

# SIGTERM to the chief's server during a job: the chief stops the job as on SIGINT (no replacement
# would resume a submitted job), its server exits 130, and submit says the job was interrupted (130).
start_servers 1 none
timeout 90 "$PODLAB" submit --cluster "$SPEC" "${JOB[@]}" --epochs 50 >"$TMP/sigterm.out" 2>"$TMP/sigterm.err" &
SUBMIT=$!
for _ in $(seq 1 400); do grep -q '"event":"progress","step":[1-9]' "$TMP/sigterm.out" 2>/dev/null && break; sleep 0.05; done
kill -TERM "$(pgrep -P "${PIDS[1]}")"  # worker 0 (under its `timeout`), training
wait $SUBMIT
CODE=$?
[ "$CODE" -eq 130 ] || { fail "SIGTERM to the chief: submit exited $CODE, expected 130"; tail -n 4 "$TMP/sigterm.out" "$TMP/sigterm.err"; }
tail -n 1 "$TMP/sigterm.out" | grep -q '"code":130,"task":"worker:0",.*"interrupted":true' ||
  { fail "SIGTERM to the chief: the result does not say interrupted"; tail -n 1 "$TMP/sigterm.out"; }
wait "${PIDS[1]}"
CODE=$?
[ "$CODE" -eq 130 ] || fail "SIGTERM to the chief: its server exited $CODE, expected 130"
PIDS=("${PIDS[0]}" "${PIDS[2]}")
stop_servers

# No chief at all (its server died before it took the job): even async cannot go on, so ps 0 ends
# the job once the chief has not come within its --connect-timeout-s (exit 6, naming it), not never.
# (--peer-timeout-s is for workers that came and went silent: a worker loading the job's data on a
# loaded machine says nothing for a while.)
P0=$(free_port)
SPEC="{\"ps\": [\"127.0.0.1:$P0\"], \"worker\": [\"127.0.0.1:1\", \"127.0.0.1:2\"]}"
PORTS+="|127.0.0.1:$P0"
timeout 120 "$PODLAB" ps --cluster "$SPEC" --index 0 --wait-for-job --connect-timeout-s 3 >"$TMP/ps0.out" 2>&1 &
PIDS=($!)
timeout 120 "$PODLAB" worker --cluster "$SPEC" --index 1 --wait-for-job >"$TMP/worker1.out" 2>&1 &
PIDS+=($!)
submit_job no-chief 6 20 --epochs 1 --mode async --peer-timeout-s 2
grep -q "the chief (worker 0) failed" "$TMP/no-chief.err" || { fail "no chief: submit does not say why the job ended"; cat "$TMP/no-chief.err"; }
grep -q "worker:0: ps:0 has not heard from worker:0 in the 3.0 s since the job started" "$TMP/no-chief.err" ||
  { fail "no chief: submit does not name it"; cat "$TMP/no-chief.err"; }
stop_servers

# A worker killed during a sync job (no report): ps 0 ends the job after --peer-timeout-s, exit 6.
start_servers 1 none
timeout 90 "$PODLAB" submit --cluster "$SPEC" "${JOB[@]}" --epochs 50 --mode sync --peer-timeout-s 2 \
  >"$TMP/killed.out" 2>"$TMP/killed.err" &
SUBMIT=$!
# Step 1 of sync with 2 aggregated took worker 1's gradient: ps 0 has heard from it.
for _ in $(seq 1 400); do grep -q '"event":"progress","step":[1-9]' "$TMP/killed.out" 2>/dev/null && break; sleep 0.05; done
kill -KILL "$(pgrep -P "${PIDS[-1]}")"  # worker 1 (under its `timeout`), started last
T0=$(now)
wait $SUBMIT
CODE=$?
[ "$CODE" -eq 6 ] || { fail "killed worker: submit exited $CODE, expected 6"; tail -n 4 "$TMP/killed.out" "$TMP/killed.err"; }
python3 -c "import sys; t = $(now) - $T0; print('killed worker: exit $CODE %.2f s after the kill' % t); sys.exit(t > 15)" ||
  fail "killed worker: the job took too long to end"
grep -q "has not heard from worker:1 for 2.0 s" "$TMP/killed.err" || { fail "killed worker: no message naming it"; cat "$TMP/killed.err"; }
timeout 30 "$PODLAB" submit --cluster "$SPEC" --shutdown >/dev/null 2>&1 || fail "submit --shutdown exited $?"
for p in "${PIDS[@]}"; do wait "$p"; done  # worker 1 was killed: its code is 137
PIDS=()

if pgrep -f "$PORTS" >/dev/null; then fail "processes left running:"; pgrep -af "$PORTS"; fi
[ "$FAILS" -eq 0 ] && echo "cluster_job_failures.sh: all checks passed"
exit $((FAILS > 0))
