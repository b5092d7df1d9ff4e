#!/usr/bin/env bash
# Smoke test of bench/cluster.py (a few seconds, on 2,000 training samples): one round prints one JSON
# object per goal with positive figures and accuracies, and the ratio it reports is its runs' ratio;
# bad flags and a missing podlab are usage errors. Timings are not checked here: the script is the
# benchmark. Usage: bench_cluster.sh PATH_TO_PODLAB
set -u
PODLAB=${1:?usage: bench_cluster.sh PATH_TO_PODLAB}
SCRIPT=$(cd "$(dirname "$0")/../../bench" && pwd)/cluster.py
TMP=$(mktemp -d /tmp/podlab_cli_bench_cluster.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
unset PODLAB_DATA
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

timeout 120 python3 "$SCRIPT" --podlab "$PODLAB" --rounds 1 --epochs 1 --limit-train 2000 --pushpull-blocks 1 --json \
  >"$TMP/out" 2>"$TMP/err"
code=$?
if [ $code -ne 0 ]; then fail "one quick round: exit $code"; sed 's/^/  | /' "$TMP/out" "$TMP/err"; fi
python3 - "$TMP/out" "$(dirname "$PODLAB")/podlab_pushpull" <<'PY' || { fail "JSON summary"; sed 's/^/  | /' "$TMP/out"; }
import json, os, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
speed = [r for r in rows if "at_least" in r]
assert [r["run"] for r in speed] == ["threads-w2", "processes-w2-b100", "processes-w2-b500",
                                     "processes-w2-b500-overlap"], rows
for r in speed:
    assert r["samples_per_s"] > 0 and r["baseline_samples_per_s"] > 0, r
    assert abs(r["ratio"] - r["samples_per_s"] / r["baseline_samples_per_s"]) < 1e-9, r
    assert 0 < r["test_accuracy"] <= 1 and 0 < r["baseline_test_accuracy"] <= 1, r
    assert r["met"] == (r["ratio"] >= r["at_least"]), r
pp = [r for r in rows if "at_most" in r]
if os.access(sys.argv[2], os.X_OK):
    assert len(pp) == 1 and pp[0]["ms"] > 0 and pp[0]["baseline_ms"] > 0, rows
PY
grep -q -- "--limit-train 2000" "$TMP/err" || fail "the runs it made are not shown on stderr"

timeout 30 python3 "$SCRIPT" --podlab "$PODLAB" --rounds 0 >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "at least 1" "$TMP/err" || fail "--rounds 0 is not a usage error"
timeout 30 python3 "$SCRIPT" --podlab "$TMP/missing" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "no podlab binary" "$TMP/err" || fail "a missing podlab is not reported"

[ $FAILS -eq 0 ] && echo "bench_cluster: all checks passed"
exit $((FAILS > 0))
