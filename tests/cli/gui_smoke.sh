#!/usr/bin/env bash
# GUI smoke test: the real window under Xvfb (Mesa llvmpipe). Starts `podlab gui`, clicks Play with
# xdotool, waits until training has taken steps, presses Escape (the app writes a screenshot of its
# last frame and exits), then checks the PNG is not blank and shows the plotted curves.
# Exit 77 (skipped) only when this podlab was built without the GUI. Bounded: Xvfb and the app are
# killed on any exit, the app also runs under `timeout`.
set -euo pipefail
podlab=$1
# Plain `podlab` without a display prints the help (with or without the GUI in the build).
env -u DISPLAY -u WAYLAND_DISPLAY "$podlab" | grep -q 'SUBCOMMAND' || { echo "gui_smoke: plain podlab printed no help"; exit 1; }
if ! "$podlab" gui --help 2>&1 | grep -q -- --screenshot; then
  echo "gui_smoke: this podlab has no GUI (built with -DPODLAB_GUI=OFF): skipped"
  exit 77
fi
# --lesson: an unknown lesson, or --lesson-run without one, is a usage error before any window opens.
rc=0
out=$(env -u DISPLAY -u WAYLAND_DISPLAY "$podlab" gui --lesson no-such-lesson 2>&1) || rc=$?
{ [ "$rc" = 2 ] && grep -q 'podlab lesson list' <<<"$out"; } || { echo "gui_smoke: --lesson no-such-lesson: exit $rc: $out"; exit 1; }
rc=0
out=$(env -u DISPLAY -u WAYLAND_DISPLAY "$podlab" gui --lesson-run 2>&1) || rc=$?
[ "$rc" = 2 ] || { echo "gui_smoke: --lesson-run alone: exit $rc: $out"; exit 1; }
for tool in Xvfb xdotool python3; do
  command -v "$tool" >/dev/null || { echo "gui_smoke: $tool missing: ./setup.sh deps installs it (xvfb, xdotool)"; exit 1; }
done

work=$(mktemp -d)
xvfb_pid="" app_pid=""
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# -displayfd: Xvfb picks a free display number and writes it to fd 3 once it accepts clients.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" 2>"$work/xvfb.log" &
xvfb_pid=$!
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || { echo "gui_smoke: Xvfb did not start"; cat "$work/xvfb.log"; exit 1; }
export DISPLAY=":$(cat "$work/display")"

timeout 60 "$podlab" gui --timeout 45 --stats --limit-train 3000 --screenshot "$work/shot.png" \
  >"$work/app.out" 2>"$work/app.err" &
app_pid=$!

wait_for() {  # wait_for FILE REGEX SECONDS
  for _ in $(seq $(($3 * 10))); do
    grep -Eq "$2" "$1" && return 0
    kill -0 "$app_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "gui_smoke: no '$2' in $1"; cat "$work/app.out" "$work/app.err"; return 1
}
wait_for "$work/app.out" '^READY play=' 20
read -r px py < <(sed -n 's/^READY play=\([0-9]*\),\([0-9]*\)/\1 \2/p' "$work/app.out" | head -1)
# The model is ready once the first stats line shows the dataset was loaded; click Play then.
wid=$(xdotool search --sync --onlyvisible --name '^podlab$' | head -1)
sleep 1
xdotool mousemove --window "$wid" "$px" "$py" click 1
wait_for "$work/app.err" 'gui-stats 1s: .* step ([3-9][0-9]|[1-9][0-9][0-9]+) ' 30
xdotool windowfocus --sync "$wid" key Escape
wait "$app_pid"
app_pid=""
cat "$work/app.err" | tail -3
grep -q '^SCREENSHOT ' "$work/app.out"
steps=$(sed -n 's/^EXIT frames=[0-9]* step=\([0-9]*\).*/\1/p' "$work/app.out")
[ "${steps:-0}" -ge 30 ] || { echo "gui_smoke: only ${steps:-0} steps trained"; exit 1; }

# Not blank: many colours, some spread, and the training curve's colour present.
python3 - "$work/shot.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, w = 8, b'', 0
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        assert depth == 8 and ctype == 6, 'expected 8-bit RGBA'
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
raw, bpp, stride = zlib.decompress(idat), 4, w * 4
rows, prev = [], bytearray(stride)
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line)); prev = line
colours, grey, curve = set(), [], 0
for r in rows:
    for x in range(0, stride, 4):
        px = r[x:x + 3]
        colours.add(px)
        grey.append(sum(px) / 3)
        if px == b'\x78\xaa\xff': curve += 1
mean = sum(grey) / len(grey)
std = (sum((g - mean) ** 2 for g in grey) / len(grey)) ** 0.5 / 255
print(f'gui_smoke: {w}x{h}, {len(colours)} colours, std-dev {std:.3f}, {curve} curve pixels')
assert w == 1280 and h == 800, 'window size'
assert len(colours) > 10 and std > 0.02, 'the screenshot is blank'
assert curve > 50, 'no training curve drawn'
PY
echo "gui_smoke: ok ($steps steps)"
