#!/usr/bin/env bash
# Wait-for-job servers on 127.0.0.1: 2 ps + 2 workers started with --wait-for-job, then
#   - podlab submit runs an async job, then a sync job, on the same servers: each prints the chief's
#     report and exits 0, and the servers stay up in between;
#   - a job the servers cannot run (an unknown dataset) comes back as its exit code (2), and the
#     servers still take the next job;
#   - two more submitters while a job runs wait in ps 0's queue and run after it, in order; the
#     first still gets its report;
#   - a second worker:1 server is refused (exit 6);
#   - podlab submit --shutdown: every server exits 0 within a few seconds;
#   - submit with nobody listening exits 6 after --connect-timeout-s;
#   - servers with CURVE keys: submit with the key directory runs a job and shuts them down; without
#     keys it is refused (exit 3), with another cluster's keys it gives up (exit 6) naming server.pub.
# Nothing is left running, also on failure.
# Usage: cluster_jobs.sh PATH_TO_PODLAB
set -u
source "$(dirname "$0")/lib/job_servers.sh" podlab_cli_jobs "$@"
P0=$(free_port)
P1=$(free_port)
SPEC="{\"ps\": [\"127.0.0.1:$P0\", \"127.0.0.1:$P1\"], \"worker\": [\"127.0.0.1:1\", \"127.0.0.1:2\"]}"
JOB=(--limit-train 2000 --limit-test 500 --retry-ms 200 --connect-timeout-s 20)

for role in ps:0 ps:1 worker:0 worker:1; do
  timeout 120 "$PODLAB" "${role%%:*}" --cluster "$SPEC" --index "${role##*:}" --wait-for-job --peer-timeout-s 60 \
    >"$TMP/$role.out" 2>&1 &
  PIDS+=($!)
done

# submit_job NAME EXPECTED_CODE FLAGS...: runs one job, leaves its output in $TMP/NAME.out.
submit_job() {
  local name=$1 want=$2
  shift 2
  timeout 90 "$PODLAB" submit --cluster "$SPEC" --json "${JOB[@]}" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
  local code=$?
  [ "$code" -eq "$want" ] || { fail "$name: submit exited $code, expected $want"; sed 's/^/  | /' "$TMP/$name.out" "$TMP/$name.err" | tail -n 8; }
}

submit_job async 0 --dataset fashion-mnist --epochs 1
submit_job sync 0 --dataset fashion-mnist --epochs 2 --mode sync
python3 - "$TMP/async.out" "$TMP/sync.out" <<'PY' || fail "job reports"
import json, sys
for path, steps, epochs in ((sys.argv[1], 20, 1), (sys.argv[2], 20, 2)):
    lines = [json.loads(l) for l in open(path) if l.startswith("{")]
    assert lines[0]["event"] == "submitted" and lines[-1]["event"] == "result", lines
    r = lines[-1]
    assert r["code"] == 0 and r["task"] == "worker:0" and r["steps"] == steps and r["epochs"] == epochs, r
    assert r["test_accuracy"] > 0.3, r
    print("job %s: exit 0, %d steps, test accuracy %.3f" % (r["job"], r["steps"], r["test_accuracy"]))
PY
submit_job bad 2 --epochs 1 --dataset nosuch
grep -q "unknown dataset 'nosuch'" "$TMP/bad.err" || fail "bad job: no clear message"
submit_job again 0 --dataset fashion-mnist --epochs 1  # the servers are still there after a failed job

# Submitters while a job runs wait in ps 0's queue (saying how many jobs are ahead) and run after it,
# one at a time, in the order they came; the first still gets its report (each submitter has its own
# routing id and job id).
timeout 90 "$PODLAB" submit --cluster "$SPEC" --json "${JOB[@]}" --dataset fashion-mnist --epochs 4 \
  >"$TMP/first.out" 2>"$TMP/first.err" &
FIRST=$!
for _ in $(seq 1 200); do grep -q '"event":"submitted"' "$TMP/first.out" 2>/dev/null && break; sleep 0.05; done
QUEUED=()
for n in 2 3; do
  timeout 90 "$PODLAB" submit --cluster "$SPEC" --json "${JOB[@]}" --dataset fashion-mnist --epochs 1 \
    >"$TMP/queued$n.out" 2>"$TMP/queued$n.err" &
  QUEUED+=($!)
  sleep 0.3
done
wait $FIRST
CODE=$?
[ "$CODE" -eq 0 ] || { fail "first submitter: exit $CODE, expected 0"; sed 's/^/  | /' "$TMP/first.err" | tail -n 5; }
tail -n 1 "$TMP/first.out" | grep -q '"event":"result"' || fail "first submitter after the queued ones: no report"
for n in 2 3; do
  wait "${QUEUED[$((n - 2))]}"
  CODE=$?
  [ "$CODE" -eq 0 ] || { fail "queued submitter $n: exit $CODE, expected 0"; sed 's/^/  | /' "$TMP/queued$n.out" "$TMP/queued$n.err" | tail -n 5; }
done
python3 - "$TMP/first.out" "$TMP/queued2.out" "$TMP/queued3.out" "$TMP/ps:0.out" <<'PY' || fail "queued jobs"
import json, re, sys
reports = [[json.loads(l) for l in open(p) if l.startswith("{")] for p in sys.argv[1:4]]
ids = [r[-1]["job"] for r in reports]
assert all(r[-1]["event"] == "result" and r[-1]["code"] == 0 for r in reports), reports
assert len(set(ids)) == 3, ids
first_ahead = lambda r: [e["ahead"] for e in r if e["event"] == "queued"][:1]
assert first_ahead(reports[1]) == [1] and first_ahead(reports[2]) == [2], reports
ran = [int(j) for j in re.findall(r"running job (\d+)", open(sys.argv[4]).read())]
assert ran[-3:] == ids, (ran, ids)
print("queue: jobs %s ran one after another, in the order they were submitted" % ids)
PY

# A second worker:1 server while the first waits for jobs: ps 0 refuses it (exit 6, saying why)
# once it hears the first again; the servers go on (the shutdown below finds every one).
timeout 30 "$PODLAB" worker --cluster "$SPEC" --index 1 --wait-for-job >"$TMP/dup.out" 2>&1
CODE=$?
[ "$CODE" -eq 6 ] && grep -q "ps:0 refused this process: another process is already running as worker:1" "$TMP/dup.out" ||
  { fail "a second worker:1 server: exit $CODE, expected 6 saying why"; tail -n 3 "$TMP/dup.out"; }

T0=$(now)
timeout 30 "$PODLAB" submit --cluster "$SPEC" --shutdown >"$TMP/shutdown.out" 2>&1 || fail "submit --shutdown exited $?"
for i in "${!PIDS[@]}"; do
  wait "${PIDS[$i]}"
  code=$?
  [ "$code" -eq 0 ] || { fail "server $i exited $code after --shutdown"; }
done
PIDS=()
python3 -c "import sys; t = $(now) - $T0; print('--shutdown: every server exited 0 after %.2f s' % t); sys.exit(t > 15)" || fail "shutdown slow"
for ps in ps:0 ps:1; do
  grep -q "podlab: $ps: shut down (podlab submit --shutdown)" "$TMP/$ps.out" || fail "$ps does not log its shutdown"
done

T0=$(now)
timeout 30 "$PODLAB" submit --cluster "$SPEC" --epochs 1 --connect-timeout-s 1 >"$TMP/none.out" 2>&1
CODE=$?
[ "$CODE" -eq 6 ] || { fail "submit to no servers exited $CODE, expected 6"; sed 's/^/  | /' "$TMP/none.out"; }
grep -q "no connection to ps:" "$TMP/none.out" || fail "submit to no servers: no clear message"

# CURVE: 1 ps + 1 worker with keys.
"$PODLAB" keys generate --out "$TMP/keys" >/dev/null || fail "keys generate"
"$PODLAB" keys generate --out "$TMP/other" >/dev/null || fail "keys generate (other)"
P2=$(free_port)
KSPEC="{\"ps\": [\"127.0.0.1:$P2\"], \"worker\": [\"127.0.0.1:1\"]}"
for role in ps worker; do
  timeout 60 "$PODLAB" "$role" --cluster "$KSPEC" --index 0 --wait-for-job --keys "$TMP/keys" --peer-timeout-s 60 \
    >"$TMP/keyed-$role.out" 2>&1 &
  PIDS+=($!)
done
JOB=(--keys "$TMP/keys" "${JOB[@]}")
SPEC=$KSPEC submit_job keyed 0 --dataset fashion-mnist --epochs 1
grep -q '"event":"result".*"code":0' "$TMP/keyed.out" || fail "keyed job: no result line"
timeout 30 "$PODLAB" submit --cluster "$KSPEC" --epochs 1 --connect-timeout-s 5 >"$TMP/nokeys.out" 2>&1
CODE=$?
[ "$CODE" -eq 3 ] || { fail "submit without keys to keyed servers exited $CODE, expected 3"; sed 's/^/  | /' "$TMP/nokeys.out"; }
grep -q "requires CURVE keys" "$TMP/nokeys.out" || fail "submit without keys: no clear message"
timeout 30 "$PODLAB" submit --cluster "$KSPEC" --keys "$TMP/other" --epochs 1 --connect-timeout-s 1 >"$TMP/otherkeys.out" 2>&1
CODE=$?
[ "$CODE" -eq 6 ] || { fail "submit with other keys exited $CODE, expected 6"; sed 's/^/  | /' "$TMP/otherkeys.out"; }
grep -q "server.pub" "$TMP/otherkeys.out" || fail "submit with other keys: no hint at server.pub"
timeout 30 "$PODLAB" submit --cluster "$KSPEC" --keys "$TMP/keys" --shutdown >"$TMP/kshutdown.out" 2>&1 || fail "keyed submit --shutdown exited $?"
for i in "${!PIDS[@]}"; do
  wait "${PIDS[$i]}"
  code=$?
  [ "$code" -eq 0 ] || fail "keyed server $i exited $code after --shutdown"
done
PIDS=()

if pgrep -f "127.0.0.1:$P0|127.0.0.1:$P2" >/dev/null; then fail "processes left running:"; pgrep -af "127.0.0.1:$P0|127.0.0.1:$P2"; fi
[ "$FAILS" -eq 0 ] && echo "cluster_jobs.sh: all checks passed"
exit $((FAILS > 0))
