"""Times stored in different units are the same times: a reference written by pandas (`ns`) and a feed
written by Spark (`us`) or as dates must not drift for that alone, and a real change must still show."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from mlci.drift.engine import compare
from mlci.drift.profile import ProfileSettings, build_current, build_reference

START = np.datetime64("2026-01-01T00:00:00", "s")
UNITS = ["s", "ms", "us", "ns"]


def events(seed: int, rows: int, *, days: int = 30, spread: float = 1.0) -> np.ndarray:
    """Event times over `days` (seconds since START), as a feed sends them: random within the window."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.uniform(0, days * 86_400 * spread, rows))


def table(seconds: np.ndarray, unit: str, *, offset_days: int = 0) -> pa.Table:
    stamps = (START + np.timedelta64(offset_days, "D")).astype(f"datetime64[{unit}]")
    per_second = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}[unit]
    values = stamps + (seconds * per_second).astype(f"timedelta64[{unit}]")
    durations = ((seconds % 3600) * per_second).astype(f"timedelta64[{unit}]")
    return pa.table(
        {
            "ts": pa.array(values, pa.timestamp(unit)),
            "waited": pa.array(durations, pa.duration(unit)),
            "x": pa.array(np.random.default_rng(len(seconds)).normal(0, 1, len(seconds))),
        }
    )


def drifted(ref: pa.Table, cur: pa.Table) -> list[str]:
    reference = build_reference(lambda: ref.to_batches(50_000), ProfileSettings())
    result = compare(reference, build_current(cur.to_batches(50_000), reference))
    return result.drifted_columns()


@pytest.mark.parametrize("ref_unit", UNITS)
@pytest.mark.parametrize("cur_unit", UNITS)
def test_the_same_times_in_another_unit_do_not_drift(ref_unit: str, cur_unit: str) -> None:
    ref = table(events(1, 3000), ref_unit)
    cur = table(events(2, 3000), cur_unit)
    assert drifted(ref, cur) == []


def test_the_next_window_in_another_unit_is_a_time_index_and_a_slower_feed_still_drifts() -> None:
    ref = table(events(1, 3000), "ns")
    same_rate = table(events(2, 700, days=7), "us", offset_days=31)  # the next week, at the same rate
    assert "ts" not in drifted(ref, same_rate)
    slower = table(events(3, 350, days=7), "us", offset_days=31)  # the next week, half the rows
    assert "ts" in drifted(ref, slower)


def test_dates_and_timestamps_of_the_same_days_agree() -> None:
    rng = np.random.default_rng(5)
    days = rng.integers(0, 365, 4000)
    as_dates = pa.table({"d": pa.array(START.astype("datetime64[D]") + days, pa.date32())})
    as_stamps = pa.table({"d": pa.array(START + days.astype("timedelta64[D]"), pa.timestamp("ms"))})
    shuffled = pa.table({"d": pa.array(START.astype("datetime64[D]") + rng.permutation(days), pa.date64())})
    assert drifted(as_dates, as_stamps) == []
    assert drifted(as_dates, shuffled) == []
