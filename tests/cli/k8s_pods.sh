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
# Listing can succeed where creating is refused (rootless or unprivileged containers), so probe by creating one.
probe="podlab-probe-$$"
if ! ip netns add "$probe" 2>/dev/null; then
  echo "SKIP: this kernel or container does not allow creating network namespaces (ip netns add failed; run as root on a VM or a privileged container)"
  exit 77
fi
ip netns del "$probe"
exec timeout -k 10 240 python3 "$here/tests/k8s/emulate_pods.py" "$podlab"
