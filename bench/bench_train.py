"""Benchmark `mlci train` against plain `dvc repro` on the example pipeline.

    python bench/bench_train.py [--reps 5]

Builds the example project (3 stages, local-directory DVC remote, trained and pushed once), then
for each repetition starts from a fresh clone with an empty DVC cache, as a CI runner does:

  unchanged  the commit whose results are in the remote: mlci train vs `dvc pull data && dvc repro`
  param      train.n_estimators changed: mlci train (train+evaluate run, prepare restored) vs the same
             baseline (all three stages run)
  seen       a param value another runner already trained and pushed with mlci train: every stage is
             restored from the remote run-cache, metrics and plots included; same baseline

Prints a markdown table (median and min of the wall times) and the machine, and writes the raw
numbers to bench/results/train.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from mlci.onboarding import example  # noqa: E402
from mlci.repo.git import git  # noqa: E402

PARAM = ("train", "n_estimators", 55)
SEEN = ("train", "n_estimators", 66)  # trained once on "another runner" before the measurements
SCENARIOS = ("unchanged", "param", "seen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlci-bench-train-") as tmp:
        base = Path(tmp)
        _isolate(base)
        origin = _publish(base)
        times: dict[str, list[float]] = {}
        for rep in range(args.reps):
            for scenario in SCENARIOS:
                for tool in ("mlci", "baseline"):
                    seconds = _one(base / f"r{rep}-{scenario}-{tool}", origin, scenario, tool)
                    times.setdefault(f"{scenario}/{tool}", []).append(seconds)
                    print(f"rep {rep + 1}: {scenario:9} {tool:8} {seconds:6.2f} s", file=sys.stderr)
    report(times, args.reps)


def _isolate(base: Path) -> None:
    home = base / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = bench\n\temail = bench@example.com\n")
    os.environ.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), DVC_NO_ANALYTICS="1")
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]


def _publish(base: Path) -> Path:
    root = base / "work"
    root.mkdir()
    example.write_project(root)
    example.init_repo(root, base / "dvc-remote", base / "origin.git")
    example.train_and_publish(root, "Train the model")
    other = base / "other-runner"
    git(base, "clone", "-q", str(base / "origin.git"), str(other))
    _set(other, SEEN)
    _run([sys.executable, "-m", "mlci", "train", "--format", "json"], other)  # pushes its run-cache
    shutil.rmtree(other)
    return base / "origin.git"


def _set(root: Path, param: tuple[str, str, int]) -> None:
    import yaml

    params = yaml.safe_load((root / "params.yaml").read_text())
    params[param[0]][param[1]] = param[2]
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def _one(dest: Path, origin: Path, scenario: str, tool: str) -> float:
    git(dest.parent, "clone", "-q", str(origin), str(dest))
    if scenario != "unchanged":
        _set(dest, PARAM if scenario == "param" else SEEN)
    start = time.perf_counter()
    if tool == "mlci":
        # --no-push: every repetition must find the same remote, and the baseline pushes nothing either
        _run([sys.executable, "-m", "mlci", "train", "--no-push", "--format", "json"], dest)
    else:
        _run([sys.executable, "-m", "dvc", "pull", "-q", "data/raw.csv.dvc"], dest)
        _run([sys.executable, "-m", "dvc", "repro", "-q"], dest)
    seconds = time.perf_counter() - start
    _check(dest, scenario, tool)
    shutil.rmtree(dest)
    return seconds


def _check(root: Path, scenario: str, tool: str) -> None:
    """The numbers only mean something if each tool did what it claims."""
    if tool != "mlci":
        return
    stages = json.loads((root / ".mlci" / "train" / "result.json").read_text())["stages"]
    outcomes = {s["name"]: s["outcome"] for s in stages}
    expected = {
        "unchanged": {"prepare": "unchanged", "train": "unchanged", "evaluate": "unchanged"},
        "param": {"prepare": "restored", "train": "ran", "evaluate": "ran"},
        "seen": {"prepare": "restored", "train": "restored", "evaluate": "restored"},
    }[scenario]
    if outcomes != expected:
        raise SystemExit(f"{scenario}: expected {expected}, got {outcomes}")


def _run(cmd: list[str], cwd: Path) -> str:
    """Run `cmd` with this checkout's mlci first on the path; its stdout, or stop naming what failed."""
    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "src"))
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def report(times: dict[str, list[float]], reps: int) -> None:
    rows = []
    for scenario in SCENARIOS:
        ours, theirs = times[f"{scenario}/mlci"], times[f"{scenario}/baseline"]
        m, b = statistics.median(ours), statistics.median(theirs)
        ours_text = f"{m:.2f} s (min {min(ours):.2f})"
        rows.append(f"| {scenario} | {ours_text} | {b:.2f} s (min {min(theirs):.2f}) | {m / b:.2f} |")
    print(f"\nmachine: {machine()}\nrepetitions: {reps}, fresh clone and empty DVC cache each time\n")
    print("| scenario | mlci train (median) | dvc pull data + dvc repro (median) | ratio |")
    print("|---|---:|---:|---:|")
    print("\n".join(rows))
    out = HERE / "results" / "train.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "reps": reps, "times": times}, indent=2) + "\n")


def machine() -> str:
    cpu = ""
    info = Path("/proc/cpuinfo")
    if info.exists():
        cpu = next(
            (ln.split(":", 1)[1].strip() for ln in info.read_text().splitlines() if "model name" in ln), ""
        )
    ram = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        ram = f", {kb / 1024 / 1024:.0f} GiB RAM"
    load = f", load {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    python = platform.python_version()
    return f"{os.cpu_count()} CPUs ({cpu or platform.processor()}){ram}{load}, Python {python}"


if __name__ == "__main__":
    main()
