#!/usr/bin/env bash
# Regenerates the README's screenshots: the real window under Xvfb (Mesa llvmpipe), one PNG per tab
# after training the default model for a few seconds, the Cluster tab as threads and as processes,
# and the Lesson panel after running lesson 1 (English and Chinese). PNGs are shrunk with pngquant
# when it is installed (apt-get install pngquant), else optipng, else left as they are.
# Usage: gui/screenshots.sh [PODLAB] [OUT_DIR]     defaults: build/podlab, assets/screenshots
# Needs xvfb (./setup.sh deps installs it); the Chinese shots need a CJK font (fonts-noto-cjk).
set -euo pipefail
podlab=${1:-build/podlab}
out=${2:-assets/screenshots}
mkdir -p "$out"

shot() {  # NAME ARGS...: one screenshot, exit after the frames
  local name=$1
  shift
  timeout 120 xvfb-run -a -s "-screen 0 1280x800x24" "$podlab" gui --screenshot "$out/$name.png" "$@" >/dev/null
  if command -v pngquant >/dev/null; then
    pngquant --force --skip-if-larger --strip --quality 60-90 --output "$out/$name.png" "$out/$name.png" || true
  elif command -v optipng >/dev/null; then
    optipng -quiet -o2 "$out/$name.png"
  fi
  echo "$out/$name.png $(stat -c %s "$out/$name.png") bytes"
}

for panel in training data graph inside results; do
  shot "$panel" --panel "$panel" --train --frames 240
done
shot cluster --panel cluster --cluster --frames 240
# Processes: kill -9 the ps a few seconds in, so the shot shows the launcher's restart and the ps
# restoring its shard from the last checkpoint.
descendants() {
  local p
  for p in $(pgrep -P "$1"); do
    echo "$p"
    descendants "$p"
  done
}
kill_ps_later() {  # ROOT_PID: SIGKILL to the `podlab ps ... --index 0` started under ROOT_PID
  local p
  for _ in $(seq 1 60); do
    sleep 0.25
    for p in $(descendants "$1"); do
      if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- ' ps .*--index 0 '; then
        sleep 3
        kill -9 "$p" 2>/dev/null || true
        return
      fi
    done
  done
}
shot cluster-processes --panel cluster --cluster-processes --cluster-epochs 4 --timeout 9 &
kill_ps_later $!
wait
shot lesson --lesson 01-hello-graph --lesson-run --frames 120
shot lesson-zh --lesson 04-cnn --lang zh --frames 30
