#!/usr/bin/env bash
# Builds the podlab image with podman where no registry is reachable, then smoke-tests it (the slow
# tier 4 of ../shared/docs/k8s-testing.md; not part of ctest). Root, Debian 12, podman + runc +
# debootstrap (apt-get install podman runc debootstrap).
#   tests/k8s/image.sh [TAG]        default TAG: localhost/podlab:0.1.0
# 1. a private containers.conf (CONTAINERS_CONF; /etc is not touched) with runc and ulimits this
#    sandbox needs; 2. the base image localhost/debian-minbase:bookworm from debootstrap (about 1.5
#    min, skipped when it exists); 3. podman build with BASE set to it (apt inside the build still
#    needs a Debian mirror, as setup.sh does); 4. run it read-only, as uid 10001, no capabilities:
#    --version and a 2-epoch process cluster.
set -euo pipefail
tag=${1:-localhost/podlab:0.1.0}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$work/containers.conf"
base=localhost/debian-minbase:bookworm
if ! podman image exists "$base"; then
  echo "image: debootstrap bookworm into $work/root"
  debootstrap --variant=minbase bookworm "$work/root" http://deb.debian.org/debian >"$work/debootstrap.log"
  rm -rf "$work"/root/var/cache/apt/*.bin "$work"/root/var/cache/apt/archives/*.deb "$work"/root/var/lib/apt/lists/*
  tar -C "$work/root" -cf - . | podman import - "$base"
fi
echo "image: podman build $tag (about 8 min on 2 busy cores)"
podman build --build-arg BASE="$base" -t "$tag" "$src"
podman image inspect "$tag" --format 'image: {{.Size}} bytes, user {{.Config.User}}'
run() { timeout 120 podman run --rm --read-only --tmpfs /tmp --cap-drop=ALL --security-opt=no-new-privileges -e XDG_CACHE_HOME=/tmp/cache "$tag" "$@"; }
run --version
run lesson list > "$work/lessons.txt" && head -3 "$work/lessons.txt"
run cluster run --transport processes --ps 1 --workers 2 --limit-train 6000 --limit-test 1000 --epochs 2 --json | grep '"event":"result"'
echo "image: $tag works read-only, as uid 10001, without capabilities"
