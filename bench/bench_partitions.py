"""Benchmark: monitoring in one process vs in N shares (`mlci profile` + `mlci monitor --profiles`),
and the one process vs a DuckDB script computing the same histograms.

    python bench/bench_partitions.py --rows 5000000 20000000 --partitions 4 \
        --engine-python "$DUCKDB_VENV/bin/python"

Data: bench_drift.py's (20 numeric + 5 categorical columns, 5 of them drifted), N rows per side, each
side written as 8 Parquet files. Every measurement is a whole process (wall clock, peak RSS of the
process: getrusage of a wrapper's only child), run one after another:
- one process: `mlci monitor --reference REF/ --current CUR/` (cold: builds the reference profile), then
  the same again with the reference profile cached;
- reference: `mlci monitor --reference REF/ --save-profile ref.json` on a 1,000-row current file, once;
- shares: `mlci profile --current CUR/ --partition K/N --reference-profile ref.json`, each share's time and
  peak memory (in a matrix they run at the same time on N runners);
- decide: `mlci monitor --profiles 'parts/*.json' --reference-profile ref.json` (reads no data);
- engine: bench_drift.py's DuckDB script over both folders (statistics, 99 quantile edges from a
  50,000-row sample, counts in those bins on both sides, counts of each category).
The shares' report must equal the one process's (every number within 1e-9 relative): the script stops
otherwise. DuckDB in its own venv (DUCKDB_VENV: any folder): "$DUCKDB_VENV/bin/pip" install duckdb;
--engine-python defaults to $ENGINE_PYTHON; without either the engine is skipped.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_drift import ENGINE, generate, measure, mlci_project

FILES = 8


def write_side(folder: Path, rows: int, seed: int, *, drift: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    per = rows // FILES
    for i in range(FILES):
        n = per if i < FILES - 1 else rows - per * (FILES - 1)
        generate(folder / f"part-{i:03d}.parquet", n, seed * 100 + i, drift=drift)


def mlci(root: Path, *args: str) -> dict[str, Any]:
    result = measure([sys.executable, "-m", "mlci", *args], cwd=root)
    result.pop("stdout")
    return result


def one_size(work: Path, rows: int, partitions: int, engine: str | None) -> dict[str, Any]:
    ref, cur = work / f"ref-{rows}", work / f"cur-{rows}"
    if not cur.is_dir():
        write_side(ref, rows, 1, drift=False)
        write_side(cur, rows, 2, drift=True)
    root = mlci_project(work)
    for old in (root / ".mlci" / "profiles").glob("*.json"):
        old.unlink()
    out: dict[str, Any] = {"rows": rows, "partitions": partitions}
    single = work / "single.json"
    out["single"] = mlci(root, "monitor", "--reference", str(ref), "--current", str(cur), "--format", "json",
                         "--output", str(single))  # fmt: skip
    # the same again, the reference profile found in the cache (a scheduled run on an unchanged version)
    out["single_cached"] = mlci(root, "monitor", "--reference", str(ref), "--current", str(cur), "--format",
                                "json", "--output", str(single))  # fmt: skip
    tiny = work / "tiny.parquet"
    pq.write_table(pq.read_table(cur / "part-000.parquet").slice(0, 1000), tiny)
    saved = work / "ref.json"
    for old in (root / ".mlci" / "profiles").glob("*.json"):
        old.unlink()
    out["reference"] = mlci(root, "monitor", "--reference", str(ref), "--current", str(tiny), "--format", "json",
                            "--save-profile", str(saved))  # fmt: skip
    parts = work / f"parts-{rows}"
    parts.mkdir(exist_ok=True)
    share = ["profile", "--current", str(cur), "--reference-profile", str(saved), "--partition"]
    out["shares"] = [
        mlci(root, *share, f"{k}/{partitions}", "--output", str(parts / f"part-{k}.json"))
        for k in range(1, partitions + 1)
    ]
    merged = work / "merged.json"
    out["decide"] = mlci(root, "monitor", "--profiles", str(parts / "*.json"), "--reference-profile", str(saved),
                         "--format", "json", "--output", str(merged))  # fmt: skip
    a, b = json.loads(single.read_text()), json.loads(merged.read_text())
    check_same(without(a), without(b))
    out["drifted"] = b["dataset"]["drifted_columns"]
    if engine:
        out["engine"] = measure([engine, "-c", ENGINE, f"{ref}/*.parquet", f"{cur}/*.parquet"])
        out["engine"].pop("stdout")
    return out


def without(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in ("generated_at", "reference", "notes")}


def check_same(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            check_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            check_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| rows per side | 1 process | 1 process, reference cached | reference, once | each of N shares "
        "(time, peak) | decide (merge) | DuckDB script | DuckDB ÷ 1 process | same report |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|:--|",
    ]
    for r in results:
        shares = r["shares"]
        each = ", ".join(f"{s['seconds']:.1f} s" for s in shares)
        peak = max(s["peak_mib"] for s in shares)
        engine = r.get("engine")
        lines.append(
            f"| {r['rows']:,} | {_cell(r['single'])} | {_cell(r['single_cached'])} | {_cell(r['reference'])} | {each}; ≤ {peak:.0f} MiB "
            f"| {_cell(r['decide'])} | {_cell(engine) if engine else '–'} "
            f"| {engine['seconds'] / r['single']['seconds']:.2f}× | yes |"
            if engine
            else f"| {r['rows']:,} | {_cell(r['single'])} | {_cell(r['single_cached'])} | {_cell(r['reference'])} | {each}; ≤ {peak:.0f} MiB "
            f"| {_cell(r['decide'])} | – | – | yes |"
        )
    return "\n".join(lines)


def _cell(m: dict[str, Any]) -> str:
    return f"{m['seconds']:.1f} s, {m['peak_mib']:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--engine-python", default=os.environ.get("ENGINE_PYTHON"))
    parser.add_argument(
        "--work", default="", help="keep the generated data here (default: a temporary folder)"
    )
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = [one_size(work, rows, args.partitions, args.engine_python) for rows in args.rows]
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.1f} at start")
    print(json.dumps(results, indent=1, default=str)[:4000])
    print(markdown(results))


if __name__ == "__main__":
    main()
