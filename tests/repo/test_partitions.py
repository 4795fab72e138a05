"""Hive partition folders and `--where` (mlci.repo.partitions, through `open_data`): on generated local
trees, the files kept are the ones pyarrow's hive-partitioned dataset keeps for the same filter, and
the partition values become the rows' columns as pyarrow reads them."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from mlci.errors import MlciError
from mlci.repo.partitions import parse
from mlci.repo.tables import open_data

SCHEMA = pa.schema([("date", pa.string()), ("region", pa.string()), ("hour", pa.int32())])
DATES = [f"2026-11-{d:02d}" for d in (28, 29, 30)] + [f"2026-12-{d:02d}" for d in range(1, 8)]
REGIONS = ["eu", "us", "ap", "eu-west"]
HOURS = [0, 3, 9, 10, 23]


def tree(folder: Path, rng: random.Random) -> list[Path]:
    """A random subset of the date × region × hour partitions, each one small Parquet file."""
    files = []
    for date, region, hour in itertools.product(DATES, REGIONS, HOURS):
        if rng.random() < 0.35:
            path = folder / f"date={date}" / f"region={region}" / f"hour={hour}" / "part-0.parquet"
            path.parent.mkdir(parents=True)
            pq.write_table(pa.table({"x": [rng.random() for _ in range(3)]}), path)
            files.append(path)
    return files


def conditions(rng: random.Random) -> tuple[list[str], Any]:
    """1-3 random conditions: mlci's text and pyarrow's expression of the same filter."""
    made: list[tuple[str, Any]] = []
    for _ in range(rng.randint(1, 3)):
        column = rng.choice(["date", "region", "hour"])
        pool: list[Any] = {"date": DATES, "region": REGIONS, "hour": HOURS}[column]
        op = rng.choice(["==", "!=", "<", "<=", ">", ">=", "in", "not in"])
        field = ds.field(column)
        if op in ("in", "not in"):
            values = rng.sample(pool, rng.randint(1, 3))
            expression = field.isin(values)
            made.append(
                (
                    f"{column} {op} ({', '.join(map(str, values))})",
                    ~expression if op == "not in" else expression,
                )
            )
            continue
        value = rng.choice(pool)
        expression = {
            "==": field == value,
            "!=": field != value,
            "<": field < value,
            "<=": field <= value,
            ">": field > value,
            ">=": field >= value,
        }[op]
        made.append((f"{column} {op} {value}", expression))
    combined = made[0][1]
    for _, expression in made[1:]:
        combined = combined & expression
    return [text for text, _ in made], combined


def test_where_keeps_the_files_pyarrow_keeps_for_the_same_filter(tmp_path: Path) -> None:
    rng = random.Random(35)
    checked = 0
    for round_ in range(6):
        folder = tmp_path / f"t{round_}" / "events"
        files = tree(folder, rng)
        dataset = ds.dataset(str(folder), partitioning=ds.partitioning(SCHEMA, flavor="hive"))
        for _ in range(15):
            where, expression = conditions(rng)
            expected = [
                str(p) for p in sorted(Path(f.path) for f in dataset.get_fragments(filter=expression))
            ]
            if not expected:
                with pytest.raises(MlciError, match="keeps none"):
                    open_data(tmp_path, str(folder), where=where)
                continue
            with open_data(tmp_path, str(folder), where=where) as data:
                assert [str(p) for p in data.files] == expected, where
                assert data.describe()["where"] == where
            checked += 1
        assert files
    assert checked > 30


def test_partition_values_become_text_columns_as_pyarrow_reads_them(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    tree(folder, random.Random(7))
    string_schema = pa.schema([(f.name, pa.string()) for f in SCHEMA])
    want = ds.dataset(str(folder), partitioning=ds.partitioning(string_schema, flavor="hive"))
    expected = want.to_table(filter=ds.field("region") == "eu").sort_by(
        [("date", "ascending"), ("hour", "ascending")]
    )
    with open_data(tmp_path, f"{folder}/date=*/region=eu/", where=["region == eu"]) as data:
        got = pa.Table.from_batches(list(data.batches(chunk_rows=2)))
    assert got.schema.names == ["x", "date", "region", "hour"]
    assert sorted(got.column("x").to_pylist()) == sorted(expected.column("x").to_pylist())
    for name in ("date", "region", "hour"):
        assert sorted(got.column(name).to_pylist()) == sorted(expected.column(name).to_pylist())


def test_a_column_subset_asks_the_file_only_for_its_own_columns(tmp_path: Path) -> None:
    path = tmp_path / "events" / "date=2026-12-01" / "part.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"x": np.arange(5.0), "y": np.arange(5.0)}), path)
    with open_data(tmp_path, "events", cwd=tmp_path) as data:
        batch = next(data.batches(columns=["date", "x"]))
        plain = next(data.batches(columns=["y"]))
    assert batch.schema.names == ["x", "date"] and batch.column("date").to_pylist() == ["2026-12-01"] * 5
    assert plain.schema.names == ["y"]


@pytest.mark.parametrize(
    "text",
    [
        "date",
        "date >=",
        "date between 1 and 2",
        ">= 2026",
        "date in ()",
        "date in (a, )x",
        "1date == 2",
        "date == ''",
    ],
)
def test_bad_expressions_are_usage_errors_naming_the_grammar(text: str) -> None:
    with pytest.raises(MlciError) as raised:
        parse([text])
    assert repr(text) in raised.value.message
    assert "COLUMN OP VALUE" in (raised.value.hint or "")


def test_a_condition_on_no_partition_column_names_the_ones_there(tmp_path: Path) -> None:
    path = tmp_path / "events" / "date=2026-12-01" / "region=eu" / "part.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"x": [1.0]}), path)
    with pytest.raises(MlciError) as raised:
        open_data(tmp_path, "events", cwd=tmp_path, where=["x > 0"])
    assert "'x' is not a partition column" in raised.value.message
    assert "date, region" in raised.value.message


def test_quoted_values_and_numbers_compare_as_written(tmp_path: Path) -> None:
    for hour in (2, 10):
        path = tmp_path / "events" / f"hour={hour}" / "part.parquet"
        path.parent.mkdir(parents=True)
        pq.write_table(pa.table({"x": [float(hour)]}), path)
    with open_data(tmp_path, "events", cwd=tmp_path, where=["hour >= 3"]) as data:
        assert [Path(p).parent.name for p in data.files] == ["hour=10"]  # 10 >= 3 as numbers, not as text
    with open_data(tmp_path, "events", cwd=tmp_path, where=["hour == '2'"]) as data:
        assert [Path(p).parent.name for p in data.files] == ["hour=2"]


@pytest.mark.slow
def test_a_dvc_tracked_folder_is_filtered_before_dvc_fetches(tmp_path: Path) -> None:
    """The window's files come from the DVC remote; the others are gone from it (and from the cache), so
    a fetch of any of them would fail: only the window is fetched."""
    import hashlib
    import shutil

    from mlci.onboarding import example
    from mlci.repo.git import git

    root, store = tmp_path / "project", tmp_path / "store"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    example.dvc(root, "init", "-q")
    example.dvc(root, "remote", "add", "-d", "storage", str(store))
    files = tree(root / "events", random.Random(3))
    example.dvc(root, "add", "-q", "events")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "events")
    example.dvc(root, "push", "-q")
    window = [p for p in files if "date=2026-12-0" in p.as_posix() and "/region=eu/" in p.as_posix()]
    for path in files:
        if path not in window:
            digest = hashlib.md5(path.read_bytes()).hexdigest()  # DVC's content address
            (store / "files" / "md5" / digest[:2] / digest[2:]).unlink(missing_ok=True)
    shutil.rmtree(root / "events")
    shutil.rmtree(root / ".dvc" / "cache")
    where = ["date >= 2026-12-01", "region == eu"]
    with open_data(root, "events", rev="HEAD", where=where) as data:
        got = sorted(data.names)
        rows = sum(b.num_rows for b in data.batches())
        regions = {v for b in data.batches(columns=["region"]) for v in b.column("region").to_pylist()}
    assert got == sorted(p.relative_to(root).as_posix() for p in window)
    assert rows == 3 * len(window) and regions == {"eu"}
