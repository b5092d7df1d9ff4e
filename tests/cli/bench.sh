#!/usr/bin/env bash
# Smoke test of `podlab bench` (a few seconds): inference and a few training steps print one JSON object
# per work item with positive figures, partial epochs are marked as scaled, bad work items are usage
# errors. Timings themselves are not checked: bench/compare.py does that against PyTorch.
# Usage: bench.sh PATH_TO_PODLAB
set -u
PODLAB=${1:?usage: bench.sh PATH_TO_PODLAB}
TMP=$(mktemp -d /tmp/podlab_cli_bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
unset PODLAB_DATA
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
# run WANT_CODE DESCRIPTION -- command...: output in $TMP/out.
run() {
  local want=$1 what=$2
  shift 3
  timeout 60 "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then fail "$what: exit $got, expected $want"; sed 's/^/  | /' "$TMP/out" "$TMP/err"; fi
}
# check_json WORK... : one object per named item, in order, with the documented fields positive.
check_json() {
  python3 - "$TMP/out" "$@" <<'PY' || { fail "JSON output of: $*"; sed 's/^/  | /' "$TMP/out"; }
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
assert [r["work"] for r in rows] == sys.argv[2:], rows
for r in rows:
    for k in ("samples_per_s", "epoch_s", "epoch_s_min", "epoch_s_max", "gflops", "peak_fraction",
              "peak_rss_mb", "fma_peak_gflops", "flops_per_sample", "samples"):
        assert isinstance(r[k], (int, float)) and r[k] > 0, (k, r)
    assert r["epoch_s_min"] <= r["epoch_s"] <= r["epoch_s_max"], r
    assert r["peak_fraction"] < 1.5, r  # a fraction of the measured FMA peak, not a percentage
PY
}

run 0 "infer" -- "$PODLAB" bench --work infer --repeat 1 --json
check_json infer
python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); assert r["samples"]==10000 and r["flops_per_sample"]==397600, r' "$TMP/out" ||
  fail "infer: 10,000 test samples at 397,600 FLOPs each"

run 0 "mlp steps" -- "$PODLAB" bench --work mlp-b100,mlp-b32-t2 --steps 20 --repeat 2 --json
check_json mlp-b100 mlp-b32-t2
python3 - "$TMP/out" <<'PY' || fail "mlp steps: scaling and counts"
import json, sys
a, b = [json.loads(line) for line in open(sys.argv[1])]
assert a["steps"] == 20 and a["full_epoch_steps"] == 600 and a["scaled"] is True, a
assert a["samples"] == 2000 and a["repeat"] == 2 and a["flops_per_sample"] == 879200, a
assert b["threads"] == 2 and b["batch"] == 32 and b["samples"] == 640 and b["full_epoch_steps"] == 1875, b
assert 0 < a["loss"] < 3, a
PY

# Without --json and not on a terminal, the output is JSON lines too (as for the other commands).
run 0 "piped" -- "$PODLAB" bench --work infer --repeat 1
check_json infer

run 2 "unknown work item" -- "$PODLAB" bench --work resnet
grep -q "unknown work item 'resnet'" "$TMP/err" || fail "no message naming the bad work item"
run 2 "bad work part" -- "$PODLAB" bench --work mlp-x3
run 2 "bad repeat" -- "$PODLAB" bench --repeat 0

[ "$FAILS" -eq 0 ] && echo "bench.sh: all checks passed"
exit $((FAILS > 0))
