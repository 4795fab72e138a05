"""Production feeds have timestamps and columns mlci cannot compare: neither may crash `mlci monitor`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlci.repo.git import git
from tests.testing.fixtures import run_cli


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    git(
        tmp_path,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    return tmp_path


def _frame(seed: int, days_later: int, rows: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-03-01") + pd.Timedelta(days=days_later)
    return pd.DataFrame(
        {
            "amount": rng.normal(50, 10, rows),
            "event_time": start + pd.to_timedelta(rng.integers(0, 7 * 24 * 3600, rows), unit="s"),
            "event_date": (start + pd.to_timedelta(rng.integers(0, 7, rows), unit="D")).date,
            "payload": [b"\x00\x01"] * rows,  # binary: a kind mlci does not compare
        }
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("output", ["markdown", "json"])
def test_dates_and_timestamps_are_compared_and_never_crash(folder: Path, fmt: str, output: str) -> None:
    frames = {
        "ref": _frame(1, 0),
        "same": _frame(2, 0),
        "later": _frame(3, 60),
        "busier": _frame(4, 60, 1800),
    }
    for name, frame in frames.items():
        if fmt == "csv":
            frame.drop(columns="payload").to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet")

    def drifted(current: str) -> list[str]:
        proc = run_cli(
            "monitor",
            "--reference",
            f"ref.{fmt}",
            "--current",
            f"{current}.{fmt}",
            "--format",
            "json",
            cwd=folder,
        )
        assert proc.returncode == 0, proc.stderr
        return list(json.loads(proc.stdout)["dataset"]["drifted_columns"])

    rendered = run_cli(
        "monitor", "--reference", f"ref.{fmt}", "--current", f"later.{fmt}", "--format", output, cwd=folder
    )
    assert rendered.returncode == 0, rendered.stderr
    assert "event_time" in rendered.stdout
    assert drifted("same") == []  # a sample of the same week is not drift
    # two months later at the same rate is not either: a time index is judged on rate, steps and gaps
    assert drifted("later") == []
    assert set(drifted("busier")) == {"event_time", "event_date"}  # three times the rows per day is


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("dark", ["current", "reference"])
def test_a_feed_that_goes_dark_is_missing_values_not_a_crash_or_a_type_change(
    folder: Path, fmt: str, dark: str
) -> None:
    """A column entirely empty on one side: 'missing values 0.0% → 100.0%' (or back), drifted."""
    rng = np.random.default_rng(7)
    full = pd.DataFrame({"amount": rng.normal(0, 1, 400), "channel": rng.choice(["web", "app"], 400)})
    empty = full.copy()
    empty["amount"] = np.nan
    empty["channel"] = None
    sides = (
        {"reference": full, "current": empty} if dark == "current" else {"reference": empty, "current": full}
    )
    for side, frame in sides.items():
        if fmt == "csv":
            frame.to_csv(folder / f"{side}.{fmt}", index=False)
        else:
            frame.to_parquet(folder / f"{side}.{fmt}")

    proc = run_cli(
        "monitor",
        "--reference",
        f"reference.{fmt}",
        "--current",
        f"current.{fmt}",
        "--format",
        "json",
        cwd=folder,
    )

    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["schema"]["changed"] == []
    arrow = "0.0% → 100.0%" if dark == "current" else "100.0% → 0.0%"
    for column in report["columns"]:
        assert column["drifted"], column
        assert column["reasons"] == [f"missing values {arrow}"], column["reasons"]


@pytest.mark.parametrize("share", [0.05, 0.01])
def test_a_constant_column_that_starts_to_vary_is_drift_whatever_the_share(
    folder: Path, share: float
) -> None:
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"amount": rng.normal(0, 1, 1000), "version": 2.0, "region": "eu"})
    current = pd.DataFrame({"amount": rng.normal(0, 1, 1000), "version": 2.0, "region": "eu"})
    changed = int(len(current) * share)
    current.loc[: changed - 1, "version"] = 3.0
    current.loc[: changed - 1, "region"] = "us"
    reference.to_csv(folder / "reference.csv", index=False)
    current.to_csv(folder / "current.csv", index=False)
    reference.to_csv(folder / "same.csv", index=False)

    def drifted(name: str) -> set[str]:
        proc = run_cli(
            "monitor", "--reference", "reference.csv", "--current", name, "--format", "json", cwd=folder
        )
        assert proc.returncode == 0, proc.stderr
        return set(json.loads(proc.stdout)["dataset"]["drifted_columns"])

    assert drifted("current.csv") == {"version", "region"}
    assert drifted("same.csv") == set()


def _ids(rng: np.random.Generator, n: int, new_share: float = 0.0) -> list[str]:
    """Product ids drawn uniformly from 20,000; `new_share` of the rows get ids never used before."""
    ids = np.char.add("p", rng.integers(0, 20_000, n).astype(str))
    new = rng.random(n) < new_share
    ids[new] = np.char.add("new-", np.arange(int(new.sum())).astype(str))
    return [str(i) for i in ids]


@pytest.mark.parametrize(("new_share", "low", "high"), [(0.0, 0.0, 0.0), (0.5, 0.47, 0.53), (1.0, 1.0, 1.0)])
def test_high_cardinality_unseen_is_decided_against_every_reference_value(
    folder: Path, new_share: float, low: float, high: float
) -> None:
    """Past 1,000 distinct values a column is pooled into "other" for the test, but "unseen" means
    not in the reference at all: the same 20,000 product ids on both sides are not drift."""
    rng = np.random.default_rng(11)
    reference = np.char.add("p", rng.permutation(np.repeat(np.arange(20_000), 3)).astype(str))
    pd.DataFrame({"product_id": reference}).to_csv(folder / "reference.csv", index=False)
    pd.DataFrame({"product_id": _ids(rng, 30_000, new_share)}).to_csv(folder / "current.csv", index=False)

    outputs = {
        fmt: run_cli(
            "monitor", "--reference", "reference.csv", "--current", "current.csv", "--format", fmt, cwd=folder
        )
        for fmt in ("json", "markdown")
    }

    assert all(p.returncode == 0 for p in outputs.values()), outputs["json"].stderr
    (column,) = json.loads(outputs["json"].stdout)["columns"]
    assert low <= column["stats"]["unseen_share"] <= high
    assert column["drifted"] is (new_share > 0)
    if new_share:
        assert all(k.startswith("new-") for k in column["stats"]["unseen_top"])
        assert f"unseen values {column['stats']['unseen_share']:.1%} of rows" in outputs["markdown"].stdout
    else:
        assert column["stats"]["unseen_top"] == {}
        assert column["stats"]["unseen_categories"] == 0
        assert "never had" not in outputs["markdown"].stdout
