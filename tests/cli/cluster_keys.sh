#!/usr/bin/env bash
# End-to-end checks of CURVE keys: `podlab keys generate` writes a key directory (secrets 0600); a
# cluster of processes with --keys (or PODLAB_KEYS) trains; bad key files are configuration errors
# (exit 3) naming the file; a worker with an unknown key, or none, is refused at once (exit 3) while
# the ps keeps serving the real workers, applies nothing from the intruder and counts the refusals.
# Usage: cluster_keys.sh PATH_TO_PODLAB
set -u
PODLAB=${1:?usage: cluster_keys.sh PATH_TO_PODLAB}
TMP=$(mktemp -d /tmp/podlab_cli_keys.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
export XDG_CACHE_HOME=$TMP/cache HOME=$TMP/home TMPDIR=$TMP
unset PODLAB_DATA TF_CONFIG PODLAB_KEYS
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
show() { sed 's/^/  | /' "$@"; }
SMALL=(--dataset fashion-mnist --limit-train 3000 --limit-test 500)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# keys generate: the files, their modes, and no silent replacement.
"$PODLAB" keys generate --out "$TMP/keys" >"$TMP/out" 2>&1 || { fail "keys generate"; show "$TMP/out"; }
for f in server.key server.pub client.key client.pub authorized_clients; do
  [ -f "$TMP/keys/$f" ] || fail "keys generate did not write $f"
done
[ "$(stat -c %a "$TMP/keys/server.key")" = 600 ] || fail "server.key is not mode 600"
[ "$(stat -c %a "$TMP/keys/client.key")" = 600 ] || fail "client.key is not mode 600"
[ "$(stat -c %a "$TMP/keys")" = 700 ] || fail "the key directory is not mode 700"
"$PODLAB" keys generate --out "$TMP/keys" >"$TMP/out" 2>&1
[ $? -eq 3 ] || fail "a second keys generate into the same directory should exit 3"
grep -q -- "--force" "$TMP/out" || { fail "no hint about --force"; show "$TMP/out"; }
"$PODLAB" keys generate "$TMP/other" >/dev/null 2>&1 || fail "keys generate DIR (the directory as its argument)"
[ -f "$TMP/other/server.key" ] || fail "keys generate DIR did not write DIR/server.key"
"$PODLAB" keys generate "$TMP/a" --out "$TMP/b" >"$TMP/out" 2>&1
[ $? -eq 2 ] || fail "keys generate with two directories should exit 2"

# A cluster of processes with keys (from PODLAB_KEYS) trains as usual.
PODLAB_KEYS=$TMP/keys timeout 120 "$PODLAB" cluster run --transport processes --ps 1 --workers 2 "${SMALL[@]}" \
  --epochs 2 --json >"$TMP/out" 2>"$TMP/err"
CODE=$?
[ "$CODE" -eq 0 ] || { fail "cluster run with keys exited $CODE"; show "$TMP/out" "$TMP/err"; }
head -n 1 "$TMP/out" | grep -q "\"curve_keys\":\"$TMP/keys\"" || { fail "start event does not name the keys"; show "$TMP/out"; }
tail -n 1 "$TMP/out" >"$TMP/result.json"
python3 - "$TMP/result.json" <<'PY' || { fail "final JSON report with keys"; show "$TMP/out" "$TMP/err"; }
import json, sys
r = json.load(open(sys.argv[1]))
assert r["event"] == "result" and r["steps"] == 60 and r["test_accuracy"] > 0.6, r
assert all(w["status"] == "ok" for w in r["worker_tasks"]), r
assert all(t["messages_in"] > 0 and t["rejected_peers"] == 0 for t in r["transport"]), r
print("keys: accuracy %.3f" % r["test_accuracy"])
PY

# Bad key files: exit 3 from every entry point, naming the file; --keys on threads is a usage error.
mkdir -p "$TMP/bad" && cp "$TMP/keys/"* "$TMP/bad/"
echo 'public-key = "too-short"' >"$TMP/bad/server.key"
echo 'secret-key = "nonsense"' >"$TMP/bad/client.key"
SPEC="{\"ps\": [\"127.0.0.1:$(free_port)\"], \"worker\": [\"127.0.0.1:$(free_port)\"]}"
for role in ps worker; do
  timeout 60 "$PODLAB" "$role" --cluster "$SPEC" --index 0 "${SMALL[@]}" --keys "$TMP/bad" >"$TMP/out" 2>&1
  CODE=$?
  [ "$CODE" -eq 3 ] || { fail "$role with a bad key file exited $CODE, expected 3"; show "$TMP/out"; }
  grep -q "$TMP/bad/\(server\|client\).key line 1" "$TMP/out" || { fail "$role: error does not name the file"; show "$TMP/out"; }
done
timeout 60 "$PODLAB" cluster run --transport processes "${SMALL[@]}" --keys "$TMP/bad" >"$TMP/out" 2>&1
[ $? -eq 3 ] || { fail "cluster run with a bad key file: expected exit 3"; show "$TMP/out"; }
timeout 60 "$PODLAB" ps --cluster "$SPEC" --index 0 "${SMALL[@]}" --keys "$TMP/no-such-dir" >"$TMP/out" 2>&1
[ $? -eq 3 ] || { fail "a missing key directory: expected exit 3"; show "$TMP/out"; }
# A key file given as the directory, and an empty --keys (an unset shell variable): said, not taken
# for a missing directory or for no keys.
timeout 60 "$PODLAB" ps --cluster "$SPEC" --index 0 "${SMALL[@]}" --keys "$TMP/keys/server.key" >"$TMP/out" 2>&1
[ $? -eq 3 ] && grep -q "which is a file, not a key directory.*($TMP/keys?)" "$TMP/out" ||
  { fail "--keys naming a file: expected exit 3 naming its directory"; show "$TMP/out"; }
timeout 60 "$PODLAB" ps --cluster "$SPEC" --index 0 "${SMALL[@]}" --keys "" >"$TMP/out" 2>&1
[ $? -eq 2 ] && grep -q "podlab: error: --keys: an empty path" "$TMP/out" || { fail "--keys '': expected exit 2"; show "$TMP/out"; }
timeout 60 "$PODLAB" cluster run --transport threads "${SMALL[@]}" --keys "$TMP/keys" >"$TMP/out" 2>&1
[ $? -eq 2 ] || { fail "--keys with threads: expected exit 2"; show "$TMP/out"; }

# Intruders. The ps and the chief have the cluster's keys; worker:1 tries with another directory's
# client key (but the right server.pub), then with no keys at all. Both are refused at once; the chief
# trains to the end with the ps, which applied only the chief's gradients and counted the refusals.
mkdir -p "$TMP/rogue" && cp "$TMP/keys/server.pub" "$TMP/other/client.key" "$TMP/rogue/"
SPEC="{\"ps\": [\"127.0.0.1:$(free_port)\"], \"worker\": [\"127.0.0.1:$(free_port)\", \"127.0.0.1:$(free_port)\"]}"
TASK=(--cluster "$SPEC" "${SMALL[@]}" --epochs 1 --json)
timeout 120 "$PODLAB" ps --index 0 "${TASK[@]}" --keys "$TMP/keys" --report "$TMP/ps.json" >"$TMP/ps.out" 2>&1 &
PS_PID=$!
PIDS+=("$PS_PID")
timeout 60 "$PODLAB" worker --index 1 "${TASK[@]}" --keys "$TMP/rogue" --connect-timeout-s 20 >"$TMP/out" 2>&1
CODE=$?
[ "$CODE" -eq 3 ] || { fail "worker with an unknown key exited $CODE, expected 3"; show "$TMP/out"; }
grep -q "refused worker:1.*authorized_clients" "$TMP/out" || { fail "no clear error for the unknown key"; show "$TMP/out"; }
timeout 60 "$PODLAB" worker --index 1 "${TASK[@]}" --connect-timeout-s 20 >"$TMP/out" 2>&1
CODE=$?
[ "$CODE" -eq 3 ] || { fail "worker without keys exited $CODE, expected 3"; show "$TMP/out"; }
grep -q "requires CURVE keys" "$TMP/out" || { fail "no clear error for the missing keys"; show "$TMP/out"; }
timeout 60 "$PODLAB" worker --index 0 "${TASK[@]}" --keys "$TMP/keys" --report "$TMP/chief.json" >"$TMP/chief.out" 2>&1
CODE=$?
[ "$CODE" -eq 0 ] || { fail "the chief exited $CODE"; show "$TMP/chief.out"; }
wait "$PS_PID"
CODE=$?
[ "$CODE" -eq 0 ] || { fail "the ps exited $CODE"; show "$TMP/ps.out"; }
grep -q "podlab: ps:0: refused CURVE client key .* not in authorized_clients" "$TMP/ps.out" ||
  { fail "the ps's log does not name it refusing the unknown key"; show "$TMP/ps.out"; }
python3 - "$TMP/ps.json" "$TMP/chief.json" <<'PY' || { fail "ps report after the intruders"; show "$TMP/ps.out"; }
import json, sys
ps, chief = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert ps["transport"]["rejected_peers"] >= 2, ps["transport"]
assert "worker:1" not in ps["transport"]["peers"], ps["transport"]
assert ps["ps"]["gradients"] == chief["worker"]["pushes"], (ps["ps"], chief["worker"])
assert ps["ps"]["step"] == 30 and chief["chief"]["steps"] == 30, (ps["ps"], chief["chief"])
print("intruders: %d refused handshakes, %d gradients all from the chief" % (ps["transport"]["rejected_peers"], ps["ps"]["gradients"]))
PY
sleep 0.2
if pgrep -f "$TMP" >/dev/null; then fail "processes left running:"; pgrep -af "$TMP"; fi

[ "$FAILS" -eq 0 ] && echo "cluster_keys.sh: all checks passed"
exit $((FAILS > 0))
