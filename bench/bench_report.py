"""Benchmark: `mlci report` vs what users run today (`dvc metrics diff --md` + `dvc params diff --md`).

    python bench/bench_report.py [--reps 7] [--metrics 60] [--big 2000]

Builds a git + DVC repo in a temp folder (metrics in 3 files, a few params, two commits), times each
command as a fresh process (what a CI step pays), and prints medians and the ratio. Then builds a
repo with `--big` metrics and checks that the PR comment stays within GitHub's 65,536 characters.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def sh(cwd: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(SRC), "DVC_NO_ANALYTICS": "1"}
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def build_repo(root: Path, metrics: int) -> tuple[str, str]:
    """`metrics` metrics spread over 3 files (JSON, JSON, YAML), 4 params; base and head commits."""
    root.mkdir(parents=True)
    sh(root, "git", "init", "-q", "-b", "main")
    sh(root, "git", "config", "user.email", "bench@example.com")
    sh(root, "git", "config", "user.name", "bench")
    sh(root, sys.executable, "-m", "dvc", "init", "-q")
    files = ["eval/train.json", "eval/test.json", "eval/extra.yaml"]
    (root / "dvc.yaml").write_text("metrics:\n" + "".join(f"  - {f}\n" for f in files))
    (root / "eval").mkdir()
    shas = []
    for step in (0, 1):
        for index, name in enumerate(files):
            values: dict[str, dict[str, float]] = {}
            for i in range(index, metrics, len(files)):
                value = round(0.5 + step * 0.001 * (i % 7) + i / 100_000, 6)
                values.setdefault(f"block{i // 10}", {})[f"m{i}"] = value
            text = (
                json.dumps(values)
                if name.endswith(".json")
                else "".join(
                    f"{k}:\n" + "".join(f"  {kk}: {vv}\n" for kk, vv in v.items()) for k, v in values.items()
                )
            )
            (root / name).write_text(text)
        params = (
            f"train:\n  lr: {0.01 * (step + 1)}\n  epochs: {10 + step}\n  seed: 42\nprepare:\n  split: 0.2\n"
        )
        (root / "params.yaml").write_text(params)
        sh(root, "git", "add", "-A")
        sh(root, "git", "commit", "-q", "-m", f"step {step}")
        shas.append(sh(root, "git", "rev-parse", "HEAD").strip())
    return shas[0], shas[1]


def timed(cwd: Path, *commands: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child processes) for running `commands` one after another."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    for command in commands:
        sh(cwd, *command)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def compare(root: Path, base: str, head: str, reps: int) -> tuple[tuple[float, float], tuple[float, float]]:
    py = sys.executable
    mlci = [
        py,
        "-m",
        "mlci",
        "report",
        "--base",
        base,
        "--head",
        head,
        "--format",
        "markdown",
        "--no-comment",
    ]
    dvc = [
        [py, "-m", "dvc", "metrics", "diff", base, head, "--md"],
        [py, "-m", "dvc", "params", "diff", base, head, "--md"],
    ]
    timed(root, mlci), timed(root, *dvc)  # warm the OS file cache for both
    ours, theirs = [], []
    for _ in range(reps):
        ours.append(timed(root, mlci))
        theirs.append(timed(root, *dvc))

    def median(runs: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)

    return median(ours), median(theirs)


def comment_size(root: Path, base: str, head: str) -> tuple[int, int, int]:
    """(full markdown chars, comment chars, rows shown in the comment) for a real DVC repo."""
    sys.path.insert(0, str(SRC))
    from mlci.config import load_config
    from mlci.github.limits import COMMENT_LIMIT
    from mlci.repo.revision import open_repo, read_snapshot
    from mlci.report.document import Revision, build_report
    from mlci.report.markdown import render_markdown

    with open_repo(root) as repo:
        old, new = read_snapshot(repo, base), read_snapshot(repo, head)
    report = build_report(load_config(root), Revision(base, base), Revision(head, head), old, new)
    full = render_markdown(report)
    comment = render_markdown(report, limit=COMMENT_LIMIT)
    shown = sum(1 for line in comment.splitlines() if line.startswith("| eval/"))
    assert len(report.rows) == sum(1 for line in full.splitlines() if line.startswith("| eval/"))
    return len(full), len(comment), shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--metrics", type=int, default=60)
    parser.add_argument("--big", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlci-bench-") as tmp:
        root = Path(tmp) / "repo"
        base, head = build_repo(root, args.metrics)
        ours, theirs = compare(root, base, head, args.reps)
        print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
        print(f"repo: {args.metrics} metrics in 3 files, 4 params; {args.reps} repetitions, median")
        print("                                              wall      CPU")
        print(f"mlci report --format markdown --no-comment : {ours[0]:5.2f} s  {ours[1]:5.2f} s")
        print(f"dvc metrics diff --md + dvc params diff --md: {theirs[0]:5.2f} s  {theirs[1]:5.2f} s")
        print(f"ratio mlci / dvc: wall {ours[0] / theirs[0]:.2f}, CPU {ours[1] / theirs[1]:.2f}")
        big = Path(tmp) / "big"
        base, head = build_repo(big, args.big)
        full, comment, shown = comment_size(big, base, head)
        changed = sum(1 for i in range(args.big) if i % 7)
        print(
            f"{args.big} metrics ({changed} changed): full report {full:,} chars; PR comment {comment:,} "
            f"chars (limit 65,536), {shown} rows shown in the comment"
        )


if __name__ == "__main__":
    main()
