"""The decision for time indexes: timestamps (or ascending numbers, like auto-increment ids) whose
current window lies past the reference's.

The next week of an hourly feed is not "drift" because its timestamps are later: a time index is
judged on its spacing and gaps, never on its position. A column is one when it is a date/timestamp
or ascending on both sides (an index), and the current values sit beyond the reference's outer
decile (the next window, not a sample of the same period, which is compared as numbers). Then:

- **rate**: rows per unit of time, (present − 1) / (max − min) on each side; Poisson rate-ratio test
  (conditional binomial, exact for random arrivals, conservative for regular feeds); effect: the rate
  changed by a factor of at least 1 + `rate`;
- **steps** (both sides ascending): the histogram of steps between neighbours on half-powers of two,
  chi-squared on it (small cells pooled) and Jensen–Shannon ≥ `js`: hourly becoming two-hourly, or
  regular becoming bursty;
- **gaps** (a regular reference: ≥ 99 % of its steps within a factor 2 of the typical one): the share
  of the current window's time inside steps over twice the typical one, drift at ≥ `missing_rate`
  (a feed that stops for a day of a week misses 14 % of its rows); no test decides this, as for a
  constant column: a regular feed that stops is the change itself.
"""

from __future__ import annotations

import math

from mlci.config import ColumnThresholds as Rule
from mlci.drift import stats
from mlci.drift.profile_model import ColumnProfile
from mlci.drift.result import ColumnDrift, base

REGULAR_SHARE = 0.99  # a feed is regular when this share of its steps is within a factor 2 of the typical one
MIN_ROWS = 3


def is_time_index(ref: ColumnProfile, cur: ColumnProfile) -> bool:
    """Whether the column is a time index whose current window lies past the reference's."""
    if ref.kind != "numeric" or ref.present < MIN_ROWS or cur.present < 2 or not ref.coarse_edges:
        return False
    ascending = ref.ascending and cur.ascending and "0" not in ref.step_counts
    if ref.type_kind != "datetime" and not ascending:
        return False
    return cur.mean > ref.coarse_edges[-1] or cur.mean < ref.coarse_edges[0]


def measure(ref: ColumnProfile, cur: ColumnProfile, rule: Rule) -> ColumnDrift:
    result = base(ref, cur, "numeric", "rate")
    result.column_class = "time-index"
    result.notes.append("time index: judged on its rate, steps and gaps, not on its position")
    span_r, span_c = (ref.max or 0.0) - (ref.min or 0.0), (cur.max or 0.0) - (cur.min or 0.0)
    if span_r <= 0 or span_c <= 0:
        return result
    rate_r, rate_c = (ref.present - 1) / span_r, (cur.present - 1) / span_c
    ratio = rate_c / rate_r
    greater = ratio > 1
    p_rate = min(
        1.0, 2 * stats.poisson_ratio_p(ref.present - 1, span_r, cur.present - 1, span_c, greater=greater)
    )
    result.stats = {"rate_reference": rate_r, "rate_current": rate_c, "rate_ratio": ratio, "p_value": p_rate}
    result.method, result.score, result.threshold = "rate", abs(math.log(ratio)), math.log1p(rule.rate)
    large = f"rows per unit of time ×{ratio:.3g} (p={p_rate:.2g})" if result.score >= result.threshold else ""
    result.candidates_all.append(("rate", p_rate, large))
    if ref.ascending and cur.ascending and ref.step_counts and cur.step_counts:
        _steps(ref, cur, rule, result)
        _gaps(ref, cur, rule, result, span_c)
    return result


def _steps(ref: ColumnProfile, cur: ColumnProfile, rule: Rule, result: ColumnDrift) -> None:
    keys = sorted({*ref.step_counts, *cur.step_counts}, key=lambda k: -1 if k == "0" else int(k))
    r = [ref.step_counts.get(k, 0) for k in keys]
    c = [cur.step_counts.get(k, 0) for k in keys]
    pooled_r, pooled_c = stats.pool_small([0, *r], [0, *c], keep=1)
    p, _ = stats.chi2(pooled_r, pooled_c)
    js = stats.js_net(pooled_r, pooled_c)
    result.stats.update(steps_p_value=p, steps_js=js)
    labels = ["0" if k == "0" else f"≈{stats.short(2 ** (int(k) / 2))}" for k in keys]
    result.histogram = {"labels": labels, "reference": stats.shares(r), "current": stats.shares(c)}
    large = (
        f"steps between rows: Jensen–Shannon {js:.3g} ≥ {rule.js:g} (chi² p={p:.2g})" if js >= rule.js else ""
    )
    result.candidates_all.append(("steps", p, large))


def _gaps(ref: ColumnProfile, cur: ColumnProfile, rule: Rule, result: ColumnDrift, span_c: float) -> None:
    typical = max(ref.step_counts, key=lambda k: ref.step_counts[k])
    if typical == "0":
        return
    near = sum(n for k, n in ref.step_counts.items() if k != "0" and abs(int(k) - int(typical)) <= 2)
    if near < REGULAR_SHARE * sum(ref.step_counts.values()):
        return
    gap_time = sum(t for k, t in cur.step_sums.items() if k != "0" and int(k) > int(typical) + 2)
    share = gap_time / span_c
    result.stats["gap_share"] = share
    if share >= rule.missing_rate:
        result.reasons.append(f"gaps in a regular feed: {share:.1%} of the current window has no rows")
