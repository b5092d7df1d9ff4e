#!/usr/bin/env bash
# A stand-in for kubectl in tests/cli/k8s_kubectl.sh: appends its arguments to $FAKE_KUBECTL_DIR/calls,
# saves stdin of `apply -f -` to $FAKE_KUBECTL_DIR/stdin, answers `get jobs|pods -o json` and
# `get --raw .../metrics` from $FAKE_KUBECTL_DATA, and exits 1 when FAKE_KUBECTL_FAIL is set.
echo "$*" >> "$FAKE_KUBECTL_DIR/calls"
if [ -n "${FAKE_KUBECTL_FAIL:-}" ]; then echo "error: the server could not be reached (fake)" >&2; exit 1; fi
case "$1 $2" in
  "apply -f") cat > "$FAKE_KUBECTL_DIR/stdin"; echo "applied (fake)" ;;
  "get jobs") cat "$FAKE_KUBECTL_DATA/jobs.json" ;;
  "get pods") cat "$FAKE_KUBECTL_DATA/pods.json" ;;
  "get --raw") cat "$FAKE_KUBECTL_DATA/metrics.txt" ;;
esac
exit 0
