"""Benchmark: false alarms and detection, mlci against Evidently's DataDriftPreset on the same pairs.

    PYTHONPATH=src:. python bench/bench_drift_calibration.py --pairs 20 --runs 20 \
        --evidently-python "$EVIDENTLY_PYTHON"

The pairs are the calibration suite's (`tests/testing/drift_families.py`, seeded): same-distribution
(reference, current) tables with one column per family (continuous, discrete, low- and high-cardinality
categorical, Zipf and all-unique ids, boolean, an hourly time index, random event times, constant,
mostly missing), and one-column shifts beside two unchanged columns (mean 0.1–0.5 std, scale ×1.5, 5 %
new category, proportions moved, +10 % missing, a feature going dark). Each pair is written to Parquet
in a temporary folder; mlci profiles and compares what its reader reads; Evidently 0.7.23's
DataDriftPreset (in its own venv: docs/benchmarks.md, "Installing Evidently") reads the same files in
one process for all pairs. Printed: per family the share of same-distribution pairs where the column was
flagged, per run the share where retraining would be asked (mlci: `dataset_drift`; Evidently: its
preset's dataset drift, half the columns), and per shift the share of runs that caught it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

SIZES = [(300, 300), (1000, 1000), (10_000, 2_000)]

EVIDENTLY = """
import json, sys
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
for line in sys.stdin:
    ref_path, cur_path = json.loads(line)
    try:
        ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
        result = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref).dict()
    except Exception as exc:
        print(json.dumps({"error": type(exc).__name__ + ": " + str(exc)[:200]}), flush=True)
        continue
    drifted, compared = [], 0
    for metric in result["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            compared += 1
            p_value = "p_value" in metric["metric_name"]
            value, threshold = metric["value"], config["threshold"]
            if (value < threshold) if p_value else (value >= threshold):
                drifted.append(config["column"])
    print(json.dumps({"drifted": sorted(drifted), "compared": compared}), flush=True)
"""


def mlci_drift(ref: Path, cur: Path) -> dict[str, Any]:
    from mlci.drift.engine import compare
    from mlci.drift.profile import ProfileSettings, build_current, build_reference
    from mlci.repo.tables import read_batches

    reference = build_reference(lambda: read_batches(ref, 200_000), ProfileSettings())
    result = compare(reference, build_current(read_batches(cur, 200_000), reference))
    return {"drifted": result.drifted_columns(), "retrain": result.dataset_drift}


def evidently_drift(python: str, pairs: list[tuple[Path, Path]]) -> list[dict[str, Any]]:
    lines = "".join(json.dumps([str(a), str(b)]) + "\n" for a, b in pairs)
    proc = subprocess.run([python, "-c", EVIDENTLY], input=lines, capture_output=True, text=True, check=True)
    answers = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    for answer in answers:
        if "drifted" in answer:
            answer["retrain"] = len(answer["drifted"]) >= 0.5 * max(answer["compared"], 1)
    return answers


def write_pairs(folder: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    from tests.testing import drift_families as families

    cases: list[dict[str, Any]] = []
    for rows, current_rows in SIZES:
        for seed in range(args.pairs):
            cases.append(
                {"kind": "same", "rows": rows, "tables": families.same(rows, current_rows, 100 + seed)}
            )
        for shift in families.SHIFTS:
            for seed in range(args.runs):
                tables = families.shifted(shift, rows, current_rows, 200 + seed)
                cases.append({"kind": shift, "rows": rows, "tables": tables})
    for i, case in enumerate(cases):
        ref, cur = case.pop("tables")
        case["paths"] = (folder / f"{i}-ref.parquet", folder / f"{i}-cur.parquet")
        pq.write_table(ref, case["paths"][0])
        pq.write_table(cur, case["paths"][1])
    return cases


def tally(cases: list[dict[str, Any]], tool: str) -> dict[str, Any]:
    from tests.testing import drift_families as families

    out: dict[str, Any] = {}
    for rows, _ in SIZES:
        same = [c[tool] for c in cases if c["kind"] == "same" and c["rows"] == rows and tool in c]
        ok = [s for s in same if "drifted" in s]
        flags = {f: sum(f in s["drifted"] for s in ok) / max(len(ok), 1) for f in families.FAMILIES}
        out[f"same/{rows}"] = {
            "pairs": len(same),
            "errors": len(same) - len(ok),
            "column_false_alarms": flags,
            "run_false_alarms": sum(s["retrain"] for s in ok) / max(len(ok), 1),
        }
        for shift in families.SHIFTS:
            runs = [c[tool] for c in cases if c["kind"] == shift and c["rows"] == rows and tool in c]
            ok = [r for r in runs if "drifted" in r]
            out[f"{shift}/{rows}"] = {
                "runs": len(runs),
                "errors": len(runs) - len(ok),
                "caught": sum("x" in r["drifted"] for r in ok),
                "others_flagged": sum(len([c for c in r["drifted"] if c != "x"]) for r in ok),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=20, help="same-distribution pairs per size")
    parser.add_argument("--runs", type=int, default=20, help="runs per shift and size")
    parser.add_argument("--evidently-python", default=os.environ.get("EVIDENTLY_PYTHON", ""))
    parser.add_argument("--json", type=Path, help="also write the tallies here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlci-calibration-") as tmp:
        cases = write_pairs(Path(tmp), args)
        for case in cases:
            case["mlci"] = mlci_drift(*case["paths"])
        if args.evidently_python:
            for case, answer in zip(
                cases, evidently_drift(args.evidently_python, [c["paths"] for c in cases]), strict=True
            ):
                case["evidently"] = answer
    tallies = {"mlci": tally(cases, "mlci")}
    if args.evidently_python:
        tallies["evidently"] = tally(cases, "evidently")
    print_tables(tallies)
    if args.json:
        args.json.write_text(json.dumps(tallies, indent=2))


def print_tables(tallies: dict[str, Any]) -> None:
    from tests.testing import drift_families as families

    tools = list(tallies)
    mlci = tallies["mlci"]
    print("| same distribution | rows | " + " | ".join(f"{t} false alarms" for t in tools) + " |")
    print("|---|--:|" + "--:|" * len(tools))
    for rows, _ in SIZES:
        for family in [*families.FAMILIES, "(retraining needed, per run)"]:
            cells = []
            for tool in tools:
                entry = tallies[tool][f"same/{rows}"]
                rate = (
                    entry["run_false_alarms"]
                    if family.startswith("(")
                    else entry["column_false_alarms"][family]
                )
                errors = f" ({entry['errors']} errors)" if entry["errors"] else ""
                cells.append(f"{rate:.0%}{errors}")
            print(f"| {family} | {rows:,} | " + " | ".join(cells) + " |")
    print()
    print("| shift | rows a side | " + " | ".join(f"{t} caught" for t in tools) + " |")
    print("|---|--:|" + "--:|" * len(tools))
    for rows, _ in SIZES:
        for shift in families.SHIFTS:
            cells = []
            for tool in tools:
                entry = tallies[tool][f"{shift}/{rows}"]
                errors = f" ({entry['errors']} errors)" if entry["errors"] else ""
                cells.append(f"{entry['caught']} of {entry['runs']}{errors}")
            print(f"| {shift} | {rows:,} | " + " | ".join(cells) + " |")
    del mlci


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
