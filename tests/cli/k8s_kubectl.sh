#!/usr/bin/env bash
# `podlab k8s apply|status|logs|delete` against a fake kubectl (tests/k8s/fake_kubectl.sh) that
# records its arguments and answers with canned JSON and metrics: what podlab asks kubectl, how it
# reads the answers, and its errors when kubectl is missing or fails. No cluster is contacted.
set -uo pipefail
podlab=$(realpath "$1")
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/out "$tmp"/calls; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }
mkdir -p "$tmp/bin"
cp "$here/tests/k8s/fake_kubectl.sh" "$tmp/bin/kubectl"
chmod +x "$tmp/bin/kubectl"
export FAKE_KUBECTL_DIR="$tmp" FAKE_KUBECTL_DATA="$here/tests/k8s/kubectl"
run() { PATH="$tmp/bin:/usr/bin:/bin" timeout 30 "$podlab" k8s "$@" >"$tmp/out" 2>&1; }

# apply: exactly what render prints goes to `kubectl apply -f -`.
run apply --name mnist --ps 2 --workers 3 --image localhost/podlab:0.1.0 || fail "apply exited $?"
"$podlab" k8s render --name mnist --ps 2 --workers 3 --image localhost/podlab:0.1.0 > "$tmp/rendered.yaml"
cmp -s "$tmp/rendered.yaml" "$tmp/stdin" || fail "apply did not send the rendered manifests"
grep -qx "apply -f -" "$tmp/calls" || fail "apply: wrong kubectl arguments"
run apply --name mnist --image localhost/podlab:0.1.0 --server-dry-run || fail "apply --server-dry-run exited $?"
grep -qx "apply -f - --dry-run=server" "$tmp/calls" || fail "apply --server-dry-run: wrong kubectl arguments"
run apply --name Bad_Name --image x; [ $? -eq 2 ] || fail "apply with a bad name: expected exit 2"

# status: jobs and pods from kubectl's JSON, progress from each running pod's /metrics.
: > "$tmp/calls"
run status mnist -n ml || fail "status exited $?"
grep -qx "get jobs -n ml -l podlab.io/job=mnist -o json --request-timeout=30s" "$tmp/calls" || fail "status: jobs query"
grep -qx "get --raw /api/v1/namespaces/ml/pods/mnist-worker-0-abcde:9090/proxy/metrics --request-timeout=5s" "$tmp/calls" ||
  fail "status: metrics through the pod proxy"
grep -q "mnist-ps-0-xyz" "$tmp/calls" && fail "status asked a finished pod for metrics"
grep -Eq "^mnist-worker +Running +1 +1/2 +1" "$tmp/out" || fail "status: worker Job line"
grep -Eq "^mnist-ps +Complete" "$tmp/out" || fail "status: ps Job line"
grep -Eq "^mnist-worker-0-abcde +worker +0 +Running +0 +- +training +120/600 +0.4100 +0.8125" "$tmp/out" || fail "status: chief progress line"
grep -Eq "^mnist-worker-1-fghij +worker +1 +Failed +0 +137 +Error" "$tmp/out" || fail "status: failed pod line"

# status --watch: looks again until the run is over, then exits with its outcome (a failed Job: the
# chief's podlab exit code; every Job complete: 0).
watch_data="$tmp/watch"
mkdir -p "$watch_data"
cp "$here"/tests/k8s/kubectl/* "$watch_data/"
FAKE_KUBECTL_DATA="$watch_data" PATH="$tmp/bin:/usr/bin:/bin" timeout 30 "$podlab" k8s status mnist --watch --interval-s 0.2 >"$tmp/out" 2>&1 &
watcher=$!
sleep 1
kill -0 $watcher 2>/dev/null || fail "status --watch ended while the worker Job was still active"
python3 - "$watch_data" <<'PY'
import json, sys
d = sys.argv[1]
jobs = json.load(open(d + "/jobs.json"))
jobs["items"][1]["status"] = {"failed": 3, "conditions": [{"type": "Failed", "status": "True", "reason": "PodFailurePolicy"}]}
pods = json.load(open(d + "/pods.json"))
for p in pods["items"]:
    for c in p["status"].get("containerStatuses", []):
        c["state"] = {"terminated": {"exitCode": 4, "reason": "Error"}}
    p["status"]["phase"] = "Failed"
for name, obj in (("jobs.json", jobs), ("pods.json", pods)):
    json.dump(obj, open(d + "/" + name + ".new", "w"))
PY
mv "$watch_data/pods.json.new" "$watch_data/pods.json"
mv "$watch_data/jobs.json.new" "$watch_data/jobs.json"
wait $watcher
rc=$?
[ $rc -eq 4 ] || fail "status --watch on a failed run: expected the chief's exit 4, got $rc"
grep -q "run mnist is over: Job mnist-worker failed" "$tmp/out" || fail "status --watch: no outcome line"
[ "$(grep -c '^run mnist in namespace' "$tmp/out")" -ge 2 ] || fail "status --watch: looked only once"

# logs and delete: the label selectors.
: > "$tmp/calls"
run logs mnist --role worker --index 0 || fail "logs exited $?"
grep -qx "logs -n default -l podlab.io/job=mnist,podlab.io/role=worker,batch.kubernetes.io/job-completion-index=0 --prefix --tail=-1 --max-log-requests=64 --container=podlab" "$tmp/calls" ||
  fail "logs: wrong selector"
run delete mnist || fail "delete exited $?"
grep -q "^delete jobs,services,configmaps,secrets,networkpolicies -n default -l podlab.io/job=mnist " "$tmp/calls" || fail "delete: kinds"
grep -q "kept the PersistentVolumeClaim mnist-data" "$tmp/out" || fail "delete: should say the data volume is kept"
run delete mnist --with-data || fail "delete --with-data exited $?"
grep -q "^delete jobs,services,configmaps,secrets,networkpolicies,persistentvolumeclaims " "$tmp/calls" || fail "delete --with-data: kinds"

# kubectl failing: exit 6 (network) with a hint; kubectl missing: exit 3 with what to do.
FAKE_KUBECTL_FAIL=1 run status mnist; [ $? -eq 6 ] || fail "a failing kubectl: expected exit 6"
grep -q "current-context" "$tmp/out" || fail "a failing kubectl: hint missing"
env PATH=/nonexistent KUBECTL= "$(command -v timeout)" 30 "$podlab" k8s status mnist >"$tmp/out" 2>&1; rc=$?
[ $rc -eq 3 ] || fail "no kubectl: expected exit 3, got $rc"
grep -q "kubectl was not found" "$tmp/out" || fail "no kubectl: message"
echo "k8s kubectl wrappers: ok"
