#!/usr/bin/env bash
# `podlab cluster run` on a terminal (a pseudo-terminal of 100 columns): a progress bar with an ETA,
# redrawn in place, and every other line (epoch results, checkpoints, the task processes' own output,
# relayed through the launcher) printed on a line of its own, never glued to the bar; the bar is
# erased before the summary, and no JSON reaches the terminal. Over processes and over threads.
# Nothing is left running.
# Usage: cluster_terminal.sh PATH_TO_PODLAB
set -u
source "$(dirname "$0")/lib/process_tasks.sh" podlab_cli_tty "$@"

# run_on_tty NAME COMMAND...: runs COMMAND on a pseudo-terminal; raw output in $TMP/NAME.tty.
run_on_tty() {
  local name=$1
  shift
  timeout 120 python3 - "$TMP/$name.tty" "$@" <<'PY'
import os, pty, select, struct, sys, fcntl, termios, time
out_path, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
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

# check NAME MIN_EPOCHS: the terminal output's shape.
check() {
  python3 - "$TMP/$1.tty" "$2" <<'PY' || fail "$1: terminal output"
import re, sys
s = open(sys.argv[1], "rb").read().decode()
epochs = int(sys.argv[2])
bars = re.findall(r"\r\x1b\[Ktraining \[[#.]{28}\] +\d+%", s)
assert len(bars) >= 2, "no progress bar redrawn in place"
assert "ETA " in s, "no ETA"
# What a terminal shows: each '\r' returns to the line's start and '\x1b[K' erases to its end.
lines = []
for raw in s.replace("\r\n", "\n").split("\n"):
    shown = ""
    for part in raw.split("\r"):
        if part.startswith("\x1b[K"):
            shown = part[3:]
        else:
            shown = part + shown[len(part):]
    lines.append(shown)
epoch_lines = [l for l in lines if re.search(r"epoch \d+ \(step \d+\)", l)]
assert len(epoch_lines) >= epochs, f"{len(epoch_lines)} epoch lines"
for l in epoch_lines + [l for l in lines if "checkpoint of the ps state" in l]:
    assert not l.startswith("training ["), "a line glued to the bar: " + repr(l)
    assert "training [" not in l, "a bar inside a line: " + repr(l)
assert not any(l.startswith("{") for l in lines), "JSON on the terminal"
summary = [i for i, l in enumerate(lines) if l.startswith("ps tasks (staleness")]
assert summary, "no summary"
assert not any(l.startswith("training [") for l in lines[summary[0]:]), "the bar is left above or in the summary"
assert lines[summary[0] - 1].strip() == "" or "training [" not in lines[summary[0] - 1], "stale bar before the summary"
assert any(l.startswith("test accuracy: ") for l in lines), "no final accuracy"
PY
}

SMALL=(--dataset fashion-mnist --limit-train 8000 --limit-test 500 --batch 50)
run_on_tty processes "$PODLAB" cluster run --transport processes --ps 1 --workers 2 --epochs 6 "${SMALL[@]}" \
  --checkpoint-dir "$TMP/ckpt" --ps-checkpoint-every-steps 200
check processes 6
grep -q "checkpoint of the ps state" "$TMP/processes.tty" || fail "processes: no checkpoint lines"
run_on_tty threads "$PODLAB" cluster run --transport threads --ps 1 --workers 2 --epochs 6 "${SMALL[@]}" --sim-latency-ms 1
check threads 6

sleep 0.2
if pgrep -f "$TMP" >/dev/null; then fail "task processes left running"; fi
if [ "$FAILS" -ne 0 ]; then
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "cluster_terminal: all checks passed"
