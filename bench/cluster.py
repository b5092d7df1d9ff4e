#!/usr/bin/env python3
"""The ps/worker cluster's speed goals (issue 4), measured in one run.

Runs `podlab train` and `podlab cluster run` on the Fashion-MNIST MLP in alternating rounds and, per
round, compares runs made back to back:

  threads:   2 workers as threads vs 1 worker as a thread (1 ps, async, batch 100)   goal >= 1.8x
  processes: 1 ps + 2 worker processes vs `podlab train` at the same batch            goal >= 1.4x
             (batch 100, batch 500, and batch 500 with --overlap)
  pushpull:  build/podlab_pushpull: one push + pull of the MLP's 199,210 floats over
             podlab's zmq transport vs a raw ZeroMQ exchange of the same bytes           goal <= 1.3x

A run's figure is the `samples_per_s` of its final JSON report (samples applied over the chief's
training time, per-epoch evaluation included, as `podlab train` counts it); its start-up (process
launch, dataset load) is outside that time. Several epochs (--epochs, default 3) keep the first steps
and the last evaluation from dominating a run of under a second. The table shows, per comparison, the
median over rounds of the per-round ratio, its range, and test accuracy, since a faster run that
learns less is not a win (--overlap trades staleness for speed).

Needs only the Python standard library and a built podlab (podlab_pushpull is optional: configure
with -DPODLAB_BENCH=ON, the default outside the Docker image).

usage: bench/cluster.py [--podlab BUILD/podlab] [--rounds N] [--epochs E] [--data DIR] [--json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> podlab arguments (before the common --dataset/--epochs/--json).
RUNS = {
    "train-b100": ["train", "--batch", "100"],
    "threads-w1": ["cluster", "run", "--transport", "threads", "--ps", "1", "--workers", "1", "--batch", "100"],
    "threads-w2": ["cluster", "run", "--transport", "threads", "--ps", "1", "--workers", "2", "--batch", "100"],
    "processes-w2-b100": ["cluster", "run", "--transport", "processes", "--ps", "1", "--workers", "2", "--batch", "100"],
    "train-b500": ["train", "--batch", "500"],
    "processes-w2-b500": ["cluster", "run", "--transport", "processes", "--ps", "1", "--workers", "2", "--batch", "500"],
    "processes-w2-b500-overlap": ["cluster", "run", "--transport", "processes", "--ps", "1", "--workers", "2",
                                  "--batch", "500", "--overlap"],
}

# (label, faster run, baseline run, goal): each at least `goal` times the baseline's samples/s.
GOALS = [
    ("2 worker threads / 1", "threads-w2", "threads-w1", 1.8),
    ("1 ps + 2 processes / train, b100", "processes-w2-b100", "train-b100", 1.4),
    ("1 ps + 2 processes / train, b500", "processes-w2-b500", "train-b500", 1.4),
    ("... with --overlap, b500", "processes-w2-b500-overlap", "train-b500", 1.4),
]
PUSHPULL_GOAL = 1.3  # podlab / raw ZeroMQ time per exchange, at most


def fail(message, code=2):
    print(f"cluster.py: {message}", file=sys.stderr)
    sys.exit(code)


def run(cmd):
    """Runs cmd and returns its stdout; stops the benchmark when it fails."""
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        fail(f"no answer within 600 s from: {' '.join(cmd)}", 1)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:])
        fail(f"exit code {r.returncode} from: {' '.join(cmd)}", 1)
    return r.stdout


def final_report(stdout, cmd):
    """The last JSON line that carries samples_per_s and test_accuracy (the run's final report)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            rec = json.loads(line)
            if "samples_per_s" in rec and "test_accuracy" in rec:
                return rec
    fail(f"no final report (samples_per_s, test_accuracy) from: {' '.join(cmd)}", 1)


def run_podlab(args, name):
    cmd = [args.podlab] + RUNS[name] + ["--epochs", str(args.epochs), "--json"]
    cmd += ["--data", args.data] if args.data else ["--dataset", "fashion-mnist"]
    if args.limit_train:
        cmd += ["--limit-train", str(args.limit_train)]
    rec = final_report(run(cmd), cmd)
    return {"samples_per_s": rec["samples_per_s"], "test_accuracy": rec["test_accuracy"]}


def run_pushpull(args):
    """podlab_pushpull's JSON line (medians of its alternating podlab / raw ZeroMQ blocks)."""
    for line in run([args.pushpull, "199210", "100", str(args.pushpull_blocks)]).splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            if "ratio" in rec:
                return rec
    fail("podlab_pushpull printed no JSON line with a ratio", 1)


def summarise(rounds, pushpull):
    """Per goal: per-round ratios, their median and range, and the accuracy of both sides."""
    rows = []
    for label, fast, base, goal in GOALS:
        ratios = [r[fast]["samples_per_s"] / r[base]["samples_per_s"] for r in rounds]
        med = statistics.median(ratios)
        rows.append({
            "goal": label, "run": fast, "baseline": base, "at_least": goal,
            "samples_per_s": statistics.median(r[fast]["samples_per_s"] for r in rounds),
            "baseline_samples_per_s": statistics.median(r[base]["samples_per_s"] for r in rounds),
            "ratio": med, "ratio_min": min(ratios), "ratio_max": max(ratios),
            "test_accuracy": statistics.median(r[fast]["test_accuracy"] for r in rounds),
            "baseline_test_accuracy": statistics.median(r[base]["test_accuracy"] for r in rounds),
            "met": med >= goal,
        })
    if pushpull:
        ratios = [p["ratio"] for p in pushpull]
        med = statistics.median(ratios)
        rows.append({
            "goal": "push+pull / raw zmq", "run": "podlab_pushpull", "baseline": "raw zmq", "at_most": PUSHPULL_GOAL,
            "ms": statistics.median(p["podlab_ms"] for p in pushpull),
            "baseline_ms": statistics.median(p["raw_zmq_ms"] for p in pushpull),
            "ratio": med, "ratio_min": min(ratios), "ratio_max": max(ratios), "met": med <= PUSHPULL_GOAL,
        })
    return rows


def print_table(rows, args):
    print(f"\nratio: median over {args.rounds} rounds of each round's back-to-back ratio (range in brackets); "
          f"{args.epochs} epoch(s) per run")
    print(f"{'comparison':<34} {'run':>11} {'baseline':>11} {'ratio':>7} {'range':>12} {'goal':>8}  "
          f"{'accuracy':>15}  result")
    for r in rows:
        rng = f"[{r['ratio_min']:.2f}-{r['ratio_max']:.2f}]"
        if "ms" in r:
            run_s, base_s, goal = f"{r['ms']:.3f} ms", f"{r['baseline_ms']:.3f} ms", f"<= {r['at_most']:g}"
            acc = ""
        else:
            run_s, base_s, goal = f"{r['samples_per_s']:.0f}/s", f"{r['baseline_samples_per_s']:.0f}/s", f">= {r['at_least']:g}"
            acc = f"{r['test_accuracy']:.3f} vs {r['baseline_test_accuracy']:.3f}"
        print(f"{r['goal']:<34} {run_s:>11} {base_s:>11} {r['ratio']:>6.2f}x {rng:>12} {goal:>8}  {acc:>15}  "
              f"{'met' if r['met'] else 'NOT MET'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--podlab", default=os.environ.get("PODLAB", os.path.join(REPO, "build", "podlab")),
                    help="the podlab binary (default: $PODLAB, else REPO/build/podlab)")
    ap.add_argument("--pushpull", default="", help="podlab_pushpull (default: next to --podlab; skipped if absent)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument("--epochs", type=int, default=3, help="epochs per run (default 3)")
    ap.add_argument("--data", default="", help="folder with Fashion-MNIST's IDX files (default: the Debian package's)")
    ap.add_argument("--limit-train", type=int, default=0, help="train on the first N samples only (for a quick check)")
    ap.add_argument("--pushpull-blocks", type=int, default=9, help="alternating blocks per podlab_pushpull run")
    ap.add_argument("--json", action="store_true", help="print the summary as one JSON object per comparison")
    args = ap.parse_args()
    if args.rounds < 1 or args.epochs < 1 or args.limit_train < 0 or args.pushpull_blocks < 1:
        fail("--rounds, --epochs and --pushpull-blocks must be at least 1, --limit-train at least 0")
    if not (os.path.isfile(args.podlab) and os.access(args.podlab, os.X_OK)):
        fail(f"no podlab binary at {args.podlab}\n  build it: cmake -S {REPO} -B {REPO}/build && "
             f"cmake --build {REPO}/build -j2 --target podlab podlab_pushpull\n  or pass --podlab PATH")
    if not args.pushpull:
        args.pushpull = os.path.join(os.path.dirname(os.path.abspath(args.podlab)), "podlab_pushpull")
    has_pushpull = os.path.isfile(args.pushpull) and os.access(args.pushpull, os.X_OK)
    if not has_pushpull:
        print(f"cluster.py: no podlab_pushpull at {args.pushpull}: the push+pull goal is skipped", file=sys.stderr)

    t0 = time.time()
    rounds, pushpull = [], []
    names = list(RUNS)
    for rnd in range(args.rounds):
        # Alternate the order, so a slow drift in the machine's load does not favour one side.
        order = names if rnd % 2 == 0 else names[::-1]
        figures = {}
        for i, name in enumerate(order):
            print(f"# round {rnd + 1}/{args.rounds}, run {i + 1}/{len(order)}: {name}", file=sys.stderr, flush=True)
            figures[name] = run_podlab(args, name)
        rounds.append(figures)
        if has_pushpull:
            pushpull.append(run_pushpull(args))
    rows = summarise(rounds, pushpull)
    if args.json:
        for r in rows:
            print(json.dumps(r))
    else:
        print_table(rows, args)
        print(f"\n{sum(r['met'] for r in rows)} of {len(rows)} goal(s) met; {time.time() - t0:.0f} s; podlab {args.podlab}")


if __name__ == "__main__":
    main()
