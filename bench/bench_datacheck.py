"""Benchmark `mlci data check` on a 1M-row, 25-column CSV changed in a PR, next to pandera.

    python bench/bench_datacheck.py [--rows 1000000] [--pandera-python VENV/bin/python] [--repeat 5]

Builds a git + DVC repo in a temp folder (local DVC remote), commits the base data, then a PR that
appends 5% new rows with a few out-of-range values. Times, each in a fresh process with its peak
RSS: `mlci data check --base` cold (no profile cache), warm (base profile cached), the head check
alone (no base), and pandera validating the same contract on the head (its own venv: pandera is
not an mlci dependency). With --repeat N the runs take turns N times (A/B alternated: the machine's
load shifts) and the table shows medians. --work DIR keeps the repo there and reuses it.
Prints a markdown table for docs/benchmarks.md.
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
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

NUMERIC = [f"x{i:02d}" for i in range(20)]
BANDS = ["low", "mid", "high"]
MEASURE = """
import resource, subprocess, sys, time, json
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
took = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": took, "cpu": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024,
                  "rc": proc.returncode, "err": proc.stderr[-2000:]}))
"""

PANDERA = """
import sys, pandas as pd, pandera.pandas as pa, yaml
contract = yaml.safe_load(open(sys.argv[2]))["data"]["datasets"]["events"]
cols = {}
for name, rule in contract["columns"].items():
    checks = []
    if "min" in rule: checks.append(pa.Check.ge(rule["min"]))
    if "max" in rule: checks.append(pa.Check.le(rule["max"]))
    if "allowed" in rule: checks.append(pa.Check.isin(rule["allowed"]))
    dtype = {"float": float, "int": int, "str": str}[rule.get("type", "str")]
    unique = name in contract.get("unique", [])
    cols[name] = pa.Column(dtype, checks=checks, nullable=rule.get("nullable", True), unique=unique)
schema = pa.DataFrameSchema(cols, strict=True)
frame = pd.read_csv(sys.argv[1])
try:
    schema.validate(frame, lazy=True)
    print("valid")
except pa.errors.SchemaErrors as exc:
    print(len(exc.failure_cases), "failure cases")
    sys.exit(1)
"""


def make_frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {name: rng.normal(i, 1 + i / 10, rows).round(4) for i, name in enumerate(NUMERIC)}
    frame = pd.DataFrame(data)
    frame.insert(0, "id", np.arange(seed * 10**8, seed * 10**8 + rows))
    for j in range(3):
        frame[f"band{j}"] = rng.choice(BANDS, rows)
    frame["label"] = (rng.random(rows) < 0.3).astype(int)
    return frame


def contract(frame: pd.DataFrame) -> dict[str, object]:
    columns: dict[str, object] = {"id": {"type": "int", "nullable": False}}
    for name in NUMERIC:
        mean, std = float(frame[name].mean()), float(frame[name].std())
        columns[name] = {"type": "float", "nullable": False, "min": mean - 10 * std, "max": mean + 10 * std}
    for j in range(3):
        columns[f"band{j}"] = {"type": "str", "nullable": False, "allowed": BANDS}
    columns["label"] = {"type": "int", "nullable": False, "min": 0, "max": 1}
    return {
        "data": {"datasets": {"events": {"path": "data/events.csv", "unique": ["id"], "columns": columns}}}
    }


def run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)


def measure(cmd: list[str], cwd: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd], cwd=cwd, capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    # a venv outside the repo with pandera, pandas and pyyaml (pandera is no mlci dependency)
    parser.add_argument("--pandera-python", default=os.environ.get("PANDERA_PYTHON", ""))
    parser.add_argument("--repeat", type=int, default=1, help="turns of every run: medians")
    parser.add_argument("--work", default="", help="keep the repo in this folder (reused when there)")
    args = parser.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="mlci-bench-data-"))
    repo = work / "repo"
    try:
        if not (repo / "mlci.yaml").is_file():
            base_sha = build_repo(work, args.rows)
        else:
            base_sha = (work / "base_sha").read_text().strip()
        size = (repo / "data" / "events.csv").stat().st_size / 2**20
        check = [
            sys.executable,
            "-m",
            "mlci",
            "data",
            "check",
            "--base",
            base_sha,
            "--format",
            "json",
            "--output",
            str(work / "r.json"),
        ]
        cache = repo / ".mlci"
        runs: dict[str, list[dict[str, float]]] = {}
        names = {
            "cold": "mlci data check --base, cold (base profiled)",
            "cached": "mlci data check --base, base profile cached",
            "head": "mlci data check (head only, no base)",
            "pandera": "pandera (lazy), same contract, head only, whole frame in memory",
        }
        for _ in range(args.repeat):
            shutil.rmtree(cache, ignore_errors=True)  # the profile cache: a cold run
            runs.setdefault("cold", []).append(measure(check, repo))
            runs.setdefault("cached", []).append(measure(check, repo))
            runs.setdefault("head", []).append(measure(check[:5] + check[7:], repo))
            if args.pandera_python and Path(args.pandera_python).exists():
                script = work / "pandera_check.py"
                script.write_text(PANDERA)
                cmd = [args.pandera_python, str(script), "data/events.csv", "mlci.yaml"]
                runs.setdefault("pandera", []).append(measure(cmd, repo))
        print(
            f"{args.rows + args.rows // 20:,} rows × 25 columns, CSV {size:.0f} MiB, {os.cpu_count()} CPUs, "
            f"load {os.getloadavg()[0]:.1f}, medians of {args.repeat}\n"
        )
        print(
            "| run | wall s | CPU s | peak RSS (MiB) | exit | wall s of each run |\n|---|--:|--:|--:|--:|---|"
        )
        for key, results in runs.items():
            wall = statistics.median(r["seconds"] for r in results)
            cpu = statistics.median(r["cpu"] for r in results)
            peak = max(r["peak_mib"] for r in results)
            each = ", ".join(f"{r['seconds']:.1f}" for r in results)
            print(f"| {names[key]} | {wall:.1f} | {cpu:.1f} | {peak:.0f} | {results[-1]['rc']} | {each} |")
            for r in results:
                if r["rc"] not in (0, 1):
                    print(r["err"], file=sys.stderr)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


def build_repo(work: Path, rows: int) -> str:
    """The git + DVC repo: the base commit, then the PR's commit. Returns the base's sha."""
    repo, remote = work / "repo", work / "remote"
    repo.mkdir(parents=True)
    dvc = [sys.executable, "-m", "dvc"]
    run(["git", "init", "-q", "-b", "main"], repo)
    run([*dvc, "init", "-q"], repo)
    run([*dvc, "remote", "add", "-d", "storage", str(remote)], repo)
    (repo / "data").mkdir()
    base = make_frame(rows, 1)
    base.to_csv(repo / "data" / "events.csv", index=False)
    (repo / "mlci.yaml").write_text(yaml.safe_dump(contract(base), sort_keys=False))
    (repo / "dvc.yaml").write_text("stages: {}\n")
    run([*dvc, "add", "-q", "data/events.csv"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "base"], repo)
    run([*dvc, "push", "-q"], repo)
    base_sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    extra = make_frame(rows // 20, 2)
    extra.loc[extra.index[:7], "x03"] = 999.0  # out of range: the contract must catch these
    pd.concat([base, extra], ignore_index=True).to_csv(repo / "data" / "events.csv", index=False)
    run([*dvc, "add", "-q", "data/events.csv"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "PR: more rows"], repo)
    (work / "base_sha").write_text(base_sha)
    return base_sha


if __name__ == "__main__":
    main()
