"""`mlci data check` shares the drift engine with `mlci monitor`: the same answer for every column kind
(a time index, a column empty on one side, a high-cardinality id column, a constant that starts to vary)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlci.repo.dvc import dvc
from mlci.repo.git import git
from tests.testing.fixtures import run_cli

DATA = "data/feeds.csv"
ROWS = 24_000


def _frame(seed: int, *, days_later: int = 0, dark: bool = False, varies: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-03-01") + pd.Timedelta(days=days_later)
    ids = rng.integers(0, 20_000, ROWS)
    if seed == 1:  # the base holds every id, so an id of the head is never truly new
        ids = rng.permutation(np.arange(ROWS) % 20_000)
    return pd.DataFrame(
        {
            "amount": rng.normal(50, 10, ROWS),
            "event_time": start + pd.to_timedelta(rng.integers(0, 7 * 86_400, ROWS), unit="s"),
            "feed": np.full(ROWS, np.nan) if dark else rng.normal(0, 1, ROWS),
            "product_id": np.char.add("sku-", ids.astype(str)),
            "version": np.where(rng.random(ROWS) < 0.3, "v3", "v2") if varies else np.full(ROWS, "v2"),
        }
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "feeds"
    (root / "data").mkdir(parents=True)
    git(root, "init", "-q")
    dvc(root, "init", "-q")
    return root


def _commit(root: Path, frame: pd.DataFrame, message: str) -> str:
    frame.to_csv(root / DATA, index=False)
    dvc(root, "add", "-q", DATA)
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def _check(root: Path, base: str) -> dict[str, Any]:
    proc = run_cli("data", "check", DATA, "--base", base, "--format", "json", cwd=root)
    assert proc.returncode == 0, proc.stderr  # no contract declared: findings are warnings
    drift: dict[str, Any] = json.loads(proc.stdout)["datasets"][0]["drift"]
    return drift


def test_every_kind_drifts_in_data_check_as_in_monitor(project: Path) -> None:
    base = _commit(project, _frame(1), "base")
    _commit(project, _frame(2), "a new week of the same feed")
    same = _check(project, base)
    assert same["drifted_columns"] == []
    product = next(c for c in same["columns"] if c["name"] == "product_id")
    assert product["column_class"] == "identifier"  # 2/3 of the base's rows hold an id seen once
    assert (product["stats"]["unseen_share"], product["stats"]["unseen_top"]) == (0.0, {})

    _commit(project, _frame(3, days_later=60, dark=True, varies=True), "later, a dark feed, a new version")
    changed = _check(project, base)
    columns = {c["name"]: c for c in changed["columns"]}
    # two months later, at the same rate: a time index is judged on its rate and steps, not its position
    assert sorted(changed["drifted_columns"]) == ["feed", "version"]
    assert columns["event_time"]["column_class"] == "time-index"
    assert columns["feed"]["reasons"] == ["missing values 0.0% → 100.0%"]
    assert changed["schema"]["changed"] == []  # a column with no values is not a type change
    assert columns["version"]["column_class"] == "constant"
    assert not columns["product_id"]["drifted"] and columns["product_id"]["stats"]["unseen_share"] == 0.0
