"""Benchmark: what the plots step adds to `mlci report` (the same report with `report.plots: false`).

    python bench/bench_plots.py [--reps 7] [--points 1000]

Builds a git + DVC repo in a temp folder with 4 plots, each declared with two data files (train and
test curves) of `--points` rows, changed between two commits, like a project whose ROC, PRC and
training curves come from DVCLive. Times `mlci report --format markdown --no-comment` as fresh processes
with plots on and off (alternating, after a warm-up of each), prints the medians, the difference and
the ratio, then in-process laps of the plots step itself (DVC's collection, resolution, rendering).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_report import SRC, sh, timed

PLOTS = {  # plot id -> (x field, y field)
    "ROC": ("fpr", "tpr"),
    "Precision-Recall": ("recall", "precision"),
    "Loss": ("step", "loss"),
    "Accuracy": ("step", "acc"),
}


def build_repo(root: Path, points: int) -> tuple[str, str]:
    root.mkdir(parents=True)
    sh(root, "git", "init", "-q", "-b", "main")
    sh(root, "git", "config", "user.email", "bench@example.com")
    sh(root, "git", "config", "user.name", "bench")
    sh(root, sys.executable, "-m", "dvc", "init", "-q")
    lines = ["metrics:", "  - eval/metrics.json", "plots:"]
    for plot_id, (x, y) in PLOTS.items():
        folder = plot_id.lower()
        lines += [f"  - {plot_id}:", f"      x: {x}", "      y:"]
        lines += [f"        eval/{folder}/{split}.json: {y}" for split in ("train", "test")]
    (root / "dvc.yaml").write_text("\n".join(lines) + "\n")
    shas = []
    for step in (0, 1):
        for plot_id, (x, y) in PLOTS.items():
            folder = root / "eval" / plot_id.lower()
            folder.mkdir(parents=True, exist_ok=True)
            for k, split in enumerate(("train", "test")):
                power = 0.3 + 0.2 * k - 0.05 * step
                rows = [
                    {
                        x: i if x == "step" else round(i / (points - 1), 5),
                        y: round((i / (points - 1)) ** power, 5),
                    }
                    for i in range(points)
                ]
                (folder / f"{split}.json").write_text(json.dumps({plot_id.lower(): rows}))
        (root / "eval" / "metrics.json").write_text(json.dumps({"acc": 0.8 + step / 100}))
        sh(root, "git", "add", "-A")
        sh(root, "git", "commit", "-q", "-m", f"step {step}")
        shas.append(sh(root, "git", "rev-parse", "HEAD").strip())
    return shas[0], shas[1]


def compare(root: Path, base: str, head: str, reps: int) -> tuple[tuple[float, float], tuple[float, float]]:
    command = [sys.executable, "-m", "mlci", "report", "--base", base, "--head", head, "--no-comment"]
    config = root / "mlci.yaml"

    def run(plots: bool) -> tuple[float, float]:
        config.write_text(f"report:\n  plots: {'true' if plots else 'false'}\n")
        return timed(root, command)

    run(True), run(False)  # warm the OS file cache for both
    on, off = [], []
    for _ in range(reps):
        on.append(run(True))
        off.append(run(False))

    def median(runs: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)

    return median(on), median(off)


def laps(root: Path, base: str, head: str) -> dict[str, float]:
    """In-process wall time of the plots step's parts (the second of two rounds: DVC's readers loaded)."""
    sys.path.insert(0, str(SRC))
    from mlci.config import parse_config
    from mlci.repo.plots import resolve_plots
    from mlci.repo.revision import _plots, _switched, open_repo, read_snapshot
    from mlci.report.document import Revision, build_report
    from mlci.report.markdown import render_markdown

    result: dict[str, float] = {}
    with open_repo(root) as repo:
        for _ in range(2):
            old, new = read_snapshot(repo, base), read_snapshot(repo, head)
            start = time.perf_counter()
            shown = []
            for rev in (base, head):
                with _switched(repo, rev):
                    shown.append(_plots(repo, rev))
            result["DVC collects definitions and data (2 revisions)"] = time.perf_counter() - start
            start = time.perf_counter()
            resolved = resolve_plots(*shown)
            result["DVC's converter: series per plot"] = time.perf_counter() - start
    config = parse_config({})
    start = time.perf_counter()
    old = type(old)(old.rev, old.metrics, old.params, old.outs, shown[0])
    new = type(new)(new.rev, new.metrics, new.params, new.outs, shown[1])
    report = build_report(config, Revision(base, base), Revision(head, head), old, new)
    render_markdown(report)
    result["report + markdown (resolution included)"] = time.perf_counter() - start
    assert len(resolved.plots) == len(PLOTS)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--points", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlci-bench-") as tmp:
        root = Path(tmp) / "repo"
        base, head = build_repo(root, args.points)
        on, off = compare(root, base, head, args.reps)
        print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
        print(f"repo: {len(PLOTS)} plots x 2 files x {args.points} points; {args.reps} repetitions, median")
        print("                                   wall      CPU")
        print(f"mlci report, plots on          : {on[0]:5.2f} s  {on[1]:5.2f} s")
        print(f"mlci report, report.plots false: {off[0]:5.2f} s  {off[1]:5.2f} s")
        print(f"plots step adds: wall {on[0] - off[0]:+.3f} s, CPU {on[1] - off[1]:+.3f} s")
        print(f"ratio on / off: wall {on[0] / off[0]:.2f}, CPU {on[1] / off[1]:.2f}")
        for name, seconds in laps(root, base, head).items():
            print(f"  {name}: {seconds:.3f} s")


if __name__ == "__main__":
    main()
