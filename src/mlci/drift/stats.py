"""The statistics behind `mlci.drift.engine`: two-sample tests and distances on profiles, written with
numpy and scipy.special only (importing scipy.stats costs ~1.5 s, more than profiling 1M rows),
and the histograms a report draws. Each agrees with scipy.stats (tests/drift/test_drift.py)."""

from __future__ import annotations

import math
from typing import Any

from mlci.drift.profile import ColumnProfile

EPS = 1e-4  # PSI: floor of a bin's share, so an empty bin adds a large but finite term


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Adjusted p-values that keep the expected share of false alarms among the flagged tests at
    the threshold, however many columns are tested (Benjamini & Hochberg, 1995)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        adjusted[i] = min(running, 1.0)
    return adjusted


def preload() -> None:
    """Start importing scipy.special on a thread (~0.2-0.4 s): for a caller that knows the p-values
    come later and has waiting to do meanwhile (the data check's pass waits on its CSV reader)."""
    import threading

    threading.Thread(target=_import_special, name="mlci-preload-scipy", daemon=True).start()


def _import_special() -> None:
    import scipy.special  # noqa: F401


def exact_ks_wasserstein(a: list[float], b: list[float]) -> tuple[float, float, float]:
    from scipy import stats

    test = stats.ks_2samp(a, b)
    return float(test.statistic), float(test.pvalue), float(stats.wasserstein_distance(a, b))


def binned_ks_wasserstein(ref: ColumnProfile, cur: ColumnProfile) -> tuple[float, float, float]:
    """KS from the CDFs at the fine edges; Wasserstein between each side's bin means, weighted.

    Bin means keep each side's mean exactly, so a shift is measured exactly even when all of the
    current data falls in the reference's outermost bin; the error is bounded by the spread inside
    the bins where both sides have mass.
    """
    import numpy as np
    from scipy.special import kolmogorov

    n, m = ref.present, cur.present
    f_ref = np.cumsum(ref.counts) / n
    f_cur = np.cumsum(cur.counts) / m
    d = float(np.max(np.abs(f_ref[:-1] - f_cur[:-1]))) if len(f_ref) > 1 else 0.0
    p = float(kolmogorov(math.sqrt(n * m / (n + m)) * d))
    w = wasserstein_weighted(*atoms(ref), *atoms(cur))
    return d, p, w


def wasserstein_weighted(a: Any, wa: Any, b: Any, wb: Any) -> float:
    """W1 between two weighted point sets: the area between their CDFs (as scipy computes it).

    Written out because importing scipy.stats costs ~1.5 s, more than profiling 1M rows."""
    import numpy as np

    points = np.concatenate([a, b])
    order = np.argsort(points, kind="mergesort")
    points = points[order]
    weights = np.concatenate([wa / wa.sum(), -wb / wb.sum()])[order]
    cdf_diff = np.cumsum(weights)[:-1]
    return float(np.sum(np.abs(cdf_diff) * np.diff(points)))


def atoms(col: ColumnProfile) -> tuple[Any, Any]:
    import numpy as np

    counts = np.array(col.counts, dtype=float)
    full = counts > 0
    return np.array(col.sums)[full] / counts[full], counts[full]


def psi(ref_counts: list[int], cur_counts: list[int]) -> float:
    import numpy as np

    p = np.maximum(np.array(ref_counts, dtype=float) / max(sum(ref_counts), 1), EPS)
    q = np.maximum(np.array(cur_counts, dtype=float) / max(sum(cur_counts), 1), EPS)
    return float(np.sum((q - p) * np.log(q / p)))


def chi2(r: list[int], c: list[int]) -> tuple[float, float]:
    """Pearson's chi-squared test of homogeneity on the 2×k table of counts: (p-value, statistic)."""
    import numpy as np
    from scipy.special import chdtrc

    table = np.array([r, c], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or not table[0].sum() or not table[1].sum():
        return 1.0, 0.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return float(chdtrc(table.shape[1] - 1, statistic)), statistic


def js(r: list[int], c: list[int]) -> float:
    """Jensen–Shannon distance, base 2 (0 = same distribution, 1 = disjoint)."""
    import numpy as np

    p = np.array(r, dtype=float) / max(sum(r), 1)
    q = np.array(c, dtype=float) / max(sum(c), 1)
    mid = (p + q) / 2

    def kl(x: Any) -> float:
        keep = x > 0
        return float(np.sum(x[keep] * np.log2(x[keep] / mid[keep])))

    return math.sqrt(max(0.0, (kl(p) + kl(q)) / 2))


def js_net(r: list[int], c: list[int]) -> float:
    """The Jensen–Shannon distance net of sampling noise: two samples of one distribution over k cells
    (n and m rows) have an expected JS divergence of about (k − 1)(1/n + 1/m) / (8 ln 2) bits, which is
    taken off before the square root. So 0.1 means the same change on 300 rows and on 300,000, and on 6
    cells and on 600 (the raw distance of two same-distribution samples grows with k / n)."""
    n, m = sum(r), sum(c)
    k = sum(1 for a, b in zip(r, c, strict=True) if a or b)
    if not n or not m or k < 2:
        return js(r, c)
    noise = (k - 1) * (1 / n + 1 / m) / (8 * math.log(2))
    return math.sqrt(max(0.0, js(r, c) ** 2 - noise))


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    if not n1 or not n2:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = abs(x1 / n1 - x2 / n2) / se
    return math.erfc(z / math.sqrt(2))  # two-sided normal tail


# --- histograms for the report -------------------------------------------------------------------


def numeric_histogram(ref: ColumnProfile, cur: ColumnProfile) -> dict[str, list[Any]]:
    edges = ref.coarse_edges
    # each bin by its upper edge: short enough for a chart's axis
    labels = [f"≤{short(e)}" for e in edges] + [f">{short(edges[-1])}"] if edges else ["all"]
    return {
        "labels": labels,
        "reference": shares(ref.coarse_counts()),
        "current": shares(cur.coarse_counts()),
    }


def categorical_histogram(keys: list[str], r: list[int], c: list[int], top: int = 10) -> dict[str, list[Any]]:
    n, m = max(sum(r), 1), max(sum(c), 1)
    order = sorted(range(len(keys)), key=lambda i: -max(r[i] / n, c[i] / m))
    shown = order[:top]
    rest_r = sum(r) - sum(r[i] for i in shown)
    rest_c = sum(c) - sum(c[i] for i in shown)
    labels = [keys[i] for i in shown]
    ref_counts, cur_counts = [r[i] for i in shown], [c[i] for i in shown]
    if rest_r or rest_c:
        labels.append("(other)")
        ref_counts.append(rest_r)
        cur_counts.append(rest_c)
    return {"labels": labels, "reference": shares(ref_counts), "current": shares(cur_counts)}


def shares(counts: list[int]) -> list[float]:
    total = sum(counts)
    return [round(x / total, 4) if total else 0.0 for x in counts]


def short(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.3g}"


# --- tests the families add (docs/monitor.md, "A decision per column family") -----------------------

MIN_EXPECTED = 5.0  # Cochran's rule: a chi-squared cell needs about 5 expected counts on each side
# Welch's t and Brown–Forsythe lean on the central limit theorem: below this many values a side they
# abstain (p = 1) and the exact KS test decides alone
MIN_MOMENT_ROWS = 20


def pool_small(r: list[int], c: list[int], keep: int = 0) -> tuple[list[int], list[int]]:
    """The 2×k table with every cell whose expected count is under `MIN_EXPECTED` on either side
    pooled into one last cell (the first `keep` cells are pooled there unconditionally).

    The expected count of a cell is its total times a side's share of all rows; pooling by the total
    treats both sides alike, so the pooled table is as valid under "same distribution" as the fine one."""
    n, m = sum(r), sum(c)
    if not n or not m:
        return list(r), list(c)
    small_side = min(n, m) / (n + m)
    big_r, big_c, rest_r, rest_c = [], [], 0, 0
    for i, (a, b) in enumerate(zip(r, c, strict=True)):
        if i < keep or (a + b) * small_side < MIN_EXPECTED:
            rest_r, rest_c = rest_r + a, rest_c + b
        else:
            big_r.append(a)
            big_c.append(b)
    return [*big_r, rest_r], [*big_c, rest_c]


def poisson_ratio_p(k_ref: float, t_ref: float, k_cur: float, t_cur: float, *, greater: bool) -> float:
    """One-sided p-value that the current rate (events per exposure) is above (`greater`) or below
    the reference's, conditioning on the events of both (k_cur | k_ref + k_cur is binomial with
    p = t_cur / (t_ref + t_cur)): exact for Poisson counts, conservative for more regular ones."""
    from scipy.special import bdtr, bdtrc

    total = round(k_ref + k_cur)
    share = t_cur / (t_ref + t_cur) if t_ref + t_cur > 0 else 0.0
    if total <= 0 or not 0.0 < share < 1.0:
        return 1.0
    k = round(k_cur)
    if greater:
        return float(bdtrc(k - 1, total, share)) if k > 0 else 1.0
    return float(bdtr(k, total, share))


def simes(p_values: list[float]) -> float:
    """Simes' combination of k p-values (min over i of k·p_(i)/i): a valid test of "no change" when the
    tests are independent or positively dependent, and more powerful than Bonferroni's k·min(p)."""
    ordered = sorted(p_values)
    k = len(ordered)
    return min(1.0, *(k * p / (i + 1) for i, p in enumerate(ordered)))


def welch_p(mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int) -> float:
    """Welch's two-sided t-test of equal means from each side's mean, variance and count."""
    from scipy.special import stdtr

    if n_a < MIN_MOMENT_ROWS or n_b < MIN_MOMENT_ROWS:
        return 1.0
    se2_a, se2_b = var_a / n_a, var_b / n_b
    se = math.sqrt(se2_a + se2_b)
    if se == 0 or not math.isfinite(se):  # no spread on either side: the constant rule decides
        return 1.0
    df = (se2_a + se2_b) ** 2 / (se2_a**2 / (n_a - 1) + se2_b**2 / (n_b - 1))
    return float(2 * stdtr(df, -abs(mean_a - mean_b) / se))


def spread_p(a: list[float], b: list[float]) -> float:
    """Brown–Forsythe's test of equal spread: the one-way ANOVA F test on the absolute deviations from
    each side's median (scipy's `levene(center="median")`), robust to skew and heavy tails, unlike an
    F-test of the variances; pooled, not Welch, so unequal sizes do not make it anti-conservative."""
    import numpy as np
    from scipy.special import fdtrc

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) < MIN_MOMENT_ROWS or len(y) < MIN_MOMENT_ROWS:
        return 1.0
    dx, dy = np.abs(x - np.median(x)), np.abs(y - np.median(y))
    n = len(dx) + len(dy)
    grand = (dx.sum() + dy.sum()) / n
    between = len(dx) * (dx.mean() - grand) ** 2 + len(dy) * (dy.mean() - grand) ** 2
    within = float(((dx - dx.mean()) ** 2).sum() + ((dy - dy.mean()) ** 2).sum())
    if within == 0:
        return 1.0
    return float(fdtrc(1, n - 2, (n - 2) * between / within))


def unseen_p(singletons: int, doubletons: int, n: int, unseen: int, m: int) -> float:
    """One-sided p-value that the current's `unseen` rows out of `m` exceed what a same-distribution
    sample would hold, by Good–Turing: the expected share is the reference's singletons over its `n`
    rows, N1 / n. Its variance adds the current's sampling (inflated by the chance that an unseen value
    comes back: about 2·N2 / (n·N1) of the rows per value) and the estimate's own (Esty, 1983:
    (N1 + 2·N2) / n²). With no singletons the estimate is 0 and the rows are tested as new events
    against none in the reference (`poisson_ratio_p`)."""
    if not m or not n:
        return 1.0
    if not singletons:
        return poisson_ratio_p(0, n, unseen, m, greater=True)
    expected = min(1.0, singletons / n)
    comeback = 1.0 + 2.0 * m * doubletons / (n * singletons)
    var = expected * (1 - expected) / m * comeback + (singletons + 2 * doubletons) / n**2
    if var <= 0:
        return 1.0
    z = (unseen / m - expected) / math.sqrt(var)
    return 0.5 * math.erfc(z / math.sqrt(2))
