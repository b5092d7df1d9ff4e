#!/usr/bin/env bash
# `podlab k8s render` checks the training flags it writes into the pods as each pod's podlab will
# read them, and the CURVE keys it packs as each task will load them: a typo is a usage error (2) at
# render time, not a Job whose every pod exits 2 or 3. Valid flags still render.
# Usage: k8s_render_flags.sh PATH_TO_PODLAB
set -u
PODLAB=${1:?usage: k8s_render_flags.sh PATH_TO_PODLAB}
TMP=$(mktemp -d /tmp/podlab_cli_k8s_flags.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
unset PODLAB_KEYS
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
RENDER=(k8s render --name demo --image localhost/podlab:1)

# expect CODE MESSAGE FLAGS...: render with FLAGS exits CODE, its stderr containing MESSAGE.
expect() {
  local want=$1 message=$2
  shift 2
  timeout 30 "$PODLAB" "${RENDER[@]}" "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  [ "$got" -eq "$want" ] || { fail "$*: exit $got, expected $want"; sed 's/^/  | /' "$TMP/err"; return; }
  grep -qF -- "$message" "$TMP/err" || { fail "$*: stderr lacks '$message'"; sed 's/^/  | /' "$TMP/err"; }
}

expect 2 "bad model spec 'foo'" --model foo
expect 2 "--lr: 'abc' is not a number" --lr abc
expect 2 "--batch: Value 0 not in range 1 to 65536" --batch 0
expect 2 "--fetch mnist with --dataset fashion-mnist: the pods read only the fetched" --fetch mnist --dataset fashion-mnist
expect 2 "--placement: foo not in {round-robin,balanced}" --placement foo
expect 2 "unknown learning-rate schedule 'bogus'" --lr-schedule bogus
expect 2 "--replicas-to-aggregate 5 is more than the 2 workers" --mode sync --replicas-to-aggregate 5
expect 2 "bad --mode: unknown mode 'fast'" --mode fast
expect 2 "--epochs: Value 1; rm -rf / not in range" --epochs "1; rm -rf /"
# Resources: a request above its limit is refused here, not by the API server at apply time.
expect 2 "--cpu 4 is more than --cpu-limit 2: the CPU request of every ps and worker pod" --cpu 4
expect 2 "--memory 3Gi is more than --memory-limit 3000Mi" --memory 3Gi --memory-limit 3000Mi
expect 2 "--cpu-limit: \"2 cores\" is not a Kubernetes quantity" --cpu-limit "2 cores"
timeout 30 "$PODLAB" "${RENDER[@]}" --cpu 1e3 --cpu-limit 1k --memory 1Gi --memory-limit 1024Mi >/dev/null 2>"$TMP/err" ||
  { fail "requests equal to their limits did not render"; sed 's/^/  | /' "$TMP/err"; }

timeout 30 "$PODLAB" "${RENDER[@]}" --model cnn --lr 0.01 --epochs 3 --mode ssp:2 --lr-schedule step:1000 >"$TMP/ok.yaml" 2>"$TMP/err" ||
  { fail "valid training flags did not render"; sed 's/^/  | /' "$TMP/err"; }
grep -q 'PODLAB_MODEL: "\?cnn' "$TMP/ok.yaml" || fail "the rendered ConfigMap lacks the model"

# -o names a directory: a file there is an I/O error (5) that says so.
touch "$TMP/afile"
timeout 30 "$PODLAB" "${RENDER[@]}" -o "$TMP/afile" >/dev/null 2>"$TMP/err"
CODE=$?
[ "$CODE" -eq 5 ] || { fail "-o a file: exit $CODE, expected 5"; sed 's/^/  | /' "$TMP/err"; }
grep -q "is not a directory" "$TMP/err" || { fail "-o a file: no clear error"; sed 's/^/  | /' "$TMP/err"; }

# Keys: a corrupt server.key fails at render time, naming the file.
timeout 30 "$PODLAB" keys generate --out "$TMP/keys" --workers 2 >/dev/null 2>&1 || fail "keys generate"
timeout 30 "$PODLAB" "${RENDER[@]}" --keys "$TMP/keys" >/dev/null 2>"$TMP/err" || { fail "good keys did not render"; sed 's/^/  | /' "$TMP/err"; }
echo garbage >"$TMP/keys/server.key"
timeout 30 "$PODLAB" "${RENDER[@]}" --keys "$TMP/keys" >/dev/null 2>"$TMP/err"
CODE=$?
[ "$CODE" -eq 3 ] || { fail "corrupt server.key: exit $CODE, expected 3"; sed 's/^/  | /' "$TMP/err"; }
grep -q "server.key" "$TMP/err" || { fail "corrupt server.key: the error does not name it"; sed 's/^/  | /' "$TMP/err"; }

[ "$FAILS" -eq 0 ] && echo "k8s_render_flags.sh: all checks passed"
exit $((FAILS > 0))
