"""Profiles as a contract: profile(A ∪ B) equals merge(profile(A), profile(B)) — the property partitioned
monitoring (`mlci profile`, `mlci monitor --profiles`, the Spark recipe) stands on.

Generated tables hold a column of every family (integers, floats with NaN, nullable integers, a time
index, timestamps, dates, text in and out of the reference's values, booleans, a text column of nulls
only in some shares), split at a generated row into two consecutive shares, each share read in
generated chunks. Every field of every column of the merged current profile equals the one-pass
profile's (sums within floating-point rounding), and so does the drift decision of every column.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlci.drift.engine import compare
from mlci.drift.profile import Profile, ProfileSettings, build_current, build_reference, merge

# small caps, so that exact values give way to bins and categories to pooling within a few rows
SETTINGS = ProfileSettings(bins=5, fine_bins=20, exact_limit=60, sample_size=500, max_categories=6)
WORDS = [f"w{i}" for i in range(12)]  # the reference has w0..w7; w8.. and "new*" are unseen
FLOAT_FIELDS = {"mean", "m2", "sums", "step_sums"}


def table(rng: np.random.Generator, rows: int, *, start: int, shift: float, nulls: bool) -> pa.Table:
    """One share of a data set: every column family; `start` continues the time index of the share before."""
    ints = rng.integers(-5, 40, rows)
    floats = rng.normal(shift, 1.0, rows)
    floats[rng.random(rows) < 0.1] = np.nan
    steps = rng.choice([0, 1, 1, 2, 60], rows)
    index = start + np.cumsum(steps)
    words = rng.choice([*WORDS, *(f"new{i}" for i in range(4))], rows, p=_weights(shift))
    text = pa.array([None if nulls else str(w) for w in words], pa.string())
    return pa.table(
        {
            "ints": pa.array(ints, pa.int64()),
            "floats": pa.array(floats, pa.float64(), from_pandas=True),
            "nullable": pa.array([None if i % 7 == 0 else int(i) for i in ints], pa.int64()),
            "zeros": pa.array(rng.integers(0, 2, rows) * 1.0),  # 0.0 is a real minimum
            "time_index": pa.array(index, pa.int64()).cast(pa.timestamp("s")),
            "when": pa.array(rng.integers(0, 10**6, rows), pa.int64()).cast(pa.timestamp("s")),
            "day": pa.array([dt.date(2026, 1, 1) + dt.timedelta(days=int(d)) for d in ints + 5], pa.date32()),
            "word": pa.array(words.tolist(), pa.string()),
            "flag": pa.array((ints % 3 == 0).tolist(), pa.bool_()),
            "sometimes_null": text,
        }
    )


def _weights(shift: float) -> list[float]:
    raw = np.array([1.0] * len(WORDS) + [shift + 0.1] * 4)
    return list(raw / raw.sum())


def batches(t: pa.Table, chunk: int) -> list[pa.RecordBatch]:
    return t.to_batches(max_chunksize=chunk) if t.num_rows else []


@pytest.fixture(scope="module")
def reference() -> Profile:
    rng = np.random.default_rng(1)
    ref = table(rng, 400, start=0, shift=0.0, nulls=False)
    ref = ref.set_column(7, "word", pa.array(rng.choice(WORDS[:8], 400).tolist()))
    return build_reference(lambda: batches(ref, 97), SETTINGS)


shares = st.tuples(
    st.integers(0, 2**32 - 1),  # seed
    st.integers(0, 150),  # rows of share A
    st.integers(0, 150),  # rows of share B
    st.integers(1, 64),  # chunk rows
    st.sampled_from([0.0, 0.5, 3.0]),  # drift
    st.booleans(),  # the text column is null in share A only
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=shares)
def test_merge_of_two_shares_is_the_profile_of_both(reference: Profile, case: tuple[Any, ...]) -> None:
    seed, rows_a, rows_b, chunk, shift, null_first = case
    rng = np.random.default_rng(seed)
    a = table(rng, rows_a, start=10**6, shift=shift, nulls=null_first)
    start = int(a.column("time_index").cast(pa.int64())[-1].as_py()) if rows_a else 10**6
    b = table(rng, rows_b, start=start, shift=shift, nulls=False)
    whole = build_current(batches(pa.concat_tables([a, b]), chunk), reference)
    merged = merge(
        build_current(batches(a, chunk), reference), build_current(batches(b, chunk), reference), reference
    )
    assert merged.rows == whole.rows == rows_a + rows_b
    assert list(merged.columns) == list(whole.columns)
    # the documented bound: a share that alone names more unseen values than the cap pools the rest,
    # so which are named may differ; their rows may not
    over = max(unseen_values(a, reference), unseen_values(b, reference)) > SETTINGS.max_categories
    for name, col in whole.columns.items():
        got, want = dataclasses.asdict(merged.columns[name]), dataclasses.asdict(col)
        if over and name == "word":
            assert_same_rows(got, want)
            got, want = (
                {**got, "categories": {}, "unseen_other": 0},
                {**want, "categories": {}, "unseen_other": 0},
            )
        assert_same(got, want, name)
    if whole.rows and not over:
        assert decisions(compare(reference, merged)) == decisions(compare(reference, whole))


def test_merge_is_associative_over_many_shares(reference: Profile) -> None:
    """Ten shares merged left to right equal one pass (what `mlci monitor --profiles` does with N parts)."""
    rng = np.random.default_rng(7)
    parts, start = [], 10**6
    for i in range(10):
        part = table(rng, 40, start=start, shift=0.5, nulls=False)
        # three values the reference never had per share, twelve in all: the merged profile keeps the cap
        words = rng.choice([*WORDS[:8], *(f"u{(i + k) % 12}" for k in range(3))], 40).tolist()
        part = part.set_column(part.schema.get_field_index("word"), "word", pa.array(words))
        start = int(part.column("time_index").cast(pa.int64())[-1].as_py())
        parts.append(part)
    whole = build_current(batches(pa.concat_tables(parts), 33), reference)
    merged = build_current(batches(parts[0], 33), reference)
    for part in parts[1:]:
        merged = merge(merged, build_current(batches(part, 33), reference), reference)
    for name, col in whole.columns.items():
        assert_same(dataclasses.asdict(merged.columns[name]), dataclasses.asdict(col), name)
    assert decisions(compare(reference, merged)) == decisions(compare(reference, whole))


def test_merge_refuses_profiles_of_other_bins(reference: Profile) -> None:
    other = build_reference(
        lambda: batches(table(np.random.default_rng(2), 300, start=0, shift=9, nulls=False), 50), SETTINGS
    )
    rng = np.random.default_rng(3)
    mine = build_current(batches(table(rng, 50, start=0, shift=0, nulls=False), 50), reference)
    theirs = build_current(batches(table(rng, 50, start=0, shift=0, nulls=False), 50), other)
    with pytest.raises(Exception, match="different types or bin edges"):
        merge(mine, theirs)


def unseen_values(t: pa.Table, reference: Profile) -> int:
    """How many distinct values of `word` the reference never named nor pooled."""
    seen = {f"w{i}" for i in range(8)}
    return len({w for w in t.column("word").to_pylist() if w not in seen})


def assert_same_rows(got: dict[str, Any], want: dict[str, Any]) -> None:
    for key in ("unseen", "unseen_checked", "other", "count", "missing"):
        assert got[key] == want[key], key
    total = sum(got["categories"].values()) + got["unseen_other"]
    assert total == sum(want["categories"].values()) + want["unseen_other"]


def decisions(result: Any) -> list[tuple[str, bool, str, tuple[str, ...]]]:
    return [(c.name, c.drifted, c.method, tuple(c.reasons)) for c in result.columns]


def assert_same(got: dict[str, Any], want: dict[str, Any], column: str) -> None:
    if not want["ascending"]:  # one pass stops tracking the order once it descends: `last` is moot
        got, want = {**got, "last": None}, {**want, "last": None}
    for key, value in want.items():
        if key in FLOAT_FIELDS:
            assert close(got[key], value), f"{column}.{key}: {got[key]!r} != {value!r}"
        else:
            assert got[key] == value, f"{column}.{key}: {got[key]!r} != {value!r}"


def close(a: Any, b: Any) -> bool:
    if isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in b)
    if isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
