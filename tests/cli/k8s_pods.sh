#!/usr/bin/env bash
# Emulated Kubernetes pods (tier 3 of ../shared/docs/k8s-testing.md): the rendered Indexed Jobs run
# as real podlab processes, one network namespace per pod, DNS from dnsmasq. See
# tests/k8s/emulate_pods.py for what is real and what is emulated. Needs root (network namespaces),
# iproute2, dnsmasq (Debian: dnsmasq-base), setpriv and python3; skips (77) saying which is missing.
set -uo pipefail
podlab=$(realpath "$1")
here=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "SKIP: emulated pods need root (network namespaces)"; exit 77; }
for tool in ip dnsmasq setpriv python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: emulated pods need $tool (setup.sh installs iproute2, dnsmasq-base)"; exit 77; }
done
ip netns list >/dev/null 2>&1 || { echo "SKIP: this kernel or container does not allow network namespaces"; exit 77; }
exec timeout -k 10 240 python3 "$here/tests/k8s/emulate_pods.py" "$podlab"
