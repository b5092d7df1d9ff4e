#!/usr/bin/env bash
# Offline schema validation of `podlab k8s render` output (tier 2 of ../shared/docs/k8s-testing.md):
# renders several runs (jobs and tfjob, every storage kind, keys, init container, ps/worker counts)
# and validates every document with the npm package kubernetes-models (pinned with its dependencies
# in tests/k8s/schema/package-lock.json, installed by `npm ci` into the build directory, outside the
# source tree), the TFJob against the Kubeflow v1.9.0 CRD when ../shared/data/kubeflow/ has it; then
# checks that every seeded broken manifest in tests/k8s/broken/ fails.
# Skips (exit 77) only when node/npm are not installed.
set -euo pipefail
podlab=$(realpath "$1")
here=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node and npm are needed for the offline schema check (Debian: apt-get install nodejs npm)"
  exit 77
fi

# Dependencies: installed once per lock-file version into the build tree.
modules="$(dirname "$podlab")/k8s-schema-node"
if ! cmp -s "$here/tests/k8s/schema/package-lock.json" "$modules/package-lock.json" || [ ! -d "$modules/node_modules/kubernetes-models" ]; then
  rm -rf "$modules"
  mkdir -p "$modules"
  cp "$here/tests/k8s/schema/package.json" "$here/tests/k8s/schema/package-lock.json" "$modules/"
  echo "installing the pinned schema packages into $modules"
  if ! (cd "$modules" && timeout 240 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error); then
    rm -rf "$modules"
    echo "FAIL: npm ci could not install tests/k8s/schema/package-lock.json (is the npm registry reachable?)"
    exit 1
  fi
fi
export NODE_PATH="$modules/node_modules"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Real keys: render loads them as each task will.
"$podlab" keys generate --out "$tmp/keys" >/dev/null || { echo "FAIL: podlab keys generate"; exit 1; }

render() { "$podlab" k8s render --image registry.example.com/podlab:0.1.0 "$@"; }
render --name a --ps 1 --workers 1 > "$tmp/a.yaml"
render --name b --ps 2 --workers 3 --storage pvc:nfs-client --mode sync --fetch mnist --keys "$tmp/keys" --model cnn --epochs 3 > "$tmp/b.yaml"
render --name c --ps 4 --workers 16 --storage nfs:10.0.0.5:/exports/podlab --namespace ml --mode ssp:2 --batch 64 > "$tmp/c.yaml"
render --name d --ps 2 --workers 4 --format tfjob --storage pvc:cephfs > "$tmp/d.yaml"
render --name e --ps 1 --workers 2 -o "$tmp/e" > /dev/null

crd=""
for c in "$here/../shared/data/kubeflow/kubeflow.org_tfjobs.yaml" "$here/../../shared/data/kubeflow/kubeflow.org_tfjobs.yaml"; do
  [ -f "$c" ] && crd=$c && break
done
files=("$tmp"/a.yaml "$tmp"/b.yaml "$tmp"/c.yaml "$tmp"/e/*.yaml)
broken=("$here"/tests/k8s/broken/*.yaml)
if [ -n "$crd" ]; then
  files+=("$tmp/d.yaml")
else
  echo "NOTE: ../shared/data/kubeflow/kubeflow.org_tfjobs.yaml not found: the TFJob is not schema-checked"
  broken=($(printf '%s\n' "${broken[@]}" | grep -v '/tfjob-'))
fi

validate="$here/tests/k8s/schema/validate.js"
timeout 120 node "$validate" ${crd:+--crd "$crd"} "${files[@]}"
echo "--- seeded broken manifests (each must fail) ---"
timeout 120 node "$validate" ${crd:+--crd "$crd"} --expect-fail "${broken[@]}"
echo "k8s schema: all rendered documents valid, all ${#broken[@]} broken manifests rejected"
