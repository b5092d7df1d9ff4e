#!/usr/bin/env bash
# The Dockerfile's build stage sees only what it COPYs. This configures CMake over exactly those
# files with the stage's own -D flags, as `podman build` would, so a source the build needs but the
# image leaves out (bench/pushpull.cpp once did) fails here and not only in the slow image tier
# (tests/k8s/image.sh). Configure only: compiling is what the rest of the suite does.
# Usage: docker_context.sh PATH_TO_PODLAB (unused; the repository is found from this script)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DOCKERFILE=$ROOT/Dockerfile
command -v cmake >/dev/null || { echo "SKIP: no cmake"; exit 77; }
TMP=$(mktemp -d /tmp/podlab_docker_context.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The build stage: from "FROM ... AS build" to the next FROM.
stage=$(awk '/^FROM .* AS build/{on=1; next} /^FROM /{on=0} on' "$DOCKERFILE")
[ -n "$stage" ] || fail "$DOCKERFILE has no 'FROM ... AS build' stage"
copies=$(printf '%s\n' "$stage" | grep -E '^COPY ' | grep -v -- '--from')
[ -n "$copies" ] || fail "the build stage copies nothing"
while read -r _ src dst; do
  [ -e "$ROOT/$src" ] || fail "the Dockerfile copies $src, which is not in the repository"
  case $dst in
    */ | .) mkdir -p "$TMP/src/$dst" && cp -r "$ROOT/$src" "$TMP/src/$dst" ;;  # into that directory
    *) mkdir -p "$(dirname "$TMP/src/$dst")" && cp -r "$ROOT/$src" "$TMP/src/$dst" ;;  # as that name
  esac
done <<<"$copies"

configure=$(printf '%s\n' "$stage" | grep -E '^RUN cmake -S \. ' | head -n 1)
[ -n "$configure" ] || fail "the build stage has no 'RUN cmake -S . ...' line"
read -r -a flags <<<"$(printf '%s\n' "$configure" | grep -oE -- '-D[A-Z_]+=[A-Za-z0-9_]+' | tr '\n' ' ')"
echo "build stage: $(printf '%s\n' "$copies" | awk '{print $2}' | tr '\n' ' ')| ${flags[*]}"
if ! timeout 120 cmake -S "$TMP/src" -B "$TMP/build" "${flags[@]}" >"$TMP/configure.log" 2>&1; then
  grep -E -A4 'CMake Error' "$TMP/configure.log" | head -n 20
  fail "CMake does not configure over the files the Dockerfile's build stage copies"
fi
echo "ok   CMake configures over the image's build context"
