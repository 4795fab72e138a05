"""Generated frames (seeded): every column kind, random missing rates, random shifts on a random
subset of columns. Shifts are large enough to be detected by construction (8,000 rows a side, a
shift of a standard deviation, a fifth of the rows new values, 30 points more missing values);
unshifted columns are the same generator with another seed. So: exactly the shifted columns are
flagged, none when nothing changed, and no input ever ends in an unexpected error.

Most cases call the engine in-process (`mlci.drift`); a few run `mlci monitor` as a subprocess and
check that its JSON and markdown reports flag the same columns.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlci.drift.engine import compare
from mlci.drift.profile import ProfileSettings, build_current, build_reference
from tests.testing.fixtures import run_cli

ROWS = 8000
KINDS = [
    "numeric",
    "integer",
    "datetime",
    "boolean",
    "categorical",
    "categorical-high",
    "text",
    "all-null",
    "constant-number",
    "constant-text",
]
NO_SHIFT = {"text"}  # free text is skipped, whatever happens to it
WORDS = np.array(["parcel", "arrived", "late", "and", "the", "box", "was", "open", "again", "sorry"])
POOL = 1500  # distinct ids of a high-cardinality column


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    missing: float  # share of missing values on both sides (before a missing-values shift)
    params: dict[str, Any]


def plan(seed: int) -> tuple[list[Column], dict[str, str]]:
    """The columns of case `seed` and the shift of each shifted column (name -> how)."""
    rng = np.random.default_rng(seed)
    kinds = list(rng.choice(KINDS, int(rng.integers(3, 9))))
    columns = []
    for i, kind in enumerate(kinds):
        levels = int(rng.integers(3, 8))
        probs = rng.dirichlet(np.ones(levels)) * 0.6 + 0.4 / levels  # every level ≥ 5 %
        params = {"mean": float(rng.normal(0, 100)), "std": float(rng.uniform(0.5, 50)), "p": probs}
        missing = 0.0 if kind == "all-null" else float(rng.choice([0.0, rng.uniform(0, 0.3)]))
        columns.append(Column(f"c{i}_{kind}", str(kind), missing, params))
    shifts: dict[str, str] = {}
    for col in columns:
        if col.kind in NO_SHIFT or rng.random() < 0.5:
            continue
        ways = ["present"] if col.kind == "all-null" else ["missing", "values"]
        shifts[col.name] = str(rng.choice(ways))
    return columns, shifts


def values(col: Column, rng: np.random.Generator, n: int, shifted: bool, reference: bool) -> Any:
    p = col.params
    start = pd.Timestamp("2026-01-01") + pd.Timedelta(days=60 if shifted else 0)
    if col.kind == "numeric":
        return rng.normal(p["mean"] + (p["std"] if shifted else 0.0), p["std"], n)
    if col.kind == "integer":
        return rng.integers(0, 20, n) + (6 if shifted else 0)
    if col.kind == "datetime":  # shifted: the next window, at three times the rows per day (a time index
        # is judged on its rate and steps, not on being later)
        return start + pd.to_timedelta(rng.integers(0, (10 if shifted else 30) * 86_400, n), unit="s")
    if col.kind == "boolean":
        return rng.random(n) < (0.8 if shifted else 0.3)
    if col.kind == "categorical":
        out = rng.choice([f"level{i}" for i in range(len(p["p"]))], n, p=p["p"]).astype(object)
        if shifted:
            out[rng.random(n) < 0.2] = "brand-new"
        return out
    if col.kind == "categorical-high":
        # (the reference's present values are made to hold every id: see `frame`)
        ids = rng.integers(0, POOL, n)
        out = np.char.add("sku-", ids.astype(str)).astype(object)
        if shifted:
            new = rng.random(n) < 0.2
            out[new] = np.char.add("new-", np.arange(int(new.sum())).astype(str))
        return out
    if col.kind == "text":
        text = np.char.add("ticket ", np.arange(n).astype(str))
        for word in rng.choice(WORDS, (7, n)):
            text = np.char.add(np.char.add(text, " "), word)
        return text.astype(object)
    if col.kind == "all-null":
        return rng.normal(0, 1, n) if shifted else np.full(n, np.nan)
    if col.kind == "constant-number":
        return np.where(rng.random(n) < 0.5, 4.0, 3.0) if shifted else np.full(n, 3.0)
    return np.where(rng.random(n) < 0.5, "v3", "v2").astype(object) if shifted else np.full(n, "v2", object)


def frame(columns: list[Column], shifts: dict[str, str], seed: int, reference: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for col in columns:
        how = "" if reference else shifts.get(col.name, "")
        series = pd.Series(values(col, rng, ROWS, how in ("values", "present"), reference))
        missing = col.missing + (0.3 if how == "missing" else 0.0)
        hole = rng.random(ROWS) < missing
        if col.kind == "categorical-high" and reference:  # every id among the present values
            ids = rng.permutation(np.arange(int((~hole).sum())) % POOL).astype(str)
            series[~hole] = np.char.add("sku-", ids)
        if hole.any():
            series = series.astype(object) if series.dtype == bool else series
            series[hole] = None
        data[col.name] = series
    return pd.DataFrame(data)


def arrow(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


CASES = range(160)


@pytest.mark.parametrize("seed", [CASES])
def test_exactly_the_shifted_columns_drift(seed: range) -> None:
    """In-process: hundreds of generated cases (one test, so a failure names its seed)."""
    settings = ProfileSettings()
    for case in seed:
        columns, shifts = plan(case)
        ref_frame = frame(columns, shifts, 10_000 + case, reference=True)
        reference = build_reference(lambda f=ref_frame: arrow(f).to_batches(3000), settings)
        for shifted in (True, False):
            applied = shifts if shifted else {}
            cur = frame(columns, applied, 20_000 + case, reference=False)
            result = compare(reference, build_current(arrow(cur).to_batches(2500), reference))
            flagged = sorted(result.drifted_columns())
            expected = sorted(applied)
            assert flagged == expected, (case, shifts, [(c.name, c.reasons) for c in result.columns])
            assert result.to_json()["drifted_columns"] == [c.name for c in result.columns if c.drifted]


def _markdown_flagged(markdown: str) -> list[str]:
    table = markdown.split("### Columns", 1)[1].split("\n### ", 1)[0]
    return sorted(
        m.group(1)
        for line in table.splitlines()
        if "🔴" in line and (m := re.match(r"\| `([^`]+)` \|", line))
    )


@pytest.mark.parametrize(("case", "fmt"), [(3, "csv"), (7, "parquet"), (11, "csv"), (12, "parquet")])
def test_the_cli_flags_the_same_columns_in_json_and_markdown(tmp_path: Path, case: int, fmt: str) -> None:
    columns, shifts = plan(case)
    sides = {
        "reference": frame(columns, shifts, 10_000 + case, reference=True),
        "current": frame(columns, shifts, 20_000 + case, reference=False),
    }
    for side, df in sides.items():
        if fmt == "csv":
            df.to_csv(tmp_path / f"{side}.csv", index=False)
        else:
            df.to_parquet(tmp_path / f"{side}.parquet")
    args = ("monitor", "--reference", f"reference.{fmt}", "--current", f"current.{fmt}")
    as_json = run_cli(*args, "--format", "json", cwd=tmp_path)
    as_markdown = run_cli(*args, cwd=tmp_path)
    assert (as_json.returncode, as_markdown.returncode) == (0, 0), as_json.stderr + as_markdown.stderr
    report = json.loads(as_json.stdout)
    flagged = sorted(report["dataset"]["drifted_columns"])
    assert flagged == sorted(shifts), (case, shifts, report["dataset"])
    assert _markdown_flagged(as_markdown.stdout) == flagged
