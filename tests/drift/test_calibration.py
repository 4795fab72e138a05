"""The calibration suite: on generated, seeded pairs drawn from one distribution, how often does drift
fire — per column and per run ("retraining needed") — for every column family and sizes from 30 to
1,000,000 rows; and how often does it catch the standard shifts. The pairs come from
`tests.testing.drift_families` (also the benchmark's, bench/bench_drift_calibration.py)."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest

from mlci.drift.engine import DriftResult, compare
from mlci.drift.profile import ProfileSettings, build_current, build_reference
from tests.testing import drift_families as families

# (reference rows, current rows, pairs): small sizes many, big sizes few
FAST = [(30, 30, 40), (60, 30, 40), (100, 100, 40), (300, 100, 40), (300, 300, 40), (1000, 300, 40)]
FAST += [(1000, 1000, 40), (3000, 1000, 40)]
SLOW = [(10_000, 2_000, 60), (50_000, 10_000, 40), (200_000, 50_000, 20), (1_000_000, 200_000, 2)]
FALSE_ALARMS = 0.01


def drift(ref: pa.Table, cur: pa.Table) -> DriftResult:
    reference = build_reference(lambda: ref.to_batches(200_000), ProfileSettings())
    return compare(reference, build_current(cur.to_batches(200_000), reference))


def _false_alarms(sizes: list[tuple[int, int, int]], first_seed: int) -> tuple[Counter[str], int, int]:
    flagged: Counter[str] = Counter()
    runs = retrain = 0
    seed = first_seed
    for rows, current_rows, pairs in sizes:
        for _ in range(pairs):
            seed += 1
            result = drift(*families.same(rows, current_rows, seed))
            flagged.update(result.drifted_columns())
            runs += 1
            retrain += result.dataset_drift
    return flagged, runs, retrain


def _assert_calibrated(flagged: Counter[str], runs: int, retrain: int) -> None:
    per_column = {name: flagged[name] / runs for name in families.FAMILIES}
    assert all(rate <= FALSE_ALARMS for rate in per_column.values()), per_column
    assert retrain / runs <= FALSE_ALARMS, f"retraining needed on {retrain} of {runs} same-distribution runs"


def test_same_distribution_false_alarms_small_samples() -> None:
    """320 pairs of 30 to 3,000 rows, 11 families each: ≤ 1 % false alarms per column and per run."""
    flagged, runs, retrain = _false_alarms(FAST, 1000)
    assert runs == 320
    _assert_calibrated(flagged, runs, retrain)


@pytest.mark.slow
def test_same_distribution_false_alarms_large_samples() -> None:
    """122 pairs of 10,000 to 1,000,000 rows (442 with the small ones, 4,862 column pairs)."""
    flagged, runs, retrain = _false_alarms(SLOW, 5000)
    assert runs == 122
    _assert_calibrated(flagged, runs, retrain)


@pytest.mark.slow
def test_same_distribution_false_alarms_middle_sizes() -> None:
    """80 more pairs between the two (500 and 1,000 rows against 5,000): 522 pairs in all."""
    flagged, runs, retrain = _false_alarms([(5000, 500, 40), (5000, 1000, 40)], 9000)
    _assert_calibrated(flagged, runs, retrain)


# shift -> (rows a side, least share of runs that must catch it): the sizes where each is expected
DETECTION = {
    "mean +0.25 std": (1000, 0.9),
    "mean +0.5 std": (300, 0.95),
    "scale x1.5": (300, 0.95),
    "5% new category": (300, 0.9),
    "proportions moved": (1000, 0.9),
    "+10% missing": (1000, 0.9),
    "feature goes dark": (30, 1.0),
}


@pytest.mark.parametrize("shift", list(DETECTION))
def test_standard_shifts_are_caught_and_nothing_else_is(shift: str) -> None:
    rows, least = DETECTION[shift]
    caught = others = 0
    for seed in range(20):
        result = drift(*families.shifted(shift, rows, rows, 300 + seed))
        caught += "x" in result.drifted_columns()
        others += len([c for c in result.drifted_columns() if c != "x"])
    assert caught / 20 >= least, f"{shift}: caught in {caught} of 20 runs of {rows} rows"
    assert others <= 1  # the unchanged columns beside it


# --- the faults of issue #29, each an example of its kind ---------------------------------------------


@pytest.mark.parametrize(("categories", "rows"), [(1000, 2000), (1500, 2000), (3000, 5000), (400, 600)])
def test_two_samples_of_a_sparse_column_are_not_drift(categories: int, rows: int) -> None:
    """They always differ in which rare values they hold: that is what Good–Turing expects."""
    import numpy as np

    shares = np.random.default_rng(categories).dirichlet(np.ones(categories))
    for seed in range(5):
        rng = np.random.default_rng(seed)
        ref, cur = (
            pa.table({"k": np.char.add("k", rng.choice(categories, rows, p=shares).astype(str))})
            for _ in "rc"
        )
        column = drift(ref, cur).columns[0]
        assert not column.drifted, column.reasons
        assert column.stats["unseen_share"] > 0.05  # many unseen values, as a new sample has


def test_a_new_value_in_a_sparse_column_is_still_drift() -> None:
    import numpy as np

    shares = np.random.default_rng(1).dirichlet(np.ones(1000))
    rng = np.random.default_rng(2)
    ref = np.char.add("k", rng.choice(1000, 2000, p=shares).astype(str))
    cur = np.char.add("k", rng.choice(1000, 2000, p=shares).astype(str))
    cur[rng.random(2000) < 0.1] = "brand-new"
    column = drift(pa.table({"k": ref}), pa.table({"k": cur})).columns[0]
    assert column.drifted and any("unseen values" in r for r in column.reasons), column.reasons


@pytest.mark.parametrize("weeks", [1, 2])
def test_the_next_window_of_an_hourly_feed_is_not_drift(weeks: int) -> None:
    import numpy as np

    hours = 24 * 7
    start = np.datetime64("2026-03-02T00:00", "us")
    rng = np.random.default_rng(weeks)

    def window(first: int, count: int) -> pa.Table:
        times = start + (first + np.arange(count)) * np.timedelta64(1, "h")
        return pa.table({"event_time": times, "x": rng.normal(size=count), "y": rng.normal(size=count)})

    result = drift(window(0, 4 * hours), window(4 * hours, weeks * hours))
    assert not result.dataset_drift and result.drifted_columns() == []
    assert result.columns[0].column_class == "time-index"


@pytest.mark.parametrize(
    ("change", "reason"),
    [("every two hours", "rows per unit of time"), ("a day missing", "gaps in a regular feed")],
)
def test_a_time_index_that_changes_its_spacing_is_drift(change: str, reason: str) -> None:
    import numpy as np

    start = np.datetime64("2026-03-02T00:00", "us")
    hour = np.timedelta64(1, "h")
    ref = start + np.arange(672) * hour
    steps = np.arange(672, 840, 2) if change == "every two hours" else np.r_[672:720, 744:840]
    column = drift(pa.table({"t": ref}), pa.table({"t": start + steps * hour})).columns[0]
    assert column.drifted and any(reason in r for r in column.reasons), column.reasons
