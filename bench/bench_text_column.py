"""The 50,000-value text column of bench_drift.py alone: its reference and current profiles in one
process, CPU time (`time.process_time`, the reading threads included), median of N runs.

    PYTHONPATH=src python bench/bench_text_column.py --rows 1000000 --repeat 5

Steadier than whole-process wall clock on a shared machine; run it from two checkouts in turn (A/B)
to compare code. The files are written once under --work (the same generator as bench_drift.py).
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_drift

from mlci.drift.profile import ProfileSettings, build_current, build_reference
from mlci.repo.tables import read_batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per side")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "mlci-bench-text-column"))
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    ref, cur = work / f"reference-{args.rows}.parquet", work / f"current-{args.rows}.parquet"
    if not ref.exists():
        bench_drift.generate(ref, args.rows, seed=1, extra="categorical-50k")
        bench_drift.generate(cur, args.rows, seed=2, extra="categorical-50k")
    chunk = 200_000  # monitor.chunk_rows' default
    # the second pass over the numeric columns only, where this checkout's build_reference has it
    extra: dict[str, Any] = {}
    if "binned" in inspect.signature(build_reference).parameters:
        extra["binned"] = lambda columns: read_batches(ref, chunk, columns, dictionary=True)

    def once() -> float:
        start = time.process_time()
        reference = build_reference(
            lambda: read_batches(ref, chunk, ["product"], dictionary=True), ProfileSettings(), **extra
        )
        build_current(read_batches(cur, chunk, ["product"], dictionary=True), reference)
        return time.process_time() - start

    once()  # imports and first-touch costs out of the measurement
    times = [once() for _ in range(args.repeat)]
    print(f"{args.rows:,} rows per side: median {statistics.median(times):.3f} CPU s, runs {times}")


if __name__ == "__main__":
    main()
