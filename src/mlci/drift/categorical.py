"""The decision for categorical columns (booleans, low- and high-cardinality text, identifiers).

Two questions, each with a test and an effect size:

- **Did the mass move among the values?** Pearson's chi-squared test on the 2×k table of counts, with
  every value whose expected count is under 5 on either side pooled into one cell together with the
  reference's pooled values and the current's unseen ones (`stats.pool_small`): a chi-squared test
  on cells of ~2 expected counts is not valid, and two samples of a sparse column always differ in
  which rare values they hold. Effect: Jensen–Shannon distance on the same pooled table, net of the
  distance two same-distribution samples of these sizes show (`stats.js_net`).
- **Are there more new values than a same-distribution sample would show?** By Good–Turing, the
  share of a new sample's rows holding values the reference never had is about the share of the
  reference's rows holding values it saw once (its singletons, N1 / n). The current's unseen rows U
  out of M are tested against that share with its variance (`stats.unseen_p`, one-sided), and
  the effect is the excess U / M − N1 / n over `unseen_share`. An identifier column (every value
  new) expects every value to be new: no drift there, while a 5 % new category on a column of known
  values is.
"""

from __future__ import annotations

from mlci.config import ColumnThresholds as Rule
from mlci.drift import stats
from mlci.drift.profile_model import ColumnProfile
from mlci.drift.result import ColumnDrift, base, no_values

# a column whose reference values are mostly seen once is an identifier: "new" is its normal state
IDENTIFIER_SINGLETON_SHARE = 0.5


def measure(ref: ColumnProfile, cur: ColumnProfile, rule: Rule) -> ColumnDrift:
    result = base(ref, cur, "categorical", "chi2")
    if no_values(ref, cur, result):
        return result
    keys = list(ref.categories) + [k for k in cur.categories if k not in ref.categories]
    r = [ref.categories.get(k, 0) for k in keys]
    c = [cur.categories.get(k, 0) for k in keys]
    unseen = {k: n for k, n in cur.categories.items() if k not in ref.categories}
    if cur.against_reference:  # decided against the reference's value hashes
        new_rows, checked = cur.unseen, cur.unseen_checked
    else:  # a profile counted on its own: only values named on both sides can be told apart
        new_rows, checked = sum(unseen.values()), cur.present
    # the pooled cell first: the reference's pooled values, the current's pooled ones and its unseen
    # values beyond the named ones (the named ones have their own cells, pooled when small)
    pooled_r, pooled_c = stats.pool_small([ref.other, *r], [cur.other + cur.unseen_other, *c], keep=1)
    p_chi2, chi2 = stats.chi2(pooled_r, pooled_c)
    js = stats.js_net(pooled_r, pooled_c)
    unseen_share = new_rows / checked if checked else 0.0
    expected = min(1.0, ref.singletons / ref.present) if ref.singletons else 0.0
    p_unseen = stats.unseen_p(ref.singletons, ref.doubletons, ref.present, new_rows, checked)
    result.stats = {
        "chi2": chi2,
        "p_value": p_chi2,
        "js": js,  # net of sampling noise (`stats.js_net`)
        "js_observed": stats.js(pooled_r, pooled_c),
        "cells": len(pooled_r),
        "unseen_share": unseen_share,
        "unseen_expected": expected,
        "unseen_p_value": p_unseen,
        "unseen_categories": len(unseen) + (1 if cur.unseen_other else 0),
        "unseen_top": dict(sorted(unseen.items(), key=lambda kv: -kv[1])[:10]),
    }
    result.histogram = stats.categorical_histogram([*keys, "(other)"], [*r, ref.other], [*c, cur.other])
    _describe(ref, result, unseen_share, expected, unseen, cur.unseen_other > 0)
    _candidates(result, rule, js, p_chi2, unseen_share - expected, p_unseen)
    return result


def _describe(
    ref: ColumnProfile, result: ColumnDrift, share: float, expected: float, unseen: dict[str, int], more: bool
) -> None:
    if ref.singletons / max(ref.present, 1) >= IDENTIFIER_SINGLETON_SHARE:
        result.column_class = "identifier"
        result.notes.append(
            f"identifier-like: {ref.singletons / ref.present:.0%} of the reference's rows hold a value "
            "seen once, so most new values are expected"
        )
    if share:
        result.notes.append(
            f"{'more than ' if more else ''}{len(unseen)} value(s) the reference never had, {share:.1%} of "
            f"the rows ({expected:.1%} expected from the reference's values seen once)"
        )


def _candidates(
    result: ColumnDrift, rule: Rule, js: float, p_chi2: float, excess: float, p_unseen: float
) -> None:
    if excess / rule.unseen_share > js / rule.js:
        result.method, result.score, result.threshold = "unseen", excess, rule.unseen_share
    else:
        result.method, result.score, result.threshold = "jensen-shannon", js, rule.js
    moved = f"Jensen–Shannon {js:.3g} ≥ {rule.js:g} (chi² p={p_chi2:.2g})" if js >= rule.js else ""
    result.candidates_all.append(("distribution", p_chi2, moved))
    new = ""
    if excess >= rule.unseen_share:
        new = f"unseen values {excess:.1%} of rows over the expected ≥ {rule.unseen_share:.1%} (p={p_unseen:.2g})"
    result.candidates_all.append(("unseen", p_unseen, new))
