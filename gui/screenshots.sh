#!/usr/bin/env bash
# Regenerates screenshots of every tab: the real window under Xvfb (Mesa llvmpipe), training the
# default model for a few seconds first. Usage: gui/screenshots.sh [PODLAB] [OUT_DIR] [LANG]
#   defaults: build/podlab, gui-screenshots, en. Needs xvfb (./setup.sh deps installs it).
set -euo pipefail
podlab=${1:-build/podlab}
out=${2:-gui-screenshots}
lang=${3:-en}
mkdir -p "$out"
for panel in training data graph inside results cluster; do
  extra=()
  [ "$panel" = cluster ] && extra=(--cluster)
  timeout 60 xvfb-run -a -s "-screen 0 1280x800x24" "$podlab" gui --lang "$lang" --panel "$panel" --train \
    --frames 240 --screenshot "$out/$panel-$lang.png" "${extra[@]}" >/dev/null
  echo "$out/$panel-$lang.png"
done
