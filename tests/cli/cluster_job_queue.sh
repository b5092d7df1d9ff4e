#!/usr/bin/env bash
# The job queue of wait-for-job servers with one ps (where the next job starts the moment the last
# one ends), on 127.0.0.1:
#   - six submitters at once: every one exits 0 with its own job's report;
#   - a queued submitter interrupted (SIGINT) exits 130 and the others still run;
#   - a running job's submitter interrupted: the job is cancelled and the next one starts at once;
#   - podlab submit --shutdown while two are queued: they exit 6 at once, saying the servers are
#     shutting down, and every server exits 0.
# Nothing is left running, also on failure.
# Usage: cluster_job_queue.sh PATH_TO_PODLAB
set -u
source "$(dirname "$0")/lib/job_servers.sh" podlab_cli_job_queue "$@"
PORT=$(free_port)
SPEC="{\"ps\": [\"127.0.0.1:$PORT\"], \"worker\": [\"127.0.0.1:1\", \"127.0.0.1:2\"]}"
JOB=(--dataset fashion-mnist --limit-train 2000 --limit-test 500 --retry-ms 200 --json)
SERVERS=()
for role in ps:0 worker:0 worker:1; do
  timeout 120 "$PODLAB" "${role%%:*}" --cluster "$SPEC" --index "${role##*:}" --wait-for-job >"$TMP/$role.out" 2>&1 &
  SERVERS+=($!)
done
PIDS+=("${SERVERS[@]}")

# Six at once, and a seventh interrupted while it waits in the queue.
SUBS=()
for n in 1 2 3 4 5 6; do
  timeout 120 "$PODLAB" submit --cluster "$SPEC" "${JOB[@]}" --epochs 2 >"$TMP/sub$n.out" 2>"$TMP/sub$n.err" &
  SUBS+=($!)
done
for _ in $(seq 1 200); do [ "$(cat "$TMP"/sub*.out 2>/dev/null | grep -c '"event":"queued"')" -ge 4 ] && break; sleep 0.05; done
timeout 120 "$PODLAB" submit --cluster "$SPEC" "${JOB[@]}" --epochs 2 >"$TMP/quitter.out" 2>"$TMP/quitter.err" &
QUITTER=$!
for _ in $(seq 1 200); do grep -q '"event":"queued"' "$TMP/quitter.out" 2>/dev/null && break; sleep 0.05; done
kill -INT "$(pgrep -P $QUITTER)"
wait $QUITTER
CODE=$?
[ "$CODE" -eq 130 ] || { fail "interrupted queued submitter: exit $CODE, expected 130"; cat "$TMP/quitter.err"; }
for n in 1 2 3 4 5 6; do
  wait "${SUBS[$((n - 1))]}"
  CODE=$?
  [ "$CODE" -eq 0 ] || { fail "submitter $n: exit $CODE, expected 0"; sed 's/^/  | /' "$TMP/sub$n.err" | tail -n 3; }
done
python3 - "$TMP" <<'PY' || fail "the six jobs' reports"
import json, sys
reports = [[json.loads(l) for l in open("%s/sub%d.out" % (sys.argv[1], n)) if l.startswith("{")] for n in range(1, 7)]
results = [r[-1] for r in reports]
assert all(r["event"] == "result" and r["code"] == 0 and r["steps"] == 40 for r in results), results
assert len({r["job"] for r in results}) == 6, results
assert all(r[0]["job"] == r[-1]["job"] for r in reports), "a submitter got another job's report"
print("queue with one ps: 6 jobs, 6 reports, each its own")
PY

# A running job's submitter interrupted (SIGINT): its job is cancelled, so the submitter behind it
# starts at once instead of after the long job's 1000 epochs. The cancelled job is a CNN evaluating
# the whole test split after every epoch (about 2 s): its chief, evaluating on, must not disturb the
# next job (its STOP once ended it at step 0).
timeout 120 "$PODLAB" submit --cluster "$SPEC" --dataset fashion-mnist --model cnn --limit-train 300 --epochs 1000 \
  --retry-ms 200 --json >"$TMP/long.out" 2>"$TMP/long.err" &
LONG=$!
for _ in $(seq 1 400); do grep -q '"event":"progress","step":[1-9]' "$TMP/long.out" 2>/dev/null && break; sleep 0.05; done
timeout 120 "$PODLAB" submit --cluster "$SPEC" "${JOB[@]}" --epochs 1 >"$TMP/next.out" 2>"$TMP/next.err" &
NEXT=$!
for _ in $(seq 1 200); do grep -q '"event":"queued"' "$TMP/next.out" 2>/dev/null && break; sleep 0.05; done
sleep 1  # into the chief's evaluation
kill -INT "$(pgrep -P $LONG)"
T0=$(now)
wait $LONG
CODE=$?
[ "$CODE" -eq 130 ] || { fail "interrupted running submitter: exit $CODE, expected 130"; cat "$TMP/long.err"; }
grep -q "job [0-9]* cancelled" "$TMP/long.err" || { fail "interrupted running submitter: does not say the job was cancelled"; cat "$TMP/long.err"; }
wait $NEXT || { fail "the submitter behind a cancelled job exited $?"; tail -n 3 "$TMP/next.err"; }
tail -n 1 "$TMP/next.out" | grep -q '"code":0,.*"steps":20,' ||
  { fail "the job behind a cancelled one did not train its 20 steps"; tail -n 1 "$TMP/next.out"; }
# The cancelled job stopped where it was, not after its 1000 epochs: its chief reported at most the
# epoch whose evaluation the cancel interrupted. (How long that evaluation still takes is the machine's
# load: 2 s idle, 19 s on a loaded 2-core machine; a job that ran on would time the next one out.)
python3 -c "print('the next job ended %.2f s after the running one was cancelled' % ($(now) - $T0))"
python3 - "$TMP/worker:0.out" <<'PY' || fail "the cancelled job ran on"
import json, sys
results = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"event":"result"')]
cancelled = [r for r in results if r["test_samples"] == 10000]  # the CNN job: the others evaluate 500
assert len(cancelled) == 1 and cancelled[0]["epochs"] <= 2, cancelled
# The chief server's own log says the job was ended early, not that it succeeded.
c = cancelled[0]
assert c["interrupted"] and c["code"] == 130 and "ps:0 ended the job" in c["message"], c
PY

# --shutdown while two submitters wait behind a running job.
timeout 120 "$PODLAB" submit --cluster "$SPEC" "${JOB[@]}" --epochs 6 >"$TMP/running.out" 2>"$TMP/running.err" &
RUNNING=$!
for _ in $(seq 1 200); do grep -q '"event":"submitted"' "$TMP/running.out" 2>/dev/null && break; sleep 0.05; done
WAITING=()
for n in 1 2; do
  timeout 120 "$PODLAB" submit --cluster "$SPEC" "${JOB[@]}" --epochs 1 >"$TMP/waiting$n.out" 2>"$TMP/waiting$n.err" &
  WAITING+=($!)
done
for n in 1 2; do
  for _ in $(seq 1 200); do grep -q '"event":"queued"' "$TMP/waiting$n.out" 2>/dev/null && break; sleep 0.05; done
done
T0=$(now)
timeout 30 "$PODLAB" submit --cluster "$SPEC" --shutdown >"$TMP/shutdown.out" 2>&1 || fail "submit --shutdown exited $?"
for n in 1 2; do
  wait "${WAITING[$((n - 1))]}"
  CODE=$?
  [ "$CODE" -eq 6 ] || fail "queued submitter $n at shutdown: exit $CODE, expected 6"
  grep -q "the servers are shutting down" "$TMP/waiting$n.err" || { fail "queued submitter $n: no clear message"; cat "$TMP/waiting$n.err"; }
done
python3 -c "import sys; t = $(now) - $T0; print('queued submitters ended %.2f s after --shutdown' % t); sys.exit(t > 5)" ||
  fail "queued submitters took too long to end"
wait $RUNNING || fail "the running job's submitter exited $? at shutdown"
for p in "${SERVERS[@]}"; do wait "$p" || fail "a server exited $? after --shutdown"; done
PIDS=()

if pgrep -f "127.0.0.1:$PORT" >/dev/null; then fail "processes left running:"; pgrep -af "127.0.0.1:$PORT"; fi
[ "$FAILS" -eq 0 ] && echo "cluster_job_queue.sh: all checks passed"
exit $((FAILS > 0))
