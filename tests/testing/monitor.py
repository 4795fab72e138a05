"""Generated tables with known drift (numpy, fixed seeds) for the drift engine's tests and benchmark.

20 numeric columns `num00`..`num19` and 5 categorical `cat0`..`cat4`; with `drift=True` exactly
DRIFTED change their distribution and nothing else does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

NUMERIC = [f"num{i:02d}" for i in range(20)]
CATEGORICAL = [f"cat{i}" for i in range(5)]
DRIFTED = ["num00", "num01", "num02", "num03", "cat0"]
LEVELS = ["alpha", "beta", "gamma", "delta"]
BASE_P = [0.4, 0.3, 0.2, 0.1]


def table(
    n: int,
    seed: int,
    *,
    drift: bool = False,
    missing_jump: str = "",
    new_category: str = "",
    new_share: float = 0.03,
) -> pa.Table:
    """A table of `n` rows. drift: DRIFTED change. missing_jump: this numeric column gets 20% NaN.
    new_category: this categorical column gets `new_share` of a value the reference never had."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        scale = 1.0 + i  # columns on different scales: effects must be relative to each std
        if i % 3 == 0:
            values = rng.normal(10.0 * i, scale, n)
        elif i % 3 == 1:
            values = rng.lognormal(0.0, 0.5, n) * scale
        else:
            values = rng.integers(0, 20, n).astype(float)
        columns[name] = values
    for name in CATEGORICAL:
        columns[name] = rng.choice(LEVELS, n, p=BASE_P)
    if drift:
        columns["num00"] = columns["num00"] + 0.6 * 1.0  # shift by 0.6 std
        columns["num01"] = columns["num01"] * 1.6  # lognormal: scale (mean and spread) change
        columns["num02"] = rng.integers(5, 25, n).astype(float)  # discrete values shifted by 5
        columns["num03"] = rng.normal(30.0, 4.0 * 2.5, n)  # same mean, 2.5x the spread
        columns["cat0"] = rng.choice(LEVELS, n, p=[0.15, 0.25, 0.3, 0.3])
    if missing_jump:
        values = columns[missing_jump].copy()
        values[rng.random(n) < 0.2] = np.nan
        columns[missing_jump] = values
    if new_category:
        values = columns[new_category].astype(object)
        values[rng.random(n) < new_share] = "brand-new"
        columns[new_category] = values.astype(str)
    return pa.table(columns)
