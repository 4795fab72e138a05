"""Run every benchmark in turn: `python bench/run_all.py [--quick]`.

The comparisons against other tools' own environments run when those are set up:
EVIDENTLY_PYTHON (a venv with evidently 0.7.23 and pandas < 3.1) and ENGINE_PYTHON (a venv with duckdb)
for monitoring, PANDERA_PYTHON (a venv with pandera) for data checks; docs/benchmarks.md says how to make them. Without them, mlci's side runs
alone and the script says what it skipped.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and smaller data")
    quick = parser.parse_args().quick
    runs: list[list[str]] = [
        ["bench_report.py", *(["--reps", "3", "--big", "500"] if quick else [])],
        ["bench_plots.py", *(["--reps", "3", "--points", "300"] if quick else [])],
        ["bench_experiments.py", *(["--reps", "3", "--counts", "10", "50"] if quick else [])],
        ["bench_train.py", *(["--reps", "2"] if quick else [])],
        ["bench_train_remote.py", *(["--reps", "2", "--files", "200"] if quick else [])],
        ["registry_tags.py", "100" if quick else "500"],
        ["bench_drift.py", "--rows", *(["50000"] if quick else ["200000", "1000000"])],
        ["bench_partitions.py", "--rows", *(["100000"] if quick else ["5000000", "20000000"])],
        [
            "bench_object_storage.py",
            *(["--rows", "400000", "--reps", "1"] if quick else ["--rows", "16000000", "--window", "4"]),
        ],
        ["bench_datacheck.py", "--rows", "100000" if quick else "1000000"],
    ]
    if not os.environ.get("EVIDENTLY_PYTHON"):  # bench_drift reads it itself
        print("EVIDENTLY_PYTHON not set: monitoring runs without the Evidently comparison")
    if not os.environ.get("ENGINE_PYTHON"):  # likewise
        print("ENGINE_PYTHON not set: monitoring runs without the DuckDB comparison")
    if not os.environ.get("PANDERA_PYTHON"):
        print("PANDERA_PYTHON not set: data checks run without the pandera comparison")
    failed = []
    for script, *args in runs:
        print(f"\n== {script} {' '.join(args)}", flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *args], check=False).returncode != 0:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
