"""Numeric columns of a profile: moments, quantile bins, exact values, and the steps of a time index.

Per numeric column (dates, timestamps, times and durations as seconds, `seconds_per_unit`) a profile keeps the
mean and M2 (Welford, mergeable), min/max, counts and sums on the reference's fine quantile bins, the
exact values while there are at most ``exact_limit``, and — for the time family — whether the values
came in ascending order and the histogram of their steps on half-powers of two (`step_bin`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from mlci.drift.profile_model import ColumnProfile, ProfileSettings, combine

if TYPE_CHECKING:
    import numpy as np

    from mlci.drift.binning import Binner


class NumericCounter:
    """The numeric columns' state while a profile is built: samples for the edges (pass 1) and binners."""

    def __init__(self, settings: ProfileSettings) -> None:
        self.settings = settings
        self.samples: dict[str, Sampler] = {}
        self.binners: dict[str, Binner] = {}

    def start(self, col: ColumnProfile, ref: ColumnProfile | None, *, reference: bool) -> None:
        """A new numeric column: counted into the reference's bins, or sampled for its own edges."""
        if ref is not None and ref.kind == "numeric":
            col.kind = "numeric"
            col.edges, col.coarse_edges = list(ref.edges), list(ref.coarse_edges)
            col.counts = [0] * (len(ref.edges) + 1) if ref.counts else []
            col.sums = [0.0] * len(col.counts)
            if ref.counts:  # a reference column with no values has no bins to count into
                self.binners[col.name] = binner(ref.edges)
        elif reference:
            self.samples[col.name] = Sampler(self.settings.sample_size)

    def add(self, col: ColumnProfile, array: Any, *, stats: bool, counts: bool) -> None:
        import numpy as np

        values = float64_values(array)
        scale = seconds_per_unit(array.type)
        if scale != 1.0:  # times in seconds: a pandas `ns` reference and a Spark `us` feed agree
            values *= scale
        nan = np.isnan(values)
        present = values[~nan] if nan.any() else values
        if stats:
            col.missing += len(values) - len(present)
            welford(col, present)
            add_steps(col, present)
            if col.values is not None:
                keep = len(col.values) + len(present) <= self.settings.exact_limit
                col.values = col.values + present.tolist() if keep else None
            sampler = self.samples.get(col.name)
            if sampler is not None:
                sampler.add(present)
        found = self.binners.get(col.name)
        if counts and found is not None and len(present):
            idx = found(present)
            add = np.bincount(idx, minlength=len(col.counts))
            col.counts = [int(a + b) for a, b in zip(col.counts, add, strict=True)]
            add_sums = np.bincount(idx, weights=present, minlength=len(col.counts))
            col.sums = [float(a + b) for a, b in zip(col.sums, add_sums, strict=True)]

    def place_edges(self, columns: dict[str, ColumnProfile]) -> None:
        """Pass 1 is over: equal-frequency edges from each numeric column's sample."""
        import numpy as np

        fine, coarse = self.settings.fine_bins, self.settings.bins
        levels = np.arange(1, fine) / fine
        for name, sampler in self.samples.items():
            col = columns[name]
            sample = sampler.values()
            if not len(sample):
                continue
            raw = np.quantile(sample, levels, method="inverted_cdf")
            col.edges = [float(x) for x in np.unique(raw)]
            step = fine // coarse
            col.coarse_edges = sorted({float(raw[i - 1]) for i in range(step, fine, step)})
            col.counts = [0] * (len(col.edges) + 1)
            col.sums = [0.0] * (len(col.edges) + 1)
            self.binners[name] = binner(col.edges)
        self.samples.clear()


def step_bin(step: float) -> int:
    """The histogram bin of a positive step: half-powers of two (bin k holds [2^(k/2), 2^((k+1)/2)))."""
    return math.floor(2 * math.log2(step))


def add_steps(col: ColumnProfile, present: np.ndarray) -> None:
    """Track whether the values come in ascending order, and while they do, histogram their steps
    (a zero step is its own bin, "0"): what a time index is judged on instead of its position."""
    import numpy as np

    if not col.ascending or not len(present):
        return
    values = present if col.last is None else np.concatenate([[col.last], present])
    steps = np.diff(values)
    col.last = float(present[-1])
    if len(steps) and float(steps.min()) < 0:
        col.ascending, col.step_counts, col.step_sums = False, {}, {}
        return
    zero = steps == 0
    if zero.any():
        col.step_counts["0"] = col.step_counts.get("0", 0) + int(zero.sum())
    positive = steps[~zero]
    if not len(positive):
        return
    bins = np.floor(2 * np.log2(positive)).astype(np.int64)
    keys, inverse = np.unique(bins, return_inverse=True)
    tally = np.bincount(inverse)
    sums = np.bincount(inverse, weights=positive)
    for key, n, total in zip(keys.tolist(), tally.tolist(), sums.tolist(), strict=True):
        col.step_counts[str(key)] = col.step_counts.get(str(key), 0) + int(n)
        col.step_sums[str(key)] = col.step_sums.get(str(key), 0.0) + float(total)


def binner(edges: list[float]) -> Binner:
    import numpy as np

    from mlci.drift.binning import Binner

    return Binner(np.array(edges, dtype=np.float64))


_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def seconds_per_unit(arrow_type: Any) -> float:
    """What one unit of a temporal type is in seconds (dates: days; date64: milliseconds); 1.0 for
    every other type. Profiles keep dates, timestamps, times and durations in seconds, so the same
    instants stored in two units (pandas writes `ns`, Spark `us`) are the same numbers."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_date32(arrow_type):
        return 86_400.0
    if pa.types.is_date64(arrow_type):
        return 1e-3
    unit = getattr(arrow_type, "unit", None) if pa.types.is_temporal(arrow_type) else None
    return _SECONDS.get(str(unit), 1.0)


def float64_values(array: Any) -> np.ndarray:
    """An Arrow numeric array as float64 with NaN for nulls, straight from its buffers.

    (`Array.to_numpy` and Python scalars make pyarrow import pandas: 0.4 s of start-up.)"""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(array.type):
        array = pc.cast(array, array.type.value_type)
    if pa.types.is_date32(array.type) or pa.types.is_time32(array.type):
        array = pc.cast(array, pa.int32())  # days since the epoch / time of day
    elif pa.types.is_temporal(array.type):
        array = pc.cast(array, pa.int64(), safe=False)  # timestamps, date64, time64, durations in their unit
    # unsafe: int64 nanoseconds, uint64 and wide decimals lose digits past 2^53, never raise
    arr = pc.cast(array, pa.float64(), safe=False)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if len(arr) == 0:
        return np.empty(0)
    values = np.frombuffer(arr.buffers()[1], dtype=np.float64, count=len(arr), offset=arr.offset * 8)
    if arr.null_count:
        bits = np.unpackbits(np.frombuffer(arr.buffers()[0], dtype=np.uint8), bitorder="little")
        values = values.copy()
        values[bits[arr.offset : arr.offset + len(arr)] == 0] = np.nan
    return values


class Sampler:
    """Systematic sample of a stream: every `step`-th value, the step doubling to stay bounded.

    Deterministic (no random seed to record) and spread over the whole stream, so sorted data
    still yields the right quantiles.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.step = 1
        self.seen = 0
        self.parts: list[np.ndarray] = []
        self.kept = 0

    def add(self, values: np.ndarray) -> None:
        import numpy as np

        first = (-self.seen) % self.step
        # a copy: a slice would keep the whole batch's buffer alive (memory growing with the rows)
        taken = values[first :: self.step].copy()
        self.seen += len(values)
        self.parts.append(taken)
        self.kept += len(taken)
        while self.kept > self.limit:
            merged = np.concatenate(self.parts)[::2]
            # positions were multiples of `step`; keeping every other makes them multiples of 2*step
            self.step *= 2
            self.parts, self.kept = [merged], len(merged)

    def values(self) -> np.ndarray:
        import numpy as np

        return np.concatenate(self.parts) if self.parts else np.array([], dtype=float)


def welford(col: ColumnProfile, present: np.ndarray) -> None:
    n_b = len(present)
    if not n_b:
        return
    n_a = col.count - col.missing - n_b  # count and missing already include this chunk
    import numpy as np

    mean_b = float(present.mean())
    deviation = present - mean_b
    m2_b = float(np.square(deviation, out=deviation).sum())  # not np.dot: BLAS threads spin
    combine(col, n_a, n_b, mean_b, m2_b)
    lo, hi = float(present.min()), float(present.max())
    col.min = lo if col.min is None else min(col.min, lo)
    col.max = hi if col.max is None else max(col.max, hi)
