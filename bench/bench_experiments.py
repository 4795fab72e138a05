"""Benchmark: what the PR's experiments add to `mlci report`, and `dvc exp show` (what a reviewer runs instead).

    python bench/bench_experiments.py [--reps 5] [--counts 10 200]

Builds a git + DVC repo in a temp folder (a stage's metrics and params, base and head commits), then one
copy per count with that many experiments on head, made by `git fast-import` as DVC lays them out
(`refs/exps/<sha[:2]>/<sha[2:]>/<name>`). Times, as fresh processes and interleaved in one run:
`mlci report` with `report.experiments.enabled: false` (the report without them), `mlci report` with them,
and `dvc exp show --json` on the same repository. Prints medians and the extra time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

TRAIN = """import json, yaml
p = yaml.safe_load(open("params.yaml"))["train"]
json.dump({"acc": 0.5 + p["lr"], "loss": 1 / (1 + p["lr"]), "trees": 10 * p["depth"]}, open("metrics.json", "w"))
"""
DVC_YAML = """stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train]
    metrics:
      - metrics.json:
          cache: false
"""


def sh(cwd: Path, *args: str, data: bytes | None = None) -> str:
    env = {**os.environ, "PYTHONPATH": str(SRC), "DVC_NO_ANALYTICS": "1"}
    proc = subprocess.run(args, cwd=cwd, env=env, input=data, capture_output=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr.decode()}")
    return proc.stdout.decode()


def build(root: Path) -> tuple[str, str]:
    root.mkdir(parents=True)
    sh(root, "git", "init", "-q", "-b", "main")
    sh(root, "git", "config", "user.email", "bench@example.com")
    sh(root, "git", "config", "user.name", "bench")
    sh(root, sys.executable, "-m", "dvc", "init", "-q")
    (root / "train.py").write_text(TRAIN)
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "mlci.yaml").write_text("gates:\n  - metric: acc\n    min: 0.1\n")
    shas = []
    for lr in (0.1, 0.2):
        (root / "params.yaml").write_text(f"train:\n  lr: {lr}\n  depth: 3\n")
        sh(root, sys.executable, "-m", "dvc", "repro", "-q")
        sh(root, "git", "add", "-A")
        sh(root, "git", "commit", "-q", "-m", f"lr {lr}")
        shas.append(sh(root, "git", "rev-parse", "HEAD").strip())
    return shas[0], shas[1]


def plumb(root: Path, head: str, count: int) -> None:
    """`count` experiments on `head`, one `git fast-import` process."""
    stream = []
    for i in range(count):
        lr = round(0.001 * (i + 1), 6)
        files = {
            "params.yaml": f"train:\n  lr: {lr}\n  depth: {2 + i % 5}\n",
            "metrics.json": json.dumps({"acc": 0.5 + lr, "loss": 1 / (1 + lr), "trees": 10 * (2 + i % 5)}),
        }
        msg = f"exp {i}".encode()
        parts = [
            f"commit refs/exps/{head[:2]}/{head[2:]}/bench-{i:04d}\n".encode(),
            f"committer bench <bench@example.com> {1_700_000_000 + i} +0000\n".encode(),
            b"data %d\n%s\n" % (len(msg), msg),
            f"from {head}\n".encode(),
        ]
        for path, text in files.items():
            parts.append(
                f"M 100644 inline {path}\ndata {len(text.encode())}\n".encode() + text.encode() + b"\n"
            )
        stream.append(b"".join(parts) + b"\n")
    sh(root, "git", "fast-import", "--quiet", data=b"".join(stream))


def timed(cwd: Path, *args: str) -> float:
    start = time.perf_counter()
    sh(cwd, *args)
    return time.perf_counter() - start


def report(root: Path, base: str, head: str, enabled: bool) -> float:
    (root / "mlci.yaml").write_text(
        f"gates:\n  - metric: acc\n    min: 0.1\nreport:\n  experiments:\n    enabled: {str(enabled).lower()}\n"
    )
    mlci = (sys.executable, "-m", "mlci", "report", "--base", base, "--head", head, "--format", "json")
    return timed(root, *mlci, "--output", str(root / "report.json"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 200])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template"
        base, head = build(template)
        print("| experiments | report without them | report with them | extra | dvc exp show --json | reps |")
        print("|---:|---:|---:|---:|---:|---:|")
        for count in args.counts:
            root = Path(tmp) / f"n{count}"
            shutil.copytree(template, root)
            plumb(root, head, count)
            times: dict[str, list[float]] = {"off": [], "on": [], "dvc": []}
            for _ in range(args.reps):  # interleaved: the machine's load hits all three alike
                times["off"].append(report(root, base, head, False))
                times["on"].append(report(root, base, head, True))
                times["dvc"].append(timed(root, sys.executable, "-m", "dvc", "exp", "show", "--json"))
            document = json.loads((root / "report.json").read_text())
            assert document["experiments"]["read"] == count, document["experiments"]
            off, on, dvc = (statistics.median(times[k]) for k in ("off", "on", "dvc"))
            print(f"| {count} | {off:.2f} s | {on:.2f} s | {on - off:+.2f} s | {dvc:.2f} s | {args.reps} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
