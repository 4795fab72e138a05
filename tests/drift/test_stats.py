"""The p-value functions written out (no scipy import on monitor's path) agree with scipy's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from mlci.drift import stats


@pytest.mark.parametrize("x", [0.0, 1e-3, 0.05, 0.2, 0.5, 0.8, 0.99, 1.0, 1.3, 2.0, 4.0, 8.0, 15.0, 30.0])
def test_kolmogorov_matches_scipy(x: float) -> None:
    assert stats.kolmogorov(x) == pytest.approx(float(special.kolmogorov(x)), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("df", [1, 2, 3, 5, 9, 30, 99, 999, 5000])
def test_chi_squared_tail_matches_scipy(df: int) -> None:
    for x in np.concatenate([[0.0, 1e-6, 0.5], np.linspace(0.1, 4, 25) * df, [df + 2.0, 50.0 * df + 400]]):
        expected = float(special.chdtrc(df, x))
        assert stats.chdtrc(df, float(x)) == pytest.approx(expected, rel=1e-8, abs=1e-300), (df, x)
