"""The decision for numeric columns (continuous and discrete numbers; dates and timestamps that are not a
time index), and for columns that were constant in the reference.

Significance: three p-values combined by Simes' rule (valid for positively dependent tests, as these
are; the false-alarm rate stays at `p_value`): Kolmogorov–Smirnov (any change of shape), Welch's t-test (the mean; exact from the profile's
moments at any size) and, on exact values, Brown–Forsythe (the spread). KS alone needs ~2x the rows to
see a 0.25-std shift or a 1.5x scale change that the t-test and Brown–Forsythe see. Effect: Wasserstein
distance in reference standard deviations or PSI on the reference's deciles.
"""

from __future__ import annotations

from mlci.config import ColumnThresholds as Rule
from mlci.drift import stats
from mlci.drift.profile_model import ColumnProfile
from mlci.drift.result import ColumnDrift, base, no_values


def measure(ref: ColumnProfile, cur: ColumnProfile, rule: Rule) -> ColumnDrift:
    exact = ref.values is not None and cur.values is not None
    result = base(ref, cur, "numeric", "ks-exact" if exact else "ks-binned")
    if no_values(ref, cur, result):
        return result
    if exact:
        d, p_ks, w = stats.exact_ks_wasserstein(ref.values or [], cur.values or [])
        p_spread = stats.spread_p(ref.values or [], cur.values or [])
    else:
        d, p_ks, w = stats.binned_ks_wasserstein(ref, cur)
        p_spread = 1.0
    p_mean = stats.welch_p(ref.mean, ref.std**2, ref.present, cur.mean, cur.std**2, cur.present)
    p = stats.simes([p_ks, p_mean, p_spread] if exact else [p_ks, p_mean])
    psi = stats.psi(ref.coarse_counts(), cur.coarse_counts())
    std = ref.std
    w_norm = w / std if std > 0 else (0.0 if w == 0 else None)
    result.stats = {
        "ks_statistic": d,
        "p_value": p,
        "ks_p_value": p_ks,
        "mean_p_value": p_mean,
        "spread_p_value": p_spread if exact else None,
        "wasserstein": w,
        "wasserstein_norm": w_norm,
        "psi": psi,
    }
    result.histogram = stats.numeric_histogram(ref, cur)
    # the score shown is the effect that is furthest over (or closest to) its threshold
    if w_norm is not None and w_norm / rule.wasserstein >= psi / rule.psi:
        result.method, result.score, result.threshold = "wasserstein", w_norm, rule.wasserstein
    else:
        result.method, result.score, result.threshold = "psi", psi, rule.psi
    if std == 0 or w_norm is None:
        _constant(ref, cur, rule, result)
        return result
    large = []
    if w_norm >= rule.wasserstein:
        large.append(f"Wasserstein {w_norm:.3g} std ≥ {rule.wasserstein:g} (p={p:.2g})")
    if psi >= rule.psi:
        large.append(f"PSI {psi:.3g} ≥ {rule.psi:g} (p={p:.2g})")
    result.candidates_all.append(("distribution", p, "; ".join(large)))
    return result


def _constant(ref: ColumnProfile, cur: ColumnProfile, rule: Rule, result: ColumnDrift) -> None:
    """A reference with one value: the rows of another value in the current data, tested against the
    reference having none (`other` of them split between the sides as chance would: hypergeometric,
    p = (m / (n + m))^k), and large enough at `unseen_share` of the rows."""
    result.notes.append("constant in the reference: judged on the share of other values")
    if cur.min == ref.min and cur.max == ref.max:
        return
    values = cur.values
    if values is not None:
        other = sum(1 for v in values if v != ref.min)
    else:  # binned: the rows outside the reference's one bin
        other = cur.present - max(cur.counts) if cur.counts else cur.present
    n, m = ref.present, cur.present
    p = (m / (n + m)) ** other if other else 1.0
    share = other / m if m else 0.0
    result.stats.update(p_value=p, other_values_share=share)
    result.method, result.score, result.threshold = "other-values", share, rule.unseen_share
    large = ""
    if share >= rule.unseen_share:
        large = (
            f"constant {stats.short(ref.min)} in the reference, now {stats.short(cur.min)} to "
            f"{stats.short(cur.max)} ({share:.1%} of rows other, p={p:.2g})"
        )
    result.candidates_all.append(("distribution", p, large))
