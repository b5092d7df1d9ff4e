#!/usr/bin/env bash
# podlab setup on Debian 12.
#   ./setup.sh          install missing packages, build (Release), then run the main job: podlab train
#   ./setup.sh test     install missing packages, build, run the whole test suite (ctest)
#   ./setup.sh deps     only install the packages
#   ./setup.sh build    only build
# Environment: BUILD_DIR (default build), PODLAB_GUI=OFF for a headless build, JOBS (default: nproc).
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
PODLAB_GUI=${PODLAB_GUI:-ON}

# Build, test and main-job packages (see ../docs or README "Dependencies").
PACKAGES=(cmake g++ make pkg-config libeigen3-dev libzmq3-dev cppzmq-dev libcli11-dev nlohmann-json3-dev catch2 zlib1g-dev
  libdeflate-dev libcurl4-openssl-dev libstb-dev libmd4c-dev dataset-fashion-mnist python3 protobuf-compiler python3-crcmod
  libcpp-httplib-dev iproute2 dnsmasq-base)
# GUI build, plus what its smoke test needs: a virtual X server with Mesa's software GL (llvmpipe) and
# xdotool to click. A CJK font (fonts-noto-cjk or fonts-wqy-microhei) is optional: Chinese UI text.
GUI_PACKAGES=(libimgui-dev libglfw3-dev libgl-dev xvfb libgl1-mesa-dri xdotool)

deps() {
  local want=("${PACKAGES[@]}")
  [ "$PODLAB_GUI" = ON ] && want+=("${GUI_PACKAGES[@]}")
  local missing=()
  # node + npm for the offline Kubernetes schema test (tests/cli/k8s_schema.sh); a NodeSource nodejs
  # already brings npm, and Debian's npm package would conflict with it.
  command -v npm >/dev/null || want+=(nodejs npm)
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DPODLAB_GUI="$PODLAB_GUI" >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

case "${1:-run}" in
  deps) deps ;;
  build) deps; build ;;
  test)
    deps
    build
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 600
    ;;
  run)
    deps
    build
    echo
    "$BUILD_DIR/podlab" train
    ;;
  *) echo "usage: ./setup.sh [run|test|deps|build]" >&2; exit 2 ;;
esac
