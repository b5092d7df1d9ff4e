#!/usr/bin/env bash
# `podlab cluster run` on a terminal (a pseudo-terminal of 100 columns, and one of 40): a progress bar
# with an ETA, redrawn in place, and every other line (epoch results, checkpoints, the task processes' own output,
# relayed through the launcher) printed on a line of its own, never glued to the bar; the bar is
# erased before the summary, and no JSON reaches the terminal. Over processes and over threads.
# Nothing is left running.
# Usage: cluster_terminal.sh PATH_TO_PODLAB
set -u
source "$(dirname "$0")/lib/process_tasks.sh" podlab_cli_tty "$@"

# run_on_tty NAME COLUMNS COMMAND...: runs COMMAND on a pseudo-terminal COLUMNS wide; raw output in
# $TMP/NAME.tty.
run_on_tty() {
  local name=$1 columns=$2
  shift 2
  timeout 120 python3 - "$TMP/$name.tty" "$columns" "$@" <<'PY'
import os, pty, select, struct, sys, fcntl, termios, time
out_path, columns, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
data, deadline = b"", time.time() + 100
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
_, status = os.waitpid(pid, 0)
open(out_path, "wb").write(data)
sys.exit(os.waitstatus_to_exitcode(status))
PY
  local code=$?
  [ "$code" -eq 0 ] || fail "$name: exited $code"
}

# check NAME MIN_EPOCHS COLUMNS: the terminal output's shape.
check() {
  python3 - "$TMP/$1.tty" "$2" "$3" <<'PY' || fail "$1: terminal output"
import re, sys
s = open(sys.argv[1], "rb").read().decode()
epochs, columns = int(sys.argv[2]), int(sys.argv[3])
bars = re.findall(r"\r\x1b\[Ktraining \[[#.]+\] +\d+%", s)
assert len(bars) >= 2, "no progress bar redrawn in place"
# What a terminal of that width shows: text wraps at the last column, '\r' returns to the start of
# the cursor's row, '\x1b[K' erases to its end, '\n' moves down.
rows, row, col = [[]], 0, 0
i = 0
while i < len(s):
    if s.startswith("\x1b[K", i):
        del rows[row][col:]
        i += 3
        continue
    c = s[i]
    i += 1
    if c == "\r":
        col = 0
    elif c == "\n":
        row, col = row + 1, 0
    else:
        if col == columns:
            row, col = row + 1, 0
        while len(rows) <= row:
            rows.append([])
        line = rows[row]
        while len(line) <= col:
            line.append(" ")
        line[col] = c
        col += 1
    while len(rows) <= row:
        rows.append([])
lines = ["".join(r).rstrip() for r in rows]
assert not any("training [" in l for l in lines), "a bar left on the screen: " + repr([l for l in lines if "training [" in l][:2])
epoch_lines = [l for l in lines if re.search(r"epoch \d+ \(step \d+\)", l)]
assert len(epoch_lines) >= epochs, f"{len(epoch_lines)} epoch lines"
assert not any(l.startswith("{") for l in lines), "JSON on the terminal"
summary = [i for i, l in enumerate(lines) if l.startswith("ps tasks (staleness")]
assert summary, "no summary"
assert any(l.startswith("test accuracy: ") for l in lines), "no final accuracy"
PY
}

SMALL=(--dataset fashion-mnist --limit-train 8000 --limit-test 500 --batch 50)
run_on_tty processes 100 "$PODLAB" cluster run --transport processes --ps 1 --workers 2 --epochs 6 "${SMALL[@]}" \
  --checkpoint-dir "$TMP/ckpt" --ps-checkpoint-every-steps 200
check processes 6 100
grep -q "ETA " "$TMP/processes.tty" || fail "processes: no ETA"
grep -q "checkpoint of the ps state" "$TMP/processes.tty" || fail "processes: no checkpoint lines"
run_on_tty threads 100 "$PODLAB" cluster run --transport threads --ps 1 --workers 2 --epochs 6 "${SMALL[@]}" --sim-latency-ms 1
check threads 6 100
# Narrower than the whole bar: it shrinks (and drops its ETA) instead of wrapping.
run_on_tty narrow 40 "$PODLAB" cluster run --transport threads --ps 1 --workers 2 --epochs 6 "${SMALL[@]}" --sim-latency-ms 1
check narrow 6 40

sleep 0.2
if pgrep -f "$TMP" >/dev/null; then fail "task processes left running"; fi
if [ "$FAILS" -ne 0 ]; then
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "cluster_terminal: all checks passed"
