"""Generated, seeded (reference, current) tables for every column family drift tells apart, the same
distribution on both sides or with one standard shift: the calibration suite (tests/drift/
test_calibration.py) and the benchmark (bench/bench_drift_calibration.py) draw from here.

A family is a function `(rng, rows, after) -> pyarrow.Array`; `after` is 0 for the reference and the
reference's row count for the current, so a time index continues where the reference ended (the next
week of the feed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

Family = Callable[[np.random.Generator, int, int], pa.Array]
HOUR_US = 3_600_000_000
START_US = 1_767_225_600_000_000  # 2026-01-01 in microseconds since the epoch


def _zipf_probabilities(k: int, s: float = 1.1) -> np.ndarray:
    weights = 1.0 / np.arange(1, k + 1) ** s
    return np.asarray(weights / weights.sum())


SPARSE = np.random.default_rng(12345).dirichlet(np.ones(1000))  # 1,000 categories, fixed shares
LOW = np.array([0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
ZIPF = _zipf_probabilities(20_000)


def continuous(rng: np.random.Generator, rows: int, window: int) -> pa.Array:
    return pa.array(rng.lognormal(3.0, 0.6, rows))


def discrete(rng: np.random.Generator, rows: int, window: int) -> pa.Array:
    return pa.array(rng.poisson(3.0, rows))


def low_categorical(rng: np.random.Generator, rows: int, window: int) -> pa.Array:
    return pa.array(np.char.add("c", rng.choice(len(LOW), rows, p=LOW).astype(str)))


def sparse_categorical(rng: np.random.Generator, rows: int, window: int) -> pa.Array:
    return pa.array(np.char.add("k", rng.choice(len(SPARSE), rows, p=SPARSE).astype(str)))


def zipf_ids(rng: np.random.Generator, rows: int, window: int) -> pa.Array:
    return pa.array(np.char.add("sku-", rng.choice(len(ZIPF), rows, p=ZIPF).astype(str)))


def unique_ids(rng: np.random.Generator, rows: int, window: int) -> pa.Array:
    return pa.array(np.char.add(f"u{rng.integers(1 << 40)}-", np.arange(rows).astype(str)))


def boolean(rng: np.random.Generator, rows: int, window: int) -> pa.Array:
    return pa.array(rng.random(rows) < 0.3)


def hourly(rng: np.random.Generator, rows: int, window: int) -> pa.Array:
    """A regular hourly feed, sorted; the current window starts where the reference's ended."""
    start = START_US + window * HOUR_US
    return pa.array(start + np.arange(rows, dtype=np.int64) * HOUR_US, pa.timestamp("us"))


def events(rng: np.random.Generator, rows: int, window: int) -> pa.Array:
    """Random arrivals (Poisson, 10 an hour) over the window, in no order."""
    span = rows * HOUR_US / 10
    start = START_US + window * HOUR_US / 10
    return pa.array(
        np.sort(start + rng.random(rows) * span).astype(np.int64)[rng.permutation(rows)], pa.timestamp("us")
    )


def constant(rng: np.random.Generator, rows: int, window: int) -> pa.Array:
    return pa.array(np.full(rows, "v2"))


def mostly_missing(rng: np.random.Generator, rows: int, window: int) -> pa.Array:
    values = rng.normal(0.0, 1.0, rows)
    return pa.array(values, mask=rng.random(rows) < 0.95)


FAMILIES: dict[str, Family] = {
    "continuous": continuous,
    "discrete": discrete,
    "low-categorical": low_categorical,
    "sparse-categorical": sparse_categorical,
    "zipf-ids": zipf_ids,
    "unique-ids": unique_ids,
    "boolean": boolean,
    "hourly": hourly,
    "events": events,
    "constant": constant,
    "mostly-missing": mostly_missing,
}


def same(
    rows: int, current_rows: int, seed: int, families: list[str] | None = None
) -> tuple[pa.Table, pa.Table]:
    """One (reference, current) pair of tables, one column per family, the same distribution each."""
    rng = np.random.default_rng(seed)
    names = families or list(FAMILIES)
    ref = {name: FAMILIES[name](rng, rows, 0) for name in names}
    cur = {name: FAMILIES[name](rng, current_rows, rows) for name in names}
    return pa.table(ref), pa.table(cur)


# --- the standard shifts: (reference, current) of one column -----------------------------------------


def _normal(rng: np.random.Generator, rows: int, mean: float = 0.0, scale: float = 1.0) -> pa.Array:
    return pa.array(rng.normal(mean, scale, rows))


def _categories(rng: np.random.Generator, rows: int, shares: np.ndarray, new: float = 0.0) -> pa.Array:
    values = np.char.add("c", rng.choice(len(shares), rows, p=shares).astype(str))
    values[rng.random(rows) < new] = "c-new"
    return pa.array(values)


def _missing(rng: np.random.Generator, rows: int, share: float) -> pa.Array:
    return pa.array(rng.normal(0.0, 1.0, rows), mask=rng.random(rows) < share)


MOVED = np.array(
    [0.25, 0.35, 0.15, 0.13, 0.08, 0.04]
)  # LOW with 15 points of its first value moved (JS 0.145)

SHIFTS: dict[str, tuple[Callable[..., pa.Array], dict[str, Any], dict[str, Any]]] = {
    "mean +0.1 std": (_normal, {}, {"mean": 0.1}),
    "mean +0.25 std": (_normal, {}, {"mean": 0.25}),
    "mean +0.5 std": (_normal, {}, {"mean": 0.5}),
    "scale x1.5": (_normal, {}, {"scale": 1.5}),
    "5% new category": (_categories, {"shares": LOW}, {"shares": LOW, "new": 0.05}),
    "proportions moved": (_categories, {"shares": LOW}, {"shares": MOVED}),
    "+10% missing": (_missing, {"share": 0.05}, {"share": 0.15}),
    "feature goes dark": (_missing, {"share": 0.0}, {"share": 1.0}),
}


def shifted(shift: str, rows: int, current_rows: int, seed: int) -> tuple[pa.Table, pa.Table]:
    """One column `x` under `shift`, with two unchanged columns beside it (a run's data set)."""
    make, before, after = SHIFTS[shift]
    rng = np.random.default_rng(seed)
    ref = {"x": make(rng, rows, **before), "a": _normal(rng, rows), "b": boolean(rng, rows, 0)}
    cur = {
        "x": make(rng, current_rows, **after),
        "a": _normal(rng, current_rows),
        "b": boolean(rng, current_rows, 1),
    }
    return pa.table(ref), pa.table(cur)
