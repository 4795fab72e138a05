"""Benchmark: `mlci monitor` against Evidently's DataDriftPreset on the same generated Parquet data.

    python bench/bench_drift.py --evidently-python "$EVIDENTLY_VENV/bin/python" --rows 200000 1000000 \
        --engine-python "$DUCKDB_VENV/bin/python" --repeat 5 --kinds

Data: 20 numeric + 5 categorical columns, 5 drifted (num00..num03, cat0), N rows per side.
Each tool runs in its own process; time is wall clock, memory is the process's peak RSS
(getrusage of a wrapper's only child). A second scenario ("misses") has no distribution drift but
a jump of missing values in num05 (0% → 20%) and a new category in cat3 (1.5% of rows).

Columns of the table, each a whole process:
- read: only reads both Parquet files (`pyarrow.parquet.read_table`): the floor;
- mlci cold / cached: `mlci monitor` building the reference profile / finding it cached;
- engine: a ~30-line DuckDB script computing the same per-column profiles (statistics, 99 quantile
  edges from a 50,000-row sample, counts in those bins on both sides, counts of each category);
- Evidently: DataDriftPreset (once per size: minutes at 1M rows).
With --repeat N the tools run in turn N times (A/B alternated, the machine's load shifts) and the
medians are printed. --kinds adds two runs of mlci on the same data plus one column: a timestamp
column, then a 50,000-value categorical column (the cost of each new column kind; both the same
distribution on both sides). --only-kinds skips the other tools.

Set up Evidently in its own venv, outside the repo (EVIDENTLY_VENV: any folder you choose):
    python3 -m venv "$EVIDENTLY_VENV"
    "$EVIDENTLY_VENV/bin/pip" install 'evidently==0.7.23' 'pandas<3.1' pyarrow
(--evidently-python defaults to $EVIDENTLY_PYTHON; without either, Evidently is skipped.)
DuckDB likewise (DUCKDB_VENV: any folder): "$DUCKDB_VENV/bin/pip" install 'duckdb==2.0.1' (or later) (--engine-python
defaults to $ENGINE_PYTHON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

NUMERIC = [f"num{i:02d}" for i in range(20)]
CATEGORICAL = [f"cat{i}" for i in range(5)]
DRIFTED = ["num00", "num01", "num02", "num03", "cat0"]
LEVELS = np.array(["alpha", "beta", "gamma", "delta"])
CHUNK = 100_000

# a wrapper whose only child is the measured tool: RUSAGE_CHILDREN is then that tool's peak RSS
WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
peak, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mib": peak, "rc": proc.returncode,
                  "stdout": proc.stdout[-20000:], "stderr": proc.stderr[-3000:]}))
"""

READ_ONLY = """
import sys, pyarrow.parquet as pq
rows = sum(pq.read_table(path).num_rows for path in sys.argv[1:])
print(rows)
"""

EVIDENTLY = """
import json, sys
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
result = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref).dict()
drifted = []
for metric in result["metrics"]:
    config = metric["config"]
    if config.get("type", "").endswith("ValueDrift"):
        p_value = "p_value" in metric["metric_name"]
        value, threshold = metric["value"], config["threshold"]
        if (value < threshold) if p_value else (value >= threshold):
            drifted.append(config["column"])
print(json.dumps(sorted(drifted)))
"""


ENGINE = """
import json, sys
import duckdb

ref, cur = sys.argv[1], sys.argv[2]
con = duckdb.connect()
schema = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{ref}')").fetchall()
times = {n for n, t, *_ in schema if t.startswith(("TIMESTAMP", "DATE"))}
nums = [n for n, t, *_ in schema if t in ("DOUBLE", "FLOAT", "BIGINT", "INTEGER") or n in times]
cats = [n for n, t, *_ in schema if t == "VARCHAR"]
levels = [i / 100 for i in range(1, 100)]
x = {c: f'epoch("{c}")' if c in times else f'"{c}"' for c in nums}
stats = {c: [f"count({x[c]})", f"avg({x[c]})", f"stddev_samp({x[c]})", f"min({x[c]})", f"max({x[c]})"] for c in nums}
# reference: each numeric column's statistics, and 99 quantile edges from a 50,000-row sample (as mlci)
row = con.execute(f"SELECT {', '.join(a for c in nums for a in stats[c])} FROM read_parquet('{ref}')").fetchone()
sample = f"(SELECT * FROM read_parquet('{ref}') USING SAMPLE 50000 ROWS (reservoir, 1))"
quantiles = con.execute(f"SELECT {', '.join(f'quantile_disc({x[c]}, {levels})' for c in nums)} FROM {sample}")
edges = {c: sorted(set(q)) for c, q in zip(nums, quantiles.fetchone())}
profiles = {"reference": {"stats": dict(zip(nums, (row[5 * i : 5 * i + 5] for i in range(len(nums)))))}}
# each side: counts in the reference's bins, count of each category (and the current side's statistics)
for side, path in (("reference", ref), ("current", cur)):
    aggs = ["count(*)", *(f"histogram({x[c]}, {edges[c]})" for c in nums), *(f'histogram("{c}")' for c in cats)]
    aggs += [a for c in nums for a in stats[c]] if side == "current" else []
    out = con.execute(f"SELECT {', '.join(aggs)} FROM read_parquet('{path}')").fetchone()
    profile = profiles.setdefault(side, {"stats": {}})
    profile["rows"] = out[0]
    profile["bins"] = {c: list(out[1 + i].values()) for i, c in enumerate(nums)}
    profile["categories"] = {c: len(out[1 + len(nums) + i]) for i, c in enumerate(cats)}
print(json.dumps({side: p["rows"] for side, p in profiles.items()}))
"""

EXTRA_KINDS = ("datetime", "categorical-50k")


def generate(
    path: Path, rows: int, seed: int, *, drift: bool = False, misses: bool = False, extra: str = ""
) -> None:
    """Write one side in chunks (bounded memory while generating 1M rows)."""
    rng = np.random.default_rng(seed)
    writer = None
    done = 0
    while done < rows:
        n = min(CHUNK, rows - done)
        columns = _chunk(rng, n, drift=drift, misses=misses)
        if extra == "datetime":  # event times over 30 days, to the microsecond
            start = np.datetime64("2026-01-01T00:00:00", "us")
            columns["event_time"] = start + rng.integers(0, 30 * 86_400 * 10**6, n).astype("timedelta64[us]")
        elif extra == "categorical-50k":  # a product id: 50,000 values, a few frequent, a long tail
            ids = np.empty(n, dtype=np.int64)  # every value in every 100,000 rows: none unseen
            ids[0::2] = np.arange((n + 1) // 2) * 7919 % 50_000
            ids[1::2] = rng.zipf(1.3, n // 2) % 50_000
            columns["product"] = np.char.add("p", ids.astype(str))
        table = pa.table(columns)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
        done += n
    assert writer is not None
    writer.close()


def _chunk(rng: np.random.Generator, n: int, *, drift: bool, misses: bool) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        scale = 1.0 + i
        if i % 3 == 0:
            columns[name] = rng.normal(10.0 * i, scale, n)
        elif i % 3 == 1:
            columns[name] = rng.lognormal(0.0, 0.5, n) * scale
        else:
            columns[name] = rng.integers(0, 20, n).astype(float)
    for name in CATEGORICAL:
        columns[name] = LEVELS[rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1])]
    if drift:
        columns["num00"] = columns["num00"] + 0.6
        columns["num01"] = columns["num01"] * 1.6
        columns["num02"] = rng.integers(5, 25, n).astype(float)
        columns["num03"] = rng.normal(30.0, 10.0, n)
        columns["cat0"] = LEVELS[rng.choice(4, n, p=[0.15, 0.25, 0.3, 0.3])]
    if misses:
        values = columns["num05"].copy()
        values[rng.random(n) < 0.2] = np.nan
        columns["num05"] = values
        cat = columns["cat3"].astype(object)
        cat[rng.random(n) < 0.015] = "brand-new"
        columns["cat3"] = cat.astype(str)
    return columns


def measure(command: list[str], cwd: Path | None = None) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command], capture_output=True, text=True, check=True, cwd=cwd
    )
    result: dict[str, Any] = json.loads(out.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"{command[:3]} failed:\n{result['stderr']}")
    return result


def mlci_project(work: Path) -> Path:
    """An empty git project: `mlci monitor --reference FILE` needs no model or DVC."""
    root = work / "project"
    root.mkdir(exist_ok=True)
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        (root / "mlci.yaml").write_text("monitor:\n  profile_dir: .mlci/profiles\n")
        subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
        subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@example.com",
                "commit",
                "-qm",
                "x",
            ],
            check=True,
        )
    return root


def run_engine(python: str, ref: Path, cur: Path) -> dict[str, Any]:
    result = measure([python, "-c", ENGINE, str(ref), str(cur)])
    result.pop("stdout")
    return result


def run_mlci(root: Path, ref: Path, cur: Path, cached: bool) -> dict[str, Any]:
    if not cached:
        for old in (root / ".mlci" / "profiles").glob("*.json"):
            old.unlink()
    out = root / "report.json"
    command = [
        "monitor",
        "--reference",
        str(ref),
        "--current",
        str(cur),
        "--format",
        "json",
        "--output",
        str(out),
    ]
    result = measure([sys.executable, "-m", "mlci", *command], cwd=root)
    result.pop("stdout")
    report = json.loads(out.read_text())
    result["drifted"] = report["dataset"]["drifted_columns"]
    return result


def run_evidently(python: str, ref: Path, cur: Path) -> dict[str, Any]:
    result = measure([python, "-c", EVIDENTLY, str(ref), str(cur)])
    result["drifted"] = json.loads(result.pop("stdout"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000])
    parser.add_argument(
        "--evidently-python",
        default=os.environ.get("EVIDENTLY_PYTHON", ""),
        help="python of a venv with evidently installed (default: $EVIDENTLY_PYTHON)",
    )
    parser.add_argument(
        "--engine-python",
        default=os.environ.get("ENGINE_PYTHON", ""),
        help="python of a venv with duckdb installed (default: $ENGINE_PYTHON)",
    )
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "mlci-bench-drift"))
    parser.add_argument(
        "--skip-evidently-above", type=int, default=10**9, help="rows above which Evidently is skipped"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each tool, alternated: medians")
    parser.add_argument("--kinds", action="store_true", help="also time a datetime and a 50k-value column")
    parser.add_argument("--no-misses", action="store_true", help="skip the misses scenario (big sizes)")
    parser.add_argument("--only-kinds", action="store_true", help="with --kinds: mlci runs only")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    root = mlci_project(work)
    results = []
    for rows in args.rows:
        ref, cur, odd = (work / f"{name}-{rows}.parquet" for name in ("reference", "current", "misses"))
        if not ref.exists():
            generate(ref, rows, seed=1)
            generate(cur, rows, seed=2, drift=True)
        if not args.no_misses and not odd.exists():
            generate(odd, rows, seed=3, misses=True)
        kinds = {}
        for extra in EXTRA_KINDS if args.kinds else ():
            pair = (work / f"reference-{rows}-{extra}.parquet", work / f"current-{rows}-{extra}.parquet")
            if not pair[0].exists():
                generate(pair[0], rows, seed=1, extra=extra)
                generate(pair[1], rows, seed=2, drift=True, extra=extra)
            kinds[extra] = pair
        runs: dict[str, list[dict[str, Any]]] = {}
        for i in range(args.repeat):
            if not args.only_kinds:
                read = measure([sys.executable, "-c", READ_ONLY, str(ref), str(cur)])
                read.pop("stdout")
                runs.setdefault("read", []).append(read)
            runs.setdefault("mlci", []).append(run_mlci(root, ref, cur, cached=False))
            if not args.only_kinds:
                runs.setdefault("mlci_cached", []).append(run_mlci(root, ref, cur, cached=True))
            for extra, (kref, kcur) in kinds.items():
                runs.setdefault(f"mlci+{extra}", []).append(run_mlci(root, kref, kcur, cached=False))
            if args.only_kinds:
                continue
            if args.engine_python:
                runs.setdefault("engine", []).append(run_engine(args.engine_python, ref, cur))
            if i == 0 and args.evidently_python and rows <= args.skip_evidently_above:
                runs["evidently"] = [run_evidently(args.evidently_python, ref, cur)]
        entry: dict[str, Any] = {"rows": rows, "expected": DRIFTED, "load": os.getloadavg()}
        entry.update({key: median(values) for key, values in runs.items()})
        if not args.no_misses:
            entry["mlci_misses"] = run_mlci(root, ref, odd, cached=True)
            if args.evidently_python and rows <= args.skip_evidently_above:
                entry["evidently_misses"] = run_evidently(args.evidently_python, ref, odd)
        results.append(entry)
        print(summary_line(entry), flush=True)
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}
    print(json.dumps({"machine": machine, "results": _strip(results)}, indent=1))
    print(markdown(results))


def median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median time of the runs, the highest peak memory, all the times, the last run's verdict."""
    out = dict(runs[-1])
    out["seconds"] = statistics.median(r["seconds"] for r in runs)
    out["cpu"] = statistics.median(r["cpu"] for r in runs)
    out["peak_mib"] = max(r["peak_mib"] for r in runs)
    out["runs"] = [round(r["seconds"], 2) for r in runs]
    return out


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| rows per side | read both | mlci cold | mlci cached | engine (DuckDB) | Evidently "
        "| cold / read | Evidently / cold | engine / cold |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]

    def cell(entry: dict[str, Any], key: str) -> str:
        r = entry.get(key)
        return f"{r['seconds']:.2f} s, {r['peak_mib']:.0f} MiB" if r else "–"

    def ratio(entry: dict[str, Any], a: str, b: str) -> str:
        x, y = entry.get(a), entry.get(b)
        return f"{x['seconds'] / y['seconds']:.2f}×" if x and y else "–"

    for e in results:
        keys = ("read", "mlci", "mlci_cached", "engine", "evidently")
        cells = " | ".join(cell(e, k) for k in keys)
        ratios = " | ".join(
            ratio(e, a, b) for a, b in (("mlci", "read"), ("evidently", "mlci"), ("engine", "mlci"))
        )
        lines.append(f"| {e['rows']:,} | {cells} | {ratios} |")
    for e in results:
        for extra in EXTRA_KINDS:
            if f"mlci+{extra}" in e:
                cpu = e[f"mlci+{extra}"]["cpu"] / e["mlci"]["cpu"]
                lines.append(
                    f"\n{e['rows']:,} rows, +1 {extra} column: {cell(e, f'mlci+{extra}')} "
                    f"({ratio(e, f'mlci+{extra}', 'mlci')} of the 25 columns' time, {cpu:.2f}× their CPU time)"
                )
    return "\n".join(lines)


def summary_line(entry: dict[str, Any]) -> str:
    parts = [f"rows={entry['rows']:,}"]
    if "read" in entry:
        parts.append(f"read {entry['read']['seconds']:.2f}s")
    for key in ("mlci", "mlci_cached", "engine", "evidently", *(f"mlci+{k}" for k in EXTRA_KINDS)):
        if key in entry:
            r = entry[key]
            if "drifted" not in r:
                parts.append(f"{key} {r['seconds']:.2f}s {r['peak_mib']:.0f}MiB")
                continue
            same = (
                "same columns" if r["drifted"] == sorted(DRIFTED) or r["drifted"] == DRIFTED else r["drifted"]
            )
            parts.append(f"{key} {r['seconds']:.2f}s {r['peak_mib']:.0f}MiB ({same})")
    for key in ("mlci_misses", "evidently_misses"):
        if key in entry:
            parts.append(f"{key}: {entry[key]['drifted']}")
    return " | ".join(parts)


def _strip(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            k: ({kk: vv for kk, vv in v.items() if kk != "stderr"} if isinstance(v, dict) else v)
            for k, v in e.items()
        }
        for e in results
    ]


if __name__ == "__main__":
    main()
