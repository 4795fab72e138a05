"""The Spark recipe (docs/monitor.md, "On Spark"): partition profiles written by `mlci.monitor.spark` on
PySpark in local mode, decided by `mlci monitor --profiles`, give the verdict and the per-column numbers of
one `mlci monitor --current` over the same files.

Real PySpark (the test extra) on a local JVM: `local[2]`, the UI off, bound to 127.0.0.1. The data is
generated: several Parquet files of several row groups, drift in some columns and not in others, types
Spark hands over differently from pyarrow (a `timestamp[ms]`, a `uint32`, a dictionary), and a time index
ascending across the files, whose statistics depend on the order the rows are read in.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import runpy
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlci.errors import MlciError
from tests.testing.fixtures import run_cli

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.skipif(
        shutil.which("java") is None,
        reason="PySpark needs a Java runtime and `java` is not on PATH (.ci/run installs default-jre-headless)",
    ),
]

EXAMPLE = Path(__file__).parents[2] / "examples" / "spark" / "monitor_spark.py"
ROWS, FILES = 12_000, 3


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One local Spark session for the module (a JVM start takes seconds)."""
    from pyspark.sql import SparkSession

    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYSPARK_PYTHON", sys.executable)  # the executors' Python: this one, with mlci
        env.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        session = (
            SparkSession.builder.master("local[2]")
            .appName("mlci-test")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.memory", "512m")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.session.timeZone", "Europe/Oslo")  # not UTC: timestamps must not move
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        yield session
        session.stop()


def _table(rng: np.random.Generator, drift: bool, offset: int) -> pa.Table:
    """`ROWS` rows; with `drift`, `moved`, `colour`, `seen_at` and the time index's spacing change."""
    n = ROWS
    minutes = rng.integers(0, 60 * 24 * 30, n)
    seen = [dt.datetime(2026, 1, 8 if drift else 1) + dt.timedelta(minutes=int(m)) for m in minutes]
    stable = rng.normal(10, 2, n)
    stable[rng.random(n) < 0.05] = np.nan
    weights = [0.1, 0.2, 0.3, 0.4] if drift else [0.4, 0.3, 0.2, 0.1]
    step, start = (2, dt.datetime(2026, 3, 1)) if drift else (1, dt.datetime(2026, 1, 1))
    return pa.table(
        {
            "moved": rng.normal(0.6 if drift else 0.0, 1, n),
            "stable": pa.array(stable, from_pandas=True),
            "colour": pa.array(
                rng.choice(["red", "green", "blue", "amber"], n, p=weights)
            ).dictionary_encode(),
            "city": pa.array(rng.choice(["oslo", "rome", "lima"], n)),
            "seen_at": pa.array(seen, pa.timestamp("ms")),
            "clicks": pa.array(rng.integers(0, 50, n), pa.uint32()),
            "score": pa.array(rng.normal(0.5, 0.1, n), pa.float32()),
            "active": pa.array(rng.random(n) < 0.5),
            "paid_at": pa.array(seen, pa.timestamp("ms", tz="UTC")),  # the session's time zone is not UTC
            "day": pa.array([s.date() for s in seen], pa.date32()),
            "price": pa.array([round(float(v), 2) for v in rng.gamma(2, 10, n)]).cast(pa.decimal128(10, 2)),
            "note": pa.array([None if m % 7 == 0 else f"n{m % 5}" for m in minutes.tolist()]),
            "event_time": pa.array(
                [start + dt.timedelta(seconds=(offset + k) * step) for k in range(n)], pa.timestamp("ms")
            ),
        }
    )


def _write(folder: Path, seed: int, drift: bool) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(FILES):
        pq.write_table(_table(rng, drift, i * ROWS), folder / f"part-{i}.parquet", row_group_size=ROWS // 4)
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The files, the saved reference profile, and one process's report (`mlci monitor --current`)."""
    root = tmp_path_factory.mktemp("spark")
    _write(root / "reference", 35, drift=False)
    _write(root / "current", 36, drift=True)
    args = ["--current", "current", "--reference", "reference", "--save-profile", "ref.json"]
    return root, _monitor(root, "single.json", *args)


def _monitor(root: Path, output: str, *args: str) -> dict[str, Any]:
    proc = run_cli("monitor", *args, "--format", "json", "--output", output, cwd=root)
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads((root / output).read_text())
    return report


def _assert_same_decision(single: dict[str, Any], spark: dict[str, Any]) -> None:
    for key in ("drift_detected", "retrain_needed"):
        assert spark[key] == single[key], key
    assert spark["dataset"]["drifted_columns"] == single["dataset"]["drifted_columns"]
    assert spark["reference"]["rows"] == single["reference"]["rows"]
    columns = {c["name"]: c for c in spark["columns"]}
    assert list(columns) == [c["name"] for c in single["columns"]]
    for one in single["columns"]:
        other = columns[one["name"]]
        for key in ("kind", "drifted", "reasons", "test", "column_class"):
            assert other.get(key) == one.get(key), (one["name"], key)
        assert set(other["stats"]) == set(one["stats"]), one["name"]
        for stat, value in one["stats"].items():
            _assert_close(other["stats"][stat], value, f"{one['name']}.{stat}")


def _assert_close(got: Any, want: Any, where: str) -> None:
    if isinstance(want, float) and isinstance(got, (int, float)):
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), (where, got, want)
    else:
        assert got == want, (where, got, want)


def _decide(root: Path, parts: str, output: str) -> dict[str, Any]:
    args = ["--profiles", f"{parts}/*.json", "--reference-profile", "ref.json"]
    return _monitor(root, output, *args)


def test_spark_recipe_decides_as_one_process(spark: Any, data: tuple[Path, dict[str, Any]]) -> None:
    """Files split over more Spark tasks than files, packed by size, under a filter: same verdict, same
    numbers."""
    from mlci.monitor.spark import profile_partitions

    root, single = data
    assert single["drift_detected"] and 0 < len(single["dataset"]["drifted_columns"]) < len(single["columns"])
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(64 * 1024))  # files split at row groups
    try:
        every_row = "stable IS NULL OR stable > -1e9"  # a filter keeps the files' order; selects all
        df = spark.read.parquet(str(root / "current")).where(every_row)
        assert df.rdd.getNumPartitions() > FILES
        paths = profile_partitions(df, root / "ref.json", root / "parts")
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    documents = [json.loads(p.read_text()) for p in paths]
    assert [d["partition"]["index"] for d in documents] == list(range(1, len(paths) + 1))
    assert sum(d["data"]["rows"] for d in documents) == FILES * ROWS
    report = _decide(root, "parts", "spark.json")
    _assert_same_decision(single, report)
    index = next(c for c in report["columns"] if c["name"] == "event_time")
    assert index.get("column_class") == "time-index" and index["drifted"]  # the order held across splits


def test_example_script_writes_the_profiles(spark: Any, data: tuple[Path, dict[str, Any]]) -> None:
    """examples/spark/monitor_spark.py as spark-submit runs it (it reuses this session)."""
    root, single = data
    argv = [str(EXAMPLE), str(root / "current"), "--reference-profile", str(root / "ref.json"), "--out"]
    code = _run_example([*argv, str(root / "script-parts")])
    assert code == 0
    assert list((root / "script-parts").glob("part-*-of-*.json"))
    _assert_same_decision(single, _decide(root, "script-parts", "script.json"))
    assert _run_example([*argv, str(root / "script-parts")]) == 2  # the folder holds profiles: refused
    assert _run_example([*argv, str(root / "churn-parts"), "--model", "churn"]) == 0
    args = ["--profiles", "churn-parts/*.json", "--reference-profile", "ref.json"]
    proc = run_cli("monitor", *args, cwd=root)  # decided for no model: the profiles say churn
    assert proc.returncode == 2 and "'churn'" in proc.stderr, proc.stderr


def _run_example(argv: list[str]) -> int:
    old = sys.argv
    sys.argv = argv
    try:
        runpy.run_path(str(EXAMPLE), run_name="__main__")
    except SystemExit as exit_:
        return int(exit_.code or 0)
    finally:
        sys.argv = old
    raise AssertionError("the example did not exit")


def test_a_shuffled_dataframe_still_decides(spark: Any, data: tuple[Path, dict[str, Any]]) -> None:
    """No `_metadata` after a shuffle: one profile per task, empty tasks included; the columns whose
    numbers do not depend on row order decide as one process does."""
    from mlci.monitor.spark import profile_partitions

    root, single = data
    df = spark.read.parquet(str(root / "current")).repartition(40)  # more tasks than needed: some empty
    paths = profile_partitions(df, root / "ref.json", root / "shuffled")
    assert 0 < len(paths) <= 40
    report = _decide(root, "shuffled", "shuffled.json")
    ordered = {c["name"]: c for c in single["columns"]}
    for column in report["columns"]:
        if column["name"] != "event_time":  # a time index's steps follow the row order
            assert column["drifted"] == ordered[column["name"]]["drifted"], column["name"]
            for stat in ("ks_statistic", "psi", "wasserstein"):
                if stat in ordered[column["name"]]["stats"]:
                    _assert_close(column["stats"][stat], ordered[column["name"]]["stats"][stat], stat)


def test_refuses_a_missing_or_foreign_reference_or_a_used_folder(
    spark: Any, data: tuple[Path, dict[str, Any]]
) -> None:
    from mlci.monitor.spark import profile_partitions

    root, _ = data
    df = spark.read.parquet(str(root / "current"))
    with pytest.raises(MlciError, match=r"gone\.json not found"):
        profile_partitions(df, root / "gone.json", root / "unused")
    (root / "foreign.json").write_text('{"rows": 3}')
    with pytest.raises(MlciError, match="not an mlci reference profile"):
        profile_partitions(df, root / "foreign.json", root / "unused")
    (root / "used").mkdir()
    (root / "used" / "part-00001-of-00001.json").write_text("{}")
    with pytest.raises(MlciError, match="already holds profiles"):
        profile_partitions(df, root / "ref.json", root / "used")
    in_memory = spark.createDataFrame([(1.0,), (2.0,)], "moved double")  # no file to read types from
    with pytest.raises(MlciError, match="reads no file"):
        profile_partitions(in_memory, root / "ref.json", root / "unused")
    assert not (root / "unused").exists()
