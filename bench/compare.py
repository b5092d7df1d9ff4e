#!/usr/bin/env python3
"""podlab against the PyTorch reference on the same work, in the same run.

Runs `podlab bench` and the reference (`sh REF/torch_run.sh openblas512 THREADS ...`, see
../shared/bench/README.md) alternately, ROUNDS times per work item, and prints per item the median
samples/s of both, their ratio and the goal it is checked against. Both sides train the same model
(MLP 784-200-200-10 or the TensorFlow-tutorial CNN) on Fashion-MNIST in float32 with plain SGD at
the same learning rate and batch size, for the same number of steps; inference is the 10,000 test
images at batch 1000. Absolute figures on a shared machine are noisy: the ratios, measured back to
back, are what count.

Needs only the Python standard library; the reference runs under Debian's /usr/bin/python3 with
python3-torch (torch_run.sh picks that interpreter itself). Installs nothing: it checks for
  apt-get install -y python3-torch python3-numpy libopenblas0-openmp dataset-fashion-mnist
and says so when something is missing.

usage: bench/compare.py [--podlab BUILD/podlab] [--ref DIR] [--rounds N] [--only ITEM,...]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ["python3-torch", "python3-numpy", "libopenblas0-openmp", "dataset-fashion-mnist"]

# One pairing per training work item: podlab's --work list, the reference's arguments for the same
# work, and the repetitions both time (podlab --repeat = reference --epochs; --steps = --max-steps).
# The reference's MLP runs also time inference (--infer-batch 1000, --infer-reps = the repetitions),
# so podlab's `infer` item rides along with mlp-b100.
PAIRS = [
    dict(name="mlp-b100", work="mlp-b100,infer", threads=1, reps=5, steps=0,
         torch=["--model", "mlp", "--batch", "100", "--lr", "0.1"]),
    dict(name="mlp-b32", work="mlp-b32", threads=1, reps=3, steps=0,
         torch=["--model", "mlp", "--batch", "32", "--lr", "0.1"]),
    dict(name="mlp-b100-t2", work="mlp-b100-t2", threads=2, reps=5, steps=0,
         torch=["--model", "mlp", "--batch", "100", "--lr", "0.1"]),
    dict(name="cnn-b50", work="cnn-b50", threads=1, reps=3, steps=200,
         torch=["--model", "cnn", "--batch", "50", "--lr", "0.05", "--infer-reps", "1"]),
]

# (work item, what is checked, threshold): "torch" = podlab/PyTorch samples/s; "t1" = podlab's own
# speed-up over mlp-b100; "peak" = share of one core's FMA peak; "rss" = peak resident MB (at most).
GOALS = [
    ("mlp-b100", "torch", 1.3), ("mlp-b100", "peak", 0.70), ("mlp-b100", "rss", 300.0),
    ("mlp-b32", "torch", 1.8), ("mlp-b100-t2", "t1", 1.8), ("cnn-b50", "torch", 1.3), ("infer", "torch", 1.5),
]


def fail(message, code=2):
    print(f"compare.py: {message}", file=sys.stderr)
    sys.exit(code)


def check_prerequisites(podlab, ref):
    if not (os.path.isfile(podlab) and os.access(podlab, os.X_OK)):
        fail(f"no podlab binary at {podlab}\n  build it: cmake -S {REPO} -B {REPO}/build -DPODLAB_GUI=OFF && "
             f"cmake --build {REPO}/build -j2 --target podlab\n  or pass --podlab PATH")
    for f in ("torch_run.sh", "torch_fmnist.py"):
        if not os.path.isfile(os.path.join(ref, f)):
            fail(f"no {f} in {ref} (pass --ref DIR or set PODLAB_TORCH_REF)")
    if not shutil.which("dpkg-query"):
        fail("dpkg-query not found: the reference needs Debian's python3-torch and OpenBLAS packages")
    missing = []
    for p in PACKAGES:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True)
        if r.returncode != 0 or "install ok installed" not in r.stdout:
            missing.append(p)
    if missing:
        fail("missing packages: " + " ".join(missing) + "\n  install (as root): apt-get install -y " + " ".join(PACKAGES))


def run(cmd, env=None):
    """Runs cmd, returns its stdout; stops the comparison when it fails."""
    print("$ " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:])
        fail(f"exit code {r.returncode} from: {' '.join(cmd)}", 1)
    return r.stdout


def run_podlab(args, pair):
    cmd = [args.podlab, "bench", "--work", pair["work"], "--repeat", str(pair["reps"]), "--json"]
    if pair["steps"]:
        cmd += ["--steps", str(pair["steps"])]
    if args.data:
        cmd += ["--data", args.data]
    return [json.loads(line) for line in run(cmd).splitlines() if line.startswith("{")]


def run_torch(args, pair):
    cmd = ["sh", os.path.join(args.ref, "torch_run.sh"), "openblas512", str(pair["threads"])] + pair["torch"]
    cmd += ["--epochs", str(pair["reps"])]
    if pair["steps"]:
        cmd += ["--max-steps", str(pair["steps"])]
    env = dict(os.environ, **({"FMNIST_DIR": args.data} if args.data else {}))
    for line in run(cmd, env).splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    fail("the reference printed no RESULT line", 1)


def record(results, pair, podlab_items, torch):
    """Files one round's figures under each work item; checks both sides processed the same samples."""
    for item in podlab_items:
        r = results.setdefault(item["work"], {"podlab": [], "torch": [], "peak": [], "rss": [], "ratio": []})
        r["podlab"].append(item["samples_per_s"])
        r["peak"].append(item["peak_fraction"])
        r["rss"].append(item["peak_rss_mb"])
        r["torch"].append(torch["infer_samples_per_s_median" if item["kind"] == "inference"
                                else "train_samples_per_s_median"])
        r["ratio"].append(r["podlab"][-1] / r["torch"][-1])  # this round's pair, run back to back
        if item["kind"] == "inference":
            continue
        torch_samples = torch["steps_per_epoch"] * torch["batch"]
        if item["samples"] != torch_samples or item["repeat"] != len(torch["epoch_s"]):
            fail(f"{item['work']}: podlab timed {item['repeat']} x {item['samples']} samples, the reference "
                 f"{len(torch['epoch_s'])} x {torch_samples}: not the same work", 1)


def goal_value(results, work, what):
    r = results[work]
    if what == "torch":
        return statistics.median(r["podlab"]) / statistics.median(r["torch"])
    if what == "t1":
        return statistics.median(r["podlab"]) / statistics.median(results["mlp-b100"]["podlab"])
    if what == "peak":
        return statistics.median(r["peak"])
    return max(r["rss"])


def print_table(results):
    print("\nsamples/s: median over the rounds of each round's median over its repetitions; ratio: of those "
          "medians;\nrounds: the lowest and highest ratio of a podlab run to the PyTorch run next to it")
    print(f"{'work':<13} {'podlab/s':>10} {'PyTorch/s':>10} {'ratio':>7} {'rounds':>11}   {'goal':<32} {'value':>7}  "
          "result")
    labels = {"torch": "podlab/PyTorch >= {:g}", "t1": "podlab t2 / podlab t1 >= {:g}",
              "peak": "of one core's FMA peak >= {:.0%}", "rss": "peak RSS <= {:g} MB"}
    shown = set()
    passed = 0
    for work, what, goal in GOALS:
        if work not in results or (what == "t1" and "mlp-b100" not in results):
            continue
        r = results[work]
        v = goal_value(results, work, what)
        ok = v <= goal if what == "rss" else v >= goal
        passed += ok
        value = f"{v:.0%}" if what == "peak" else f"{v:.0f} MB" if what == "rss" else f"{v:.2f}x"
        if work in shown:  # the figures once per item, the goals one per row
            cols = f"{work:<13} {'':>10} {'':>10} {'':>7} {'':>11}"
        else:
            pm, tm = statistics.median(r["podlab"]), statistics.median(r["torch"])
            rounds = f"{min(r['ratio']):.2f}-{max(r['ratio']):.2f}x"
            cols = f"{work:<13} {pm:>10.0f} {tm:>10.0f} {pm / tm:>6.2f}x {rounds:>11}"
            shown.add(work)
        print(f"{cols}   {labels[what].format(goal):<32} {value:>7}  {'pass' if ok else 'FAIL'}")
    return passed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--podlab", default=os.environ.get("PODLAB", os.path.join(REPO, "build", "podlab")),
                    help="the podlab binary (default: $PODLAB, else REPO/build/podlab)")
    ap.add_argument("--ref", default=os.environ.get("PODLAB_TORCH_REF", os.path.join(REPO, "..", "shared", "bench")),
                    help="folder with torch_run.sh (default: $PODLAB_TORCH_REF, else REPO/../shared/bench)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating podlab/PyTorch runs per item (>= 3)")
    ap.add_argument("--only", default="", help="comma-separated subset of: " + ", ".join(p["name"] for p in PAIRS)
                    + " (infer runs with mlp-b100)")
    ap.add_argument("--data", default="", help="Fashion-MNIST folder for both sides (default: the Debian package's)")
    args = ap.parse_args()
    if args.rounds < 3:
        fail("--rounds must be at least 3")
    args.ref = os.path.abspath(args.ref)
    only = [w for w in args.only.split(",") if w]
    unknown = [w for w in only if w not in [p["name"] for p in PAIRS]]
    if unknown:
        fail(f"--only: unknown item(s) {', '.join(unknown)} (expected: " + ", ".join(p["name"] for p in PAIRS) + ")")
    pairs = [p for p in PAIRS if not only or p["name"] in only]
    check_prerequisites(args.podlab, args.ref)

    results = {}
    t0 = time.time()
    for rnd in range(args.rounds):
        for pair in pairs:
            print(f"# round {rnd + 1}/{args.rounds}: {pair['name']}", flush=True)
            # Alternate who goes first, so slow drifts in the machine's load do not favour one side.
            if rnd % 2 == 0:
                podlab_items, torch = run_podlab(args, pair), run_torch(args, pair)
            else:
                torch = run_torch(args, pair)
                podlab_items = run_podlab(args, pair)
            record(results, pair, podlab_items, torch)
            for item in podlab_items:
                ref = torch["infer_samples_per_s_median" if item["kind"] == "inference" else "train_samples_per_s_median"]
                print(f"  {item['work']}: podlab {item['samples_per_s']:.0f}/s, PyTorch {ref:.0f}/s", flush=True)
    passed = print_table(results)
    print(f"\n{passed} goal(s) met; {time.time() - t0:.0f} s; podlab {args.podlab}, reference {args.ref} (openblas512)")


if __name__ == "__main__":
    main()
