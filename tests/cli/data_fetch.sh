#!/usr/bin/env bash
# End-to-end test of `podlab data fetch` and `podlab data list` against tests/data/http_server.py on
# 127.0.0.1. Real MNIST files are not available offline, so the served files are tiny synthetic IDX
# files: with the published checksums they must be rejected (exit 4, nothing left behind); with
# --no-verify-checksum they pass the IDX parse and land in the cache. Usage: data_fetch.sh PODLAB
set -u
PODLAB=${1:?usage: data_fetch.sh PATH_TO_PODLAB}
HERE=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d /tmp/podlab_cli_fetch.XXXXXX)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
export XDG_CACHE_HOME=$TMP/cache HOME=$TMP/home no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
unset PODLAB_DATA
CACHE=$XDG_CACHE_HOME/podlab/mnist
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

# expect CODE DESCRIPTION -- command...: runs the command (stdout+stderr to $TMP/out), checks the exit code.
expect() {
  local want=$1 what=$2
  shift 3
  timeout 60 "$@" >"$TMP/out" 2>&1
  local got=$?
  if [ "$got" -ne "$want" ]; then fail "$what: exit $got, expected $want"; sed 's/^/  | /' "$TMP/out"; fi
}
contains() { grep -q -- "$1" "$TMP/out" || { fail "output lacks '$1'"; sed 's/^/  | /' "$TMP/out"; }; }

# Tiny MNIST-shaped files: 6 train and 4 test images of 3x3.
mkdir -p "$TMP/served" "$TMP/bad"
python3 - "$TMP/served" "$TMP/bad" <<'PY'
import gzip, struct, sys
def write(d, name, magic, dims, data):
    with gzip.open("%s/%s.gz" % (d, name), "wb") as f:
        f.write(struct.pack(">I" + "I" * len(dims), magic, *dims) + bytes(data))
for d, bad_label in ((sys.argv[1], 3), (sys.argv[2], 77)):
    write(d, "train-images-idx3-ubyte", 0x803, (6, 3, 3), range(54))
    write(d, "train-labels-idx1-ubyte", 0x801, (6,), [1, 2, bad_label, 4, 5, 6])
    write(d, "t10k-images-idx3-ubyte", 0x803, (4, 3, 3), range(36))
    write(d, "t10k-labels-idx1-ubyte", 0x801, (4,), [0, 9, 8, 7])
PY

python3 "$HERE/data/http_server.py" "$TMP/served" --ignore-stdin --lifetime 120 >"$TMP/port" &
SERVER_PID=$!
for _ in $(seq 50); do grep -q PORT "$TMP/port" && break; sleep 0.1; done
PORT=$(awk '/PORT/ {print $2}' "$TMP/port")
[ -n "$PORT" ] || { echo "FAIL: test server did not start"; exit 1; }
URL=http://127.0.0.1:$PORT

expect 2 "unknown dataset" -- "$PODLAB" data fetch nosuch
contains "unknown dataset 'nosuch'"

expect 2 "negative retries" -- "$PODLAB" data fetch mnist --retries -1

expect 4 "published checksums reject other files" -- "$PODLAB" data fetch mnist --from "$URL/good" --timeout 5
contains "$URL/good/train-images-idx3-ubyte.gz: got"
[ -z "$(ls -A "$CACHE" 2>/dev/null)" ] || fail "files left in $CACHE after a rejected download: $(ls -A "$CACHE")"

expect 6 "connection refused" -- "$PODLAB" data fetch mnist --from "http://127.0.0.1:1" --retries 1 --timeout 2
contains "event=retry attempt=1"
contains "http://127.0.0.1:1/train-images-idx3-ubyte.gz"

expect 4 "corrupt content without checksums" -- "$PODLAB" data fetch mnist --from "$URL/corrupt" --no-verify-checksum
[ -z "$(ls -A "$CACHE" 2>/dev/null)" ] || fail "files left in $CACHE after corrupt downloads: $(ls -A "$CACHE")"

expect 0 "fetch without checksums" -- "$PODLAB" data fetch mnist --from "$URL/flaky" --no-verify-checksum --timeout 5
contains "fetch file=train-images-idx3-ubyte.gz event=retry"
contains "fetch file=t10k-labels-idx1-ubyte.gz event=done path=$CACHE/t10k-labels-idx1-ubyte.gz"
contains "4 downloaded"
[ "$(ls -A "$CACHE" | wc -l)" -eq 4 ] || fail "expected 4 files in $CACHE, got: $(ls -A "$CACHE")"

expect 0 "second fetch skips" -- "$PODLAB" data fetch mnist --from "$URL/missing" --no-verify-checksum
[ "$(grep -c "event=skipped" "$TMP/out")" -eq 4 ] || fail "expected 4 skipped files"; contains "0 downloaded"

expect 0 "list" -- "$PODLAB" data list
contains "found in $CACHE"
contains "6 images 3x3"
contains "content verified, recompressed (checksum differs from published)"

expect 0 "fetch into --dir" -- "$PODLAB" data fetch fashion-mnist --from "$URL/good" --no-verify-checksum --dir "$TMP/custom"
contains "pass --data $TMP/custom"

expect 4 "list with a corrupt dataset" -- "$PODLAB" data list --data "$TMP/bad"
contains "FAILED: .*label 77"

if [ "$FAILS" -eq 0 ]; then echo "data_fetch: all checks passed"; else echo "data_fetch: $FAILS checks failed"; exit 1; fi
