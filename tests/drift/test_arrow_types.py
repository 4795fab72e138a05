"""Every Arrow type is profiled or listed as not compared with its reason — never a crash: a table of
every type, written by pyarrow (Parquet, Spark's INT96 timestamps, CSV) and by pandas (Parquet, CSV), read
and by polars (Parquet, CSV: the types each library writes by default), read back by `mlci monitor`."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.testing.fixtures import run_cli

ROWS = 300
START = dt.datetime(2026, 1, 1)


def every_type(seed: int) -> pa.Table:
    """One column per Arrow type family: all timestamp units and time zones, dates, times, durations,
    decimals, dictionaries, large and viewed strings, binaries, booleans, nested lists, structs and maps."""
    rng = np.random.default_rng(seed)
    hours = [START + dt.timedelta(hours=int(h)) for h in rng.integers(0, 5000, ROWS)]
    words = rng.choice(["alpha", "beta", "gamma", "delta"], ROWS).tolist()
    columns: dict[str, pa.Array] = {}
    for unit in ("s", "ms", "us", "ns"):
        for tz in (None, "UTC", "America/New_York"):
            columns[f"ts_{unit}_{tz or 'naive'}"] = pa.array(hours, pa.timestamp(unit, tz))
    columns["date32"] = pa.array([h.date() for h in hours], pa.date32())
    columns["date64"] = pa.array([h.date() for h in hours], pa.date64())
    for kind in (pa.time32("s"), pa.time32("ms"), pa.time64("us"), pa.time64("ns")):
        columns[f"time_{kind}"] = pa.array([h.time() for h in hours], kind)
    seconds = rng.integers(0, 86_400, ROWS).tolist()
    for unit in ("s", "ms", "us", "ns"):
        columns[f"duration_{unit}"] = pa.array([dt.timedelta(seconds=s) for s in seconds], pa.duration(unit))
    cents = [decimal.Decimal(int(c)) / 100 for c in rng.integers(0, 10**6, ROWS)]
    columns["decimal128"] = pa.array(cents, pa.decimal128(38, 18))  # Spark's default precision
    columns["decimal256"] = pa.array(cents, pa.decimal256(50, 2))
    columns["uint64"] = pa.array(rng.integers(0, 2**63, ROWS).astype(np.uint64))
    columns["int64_big"] = pa.array(rng.integers(2**60, 2**62, ROWS))
    columns["float16"] = pa.array(rng.random(ROWS).astype(np.float16), pa.float16())
    columns["dictionary"] = pa.array(words).dictionary_encode()
    columns["large_string"] = pa.array(words, pa.large_string())
    if hasattr(pa, "string_view"):
        columns["string_view"] = pa.array(words, pa.string_view())
    columns["bool"] = pa.array(rng.random(ROWS) < 0.4)
    columns["binary"] = pa.array([w.encode() for w in words], pa.binary())
    columns["large_binary"] = pa.array([w.encode() for w in words], pa.large_binary())
    columns["list"] = pa.array([[int(x)] for x in rng.integers(0, 9, ROWS)])
    columns["struct"] = pa.array(
        [{"a": int(x), "b": w} for x, w in zip(rng.integers(0, 9, ROWS), words, strict=True)]
    )
    columns["map"] = pa.array([[(w, 1)] for w in words], pa.map_(pa.string(), pa.int64()))
    columns["interval"] = pa.array([pa.MonthDayNano([1, int(d), 0]) for d in rng.integers(0, 28, ROWS)])
    columns["null"] = pa.nulls(ROWS)
    return pa.table(columns)


def _kept(table: pa.Table, write: Callable[[pa.Table, Any], None]) -> pa.Table:
    """The columns this writer can hold (Parquet has no intervals, CSV no nested values, polars no
    decimal256 or map)."""
    import polars as pl

    refused = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError, ValueError)
    fits = []
    for name in table.column_names:
        try:
            write(table.select([name]).slice(0, 5), io.BytesIO())
        except (*refused, pl.exceptions.PolarsError, pl.exceptions.PanicException):
            continue
        fits.append(name)
    return table.select(fits)


def _pyarrow_parquet(table: pa.Table, path: Path) -> pa.Table:
    kept = _kept(table, pq.write_table)
    pq.write_table(kept, path)
    return kept


def _spark_parquet(table: pa.Table, path: Path) -> pa.Table:
    def write(t: pa.Table, where: Any) -> None:
        pq.write_table(t, where, use_deprecated_int96_timestamps=True)  # Spark's default for timestamps

    kept = _kept(table, write)
    write(kept, path)
    return kept


def _pyarrow_csv(table: pa.Table, path: Path) -> pa.Table:
    kept = _kept(table, pacsv.write_csv)
    pacsv.write_csv(kept, path)
    return kept


def _pandas_parquet(table: pa.Table, path: Path) -> pa.Table:
    def write(t: pa.Table, where: Any) -> None:
        t.to_pandas().to_parquet(where)

    kept = _kept(table, write)
    write(kept, path)
    return kept


def _pandas_csv(table: pa.Table, path: Path) -> pa.Table:
    kept = _kept(table, lambda t, where: t.to_pandas().to_csv(io.StringIO(), index=False))
    kept.to_pandas().to_csv(path, index=False)
    return kept


def _polars(table: pa.Table, write: Callable[[Any, Any], None], path: Path) -> pa.Table:
    import polars as pl

    def frame(t: pa.Table) -> Any:
        return pl.from_arrow(t)

    kept = _kept(table, lambda t, where: write(frame(t), where))
    write(frame(kept), path)
    return kept


def _polars_parquet(table: pa.Table, path: Path) -> pa.Table:
    return _polars(table, lambda frame, where: frame.write_parquet(where), path)


def _polars_csv(table: pa.Table, path: Path) -> pa.Table:
    return _polars(table, lambda frame, where: frame.write_csv(where), path)


WRITERS: dict[str, tuple[str, Callable[[pa.Table, Path], pa.Table]]] = {
    "pyarrow-parquet": (".parquet", _pyarrow_parquet),
    "spark-int96-parquet": (".parquet", _spark_parquet),
    "pyarrow-csv": (".csv", _pyarrow_csv),
    "pandas-parquet": (".parquet", _pandas_parquet),
    "pandas-csv": (".csv", _pandas_csv),
    "polars-parquet": (".parquet", _polars_parquet),
    "polars-csv": (".csv", _polars_csv),
}
# compared whatever wrote them: numbers, times, text (binary and nested kinds may come back as text from CSV)
COMPARED = {"ts_", "date", "time_", "duration_", "decimal", "uint64", "int64_big", "float16", "dictionary"}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_every_arrow_type_is_profiled_or_listed_with_its_reason(tmp_path: Path, writer: str) -> None:
    suffix, write = WRITERS[writer]
    written = write(every_type(1), tmp_path / f"ref{suffix}")
    write(every_type(2), tmp_path / f"cur{suffix}")
    proc = run_cli(
        "monitor",
        "--reference",
        f"ref{suffix}",
        "--current",
        f"cur{suffix}",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    columns = {c["name"]: c for c in report["columns"]}
    assert set(written.column_names) <= set(columns), set(written.column_names) - set(columns)
    for name in written.column_names:
        column = columns[name]
        if column["test"] in ("ignored", "none"):
            assert column["notes"], f"{writer}: {name} not compared and no reason given"
        if (name.startswith(tuple(COMPARED)) and writer != "pandas-csv") or name.startswith("ts_"):
            assert column["test"] not in ("ignored", "none"), (writer, name, column["notes"])
        assert not column["drifted"], (writer, name, column["reasons"])  # the same distribution


def test_every_arrow_type_in_memory_including_those_no_file_holds() -> None:
    """Batches straight from Arrow (a Flight or Spark feed): intervals and views too."""
    from mlci.drift.engine import compare
    from mlci.drift.profile import ProfileSettings, build_current, build_reference

    ref, cur = every_type(3), every_type(4)
    reference = build_reference(lambda: ref.to_batches(100), ProfileSettings())
    result = compare(reference, build_current(cur.to_batches(100), reference))
    by_name = {c.name: c for c in result.columns}
    assert set(by_name) == set(ref.column_names) and not result.drifted_columns()
    not_compared = {n for n, c in by_name.items() if c.test == "ignored"}
    assert not_compared == {"binary", "large_binary", "list", "struct", "map", "interval", "null"}
    assert all(by_name[n].notes for n in not_compared)
    assert "flatten them" in by_name["struct"].notes[0] and "no one unit" in by_name["interval"].notes[0]
