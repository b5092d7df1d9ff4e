#!/usr/bin/env bash
# End-to-end checks of `podlab train`, `eval` and `predict` on a small slice of Fashion-MNIST:
# exit codes and messages for bad input, JSON output, Ctrl-C saving a checkpoint, resume, eval and
# predict. Usage: train.sh PATH_TO_PODLAB
set -u
PODLAB=${1:?usage: train.sh PATH_TO_PODLAB}
TMP=$(mktemp -d /tmp/podlab_cli_train.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export XDG_CACHE_HOME=$TMP/cache HOME=$TMP/home
unset PODLAB_DATA
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
# expect CODE DESCRIPTION -- command...: runs the command (output in $TMP/out), checks the exit code.
expect() {
  local want=$1 what=$2
  shift 3
  timeout 120 "$@" >"$TMP/out" 2>&1
  local got=$?
  if [ "$got" -ne "$want" ]; then fail "$what: exit $got, expected $want"; sed 's/^/  | /' "$TMP/out"; fi
}
contains() { grep -q -- "$1" "$TMP/out" || { fail "output lacks '$1'"; sed 's/^/  | /' "$TMP/out"; }; }
SMALL=(--dataset fashion-mnist --limit-train 3000 --limit-test 500)

# Bad flags and values: usage errors (2) that name the problem.
expect 2 "unknown flag" -- "$PODLAB" train --no-such-flag
contains "no-such-flag"
expect 2 "bad model" -- "$PODLAB" train --model resnet "${SMALL[@]}"
contains "bad model spec 'resnet'"
expect 2 "bad optimizer" -- "$PODLAB" train --optimizer rmsprop
expect 2 "bad schedule" -- "$PODLAB" train --lr-schedule exp:7:3 "${SMALL[@]}"
contains "RATE must be in"
expect 2 "negative batch" -- "$PODLAB" train --batch -3
expect 2 "negative limit" -- "$PODLAB" train --limit-train -1
contains "--limit-train: must be 0 or more, got -1"
expect 2 "limit not a number" -- "$PODLAB" train --limit-test abc
contains "'abc' is not a number"
expect 2 "unknown dataset" -- "$PODLAB" train --dataset cifar
contains "unknown dataset 'cifar'"
# A dataset that is not anywhere: data error (4) with the fetch command.
expect 4 "missing dataset" -- "$PODLAB" train --dataset mnist --data "$TMP/nothing"
contains "podlab data fetch mnist --dir $TMP/nothing"
# --data names the only place looked: a dataset installed elsewhere is not used behind the user's back.
mkdir -p "$TMP/empty"
expect 4 "dataset not in --data" -- "$PODLAB" train "${SMALL[@]}" --epochs 1 --data "$TMP/empty"
contains "dataset 'fashion-mnist' not found"
expect 4 "no dataset in --data" -- "$PODLAB" train --limit-train 300 --epochs 1 --data "$TMP/empty"
contains "no dataset found in --data $TMP/empty"
# A corrupt dataset file: data error naming the file.
mkdir -p "$TMP/broken"
for f in /usr/share/datasets/fashion-mnist/*.gz; do cp "$f" "$TMP/broken/"; done
head -c 100000 /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz >"$TMP/broken/train-images-idx3-ubyte.gz"
expect 4 "truncated dataset" -- "$PODLAB" train --dataset fashion-mnist --data "$TMP/broken"
contains "train-images-idx3-ubyte.gz"

# A short run: JSON lines, the last one the final report.
expect 0 "short run" -- "$PODLAB" train "${SMALL[@]}" --epochs 2 --json --checkpoint-dir "$TMP/ck" --log-dir "$TMP/logs"
tail -n 1 "$TMP/out" >"$TMP/result.json"
python3 - "$TMP/result.json" <<'PY' || fail "final JSON report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["event"] == "result", r
for k in ("test_accuracy", "test_loss", "epochs", "steps", "seconds"):
    assert k in r, k
assert r["epochs"] == 2 and r["steps"] == 60, r
assert r["test_accuracy"] > 0.7, r
PY
[ -f "$TMP/ck/latest" ] || fail "no checkpoint 'latest' file"
ls "$TMP"/logs/events.out.tfevents.* >/dev/null 2>&1 || fail "no TensorBoard event file"
grep -q "test/accuracy" "$TMP/logs/scalars.csv" || fail "scalars.csv lacks test/accuracy"

# Resume continues to the requested epoch count.
expect 0 "resume" -- "$PODLAB" train "${SMALL[@]}" --epochs 3 --json --checkpoint-dir "$TMP/ck" --resume
tail -n 1 "$TMP/out" | grep -q '"steps":90' || fail "resume did not end at step 90: $(tail -n 1 "$TMP/out")"
# A resumed run keeps the checkpoint's seed (its shuffle), and says so when --seed asks for another.
expect 0 "resume with another seed" -- "$PODLAB" train "${SMALL[@]}" --epochs 3 --json --checkpoint-dir "$TMP/ck" --resume --seed 7
contains "continues with the checkpoint's seed 1; --seed 7 is ignored"
# Resume with a different model is refused with a hint.
expect 4 "resume with another model" -- "$PODLAB" train "${SMALL[@]}" --model softmax --checkpoint-dir "$TMP/ck" --resume
contains "softmax"
# A run whose loss turns nan stops there with 3 (as TensorFlow's NanTensorHook does), not 0 after
# an epoch of nan: its last good checkpoint stays the newest.
expect 3 "diverged" -- "$PODLAB" train "${SMALL[@]}" --optimizer sgd --lr 1e30 --checkpoint-dir "$TMP/nan"
contains "training diverged at step [0-9]*: the loss is nan"
contains "lower the learning rate (--lr)"
ls "$TMP/nan" | grep -q '^ckpt-' && fail "a diverged run wrote a checkpoint: $(ls "$TMP/nan")"
# A new run (no --resume) into a directory with another run's checkpoints is refused at once: it
# would interleave its files with them and prune some of each. A file as the directory fails at once
# too, not after the first epoch.
expect 3 "new run into a used checkpoint dir" -- "$PODLAB" train "${SMALL[@]}" --model softmax --checkpoint-dir "$TMP/ck"
contains "already holds checkpoints (the newest ckpt-90.podlab, step 90): pass --resume"
[ "$(ls "$TMP/ck" | grep -c '^ckpt-')" -eq 3 ] || fail "the refused run changed the checkpoint directory: $(ls "$TMP/ck")"
touch "$TMP/afile"
expect 5 "checkpoint dir is a file" -- "$PODLAB" train "${SMALL[@]}" --checkpoint-dir "$TMP/afile"
contains "cannot create checkpoint directory"
grep -q '"event":"progress"\|"event":"epoch"' "$TMP/out" && fail "trained before finding the checkpoint dir unusable"

# A device is no checkpoint (reading /dev/zero would never end).
expect 5 "eval of /dev/zero" -- "$PODLAB" eval --checkpoint /dev/zero
contains "not a regular file"

# eval and predict on the checkpoint.
CK=$TMP/ck/$(cat "$TMP/ck/latest")
expect 0 "eval" -- "$PODLAB" eval --checkpoint "$CK" --limit-test 500 --json
grep -q '"test_accuracy"' "$TMP/out" || fail "eval printed no accuracy"
expect 0 "predict --index" -- "$PODLAB" predict --checkpoint "$CK" --index 0 --json
contains '"truth":9'
expect 2 "predict out of range" -- "$PODLAB" predict --checkpoint "$CK" --index 99999
expect 4 "predict on a non-checkpoint" -- "$PODLAB" predict --checkpoint /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz --index 0
contains "not a podlab checkpoint"

# SIGINT mid-run: stops, saves a checkpoint, exits 130, and says how to resume.
timeout 120 "$PODLAB" train "${SMALL[@]}" --epochs 50 --json --checkpoint-dir "$TMP/int" >"$TMP/out" 2>&1 &
PID=$!
for _ in $(seq 1 100); do grep -q '"event":"progress"' "$TMP/out" && break; sleep 0.1; done
kill -INT $PID
wait $PID
CODE=$?
[ "$CODE" -eq 130 ] || fail "SIGINT exit code $CODE, expected 130"
contains "resume with"
[ -f "$TMP/int/latest" ] || fail "no checkpoint after SIGINT"

[ "$FAILS" -eq 0 ] && echo "train.sh: all checks passed"
exit $((FAILS > 0))
