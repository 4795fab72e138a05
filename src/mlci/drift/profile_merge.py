"""Merging profiles: two profiles of consecutive shares of one data set as the profile of both.

What partitioned monitoring stands on (mlci.monitor.partition); the property is tested in
tests/drift/test_profile_merge.py for every column family.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from mlci.drift.profile_model import ColumnProfile, Profile, ProfileSettings, combine
from mlci.errors import MlciError


def merge(a: Profile, b: Profile, reference: Profile | None = None) -> Profile:
    """Two profiles of consecutive shares of one data set (`a`'s rows first), built with the same
    edges, as the profile one pass over both would give.

    Exact for every statistic drift decides on: counts, missing values, bin counts, exact values,
    categories, unseen values, the order and steps of a time index. Sums (mean, M2, per-bin sums)
    equal up to floating-point rounding (Chan et al.'s update; relative error ≈ 1e-12). Two bounds:
    current profiles name at most ``max_categories`` values the reference never had, per share as in
    one pass, so when one share alone has more, which of them are named (the rest pooled) can differ
    (their rows, `unseen`, stay exact) — pass the `reference` so the merged profile keeps the cap;
    a reference's Good–Turing singletons and doubletons are estimated (a value seen once in each
    share counts as two singletons). Raises MlciError when a column's types or bin edges differ.
    """
    columns: dict[str, ColumnProfile] = {}
    for name in [*a.columns, *(n for n in b.columns if n not in a.columns)]:
        x, y = a.columns.get(name), b.columns.get(name)
        if x is not None and y is not None:
            ref = reference.columns.get(name) if reference is not None else None
            columns[name] = _merge_column(x, y, a.settings, ref)
        else:
            only = x if x is not None else y
            assert only is not None
            columns[name] = replace(only)
    return Profile(columns, a.rows + b.rows, a.settings, dict(a.source))


def _merge_column(
    x: ColumnProfile, y: ColumnProfile, settings: ProfileSettings, ref: ColumnProfile | None = None
) -> ColumnProfile:
    if (y.kind not in ("empty", x.kind) and x.kind != "empty") or (
        x.kind == "numeric" and y.kind == "numeric" and x.edges != y.edges
    ):
        raise MlciError(f"cannot merge profiles of column {x.name!r}: different types or bin edges")
    typed = y if x.kind == "empty" and y.kind != "empty" else x  # a share of nulls only has no type
    out = replace(typed, categories=dict(x.categories), counts=list(typed.counts), sums=list(typed.sums))
    out.count, out.missing = x.count + y.count, x.missing + y.missing
    _merge_moments(out, x, y)
    xs, ys = _kept(x), _kept(y)
    both = (xs or []) + (ys or [])
    exact = xs is not None and ys is not None and len(both) <= settings.exact_limit
    out.values = both if exact and typed.kind == "numeric" else None
    _merge_categories(out, x, y, settings, ref)
    if x.value_hashes or y.value_hashes:
        from mlci.drift import valueset

        out.value_hashes, out.hash_level = valueset.union(
            x.value_hashes, x.hash_level, y.value_hashes, y.hash_level, settings.hash_limit
        )
        out.distinct = valueset.distinct(out.value_hashes, out.hash_level)
    out.unseen_checked = x.unseen_checked + y.unseen_checked
    out.unseen = x.unseen + y.unseen
    out.against_reference = x.against_reference or y.against_reference
    out.length_sum, out.spaced = x.length_sum + y.length_sum, x.spaced + y.spaced
    # an estimate: a value seen once in each chunk is counted as two singletons
    out.singletons, out.doubletons = x.singletons + y.singletons, x.doubletons + y.doubletons
    _merge_steps(out, x, y)
    return out


def _merge_moments(out: ColumnProfile, x: ColumnProfile, y: ColumnProfile) -> None:
    """Mean and M2 (Chan et al.), min and max, and the bins' counts and sums."""
    if not y.present or y.kind != "numeric":
        return
    if not x.present:
        out.mean, out.m2, out.min, out.max = y.mean, y.m2, y.min, y.max
    else:
        out.mean, out.m2 = x.mean, x.m2
        combine(out, x.present, y.present, y.mean, y.m2)
        out.min = _least(x.min, y.min, min)
        out.max = _least(x.max, y.max, max)
    if x.counts and y.counts:
        out.counts = [a + b for a, b in zip(x.counts, y.counts, strict=True)]
        out.sums = [a + b for a, b in zip(x.sums, y.sums, strict=True)]
    elif y.counts:
        out.counts, out.sums = list(y.counts), list(y.sums)


def _kept(col: ColumnProfile) -> list[float] | None:
    """The exact values a share kept: none to keep when it had no values (of any type)."""
    return [] if not col.present else col.values


def _least(a: float | None, b: float | None, pick: Any) -> float | None:
    """min/max of two bounds either of which may be unknown (no values): 0.0 is a bound, not a gap."""
    if a is None or b is None:
        return b if a is None else a
    return float(pick(a, b))


def _merge_categories(
    out: ColumnProfile,
    x: ColumnProfile,
    y: ColumnProfile,
    settings: ProfileSettings,
    ref: ColumnProfile | None,
) -> None:
    """Counts by name added; against a reference, the values it never had stay named up to
    ``max_categories`` in order of first occurrence (`x`'s first), the rest pooled, as one pass does."""
    out.other = x.other + y.other
    out.unseen_other = x.unseen_other + y.unseen_other
    named_unseen = 0
    if ref is not None:
        named_unseen = sum(1 for k in x.categories if k not in ref.categories)
    for key, n in y.categories.items():
        if key in out.categories or ref is None or key in ref.categories:
            out.categories[key] = out.categories.get(key, 0) + n
        elif named_unseen < settings.max_categories:
            out.categories[key] = n
            named_unseen += 1
        else:
            out.unseen_other += n


def _merge_steps(out: ColumnProfile, x: ColumnProfile, y: ColumnProfile) -> None:
    """Ascending when both are and `y` starts where `x` ended; the step between them counted too."""
    if y.last is None:  # `y` had no values: `x`'s order and steps as they were
        out.last, out.ascending = x.last, x.ascending
        out.step_counts, out.step_sums = dict(x.step_counts), dict(x.step_sums)
        return
    out.last = y.last
    if x.last is None:
        out.ascending = x.ascending and y.ascending
        out.step_counts, out.step_sums = dict(y.step_counts), dict(y.step_sums)
        return
    assert y.min is not None  # y had values
    boundary = y.min - x.last  # ascending `y` starts at its minimum
    out.ascending = x.ascending and y.ascending and boundary >= 0
    if not out.ascending:
        out.step_counts, out.step_sums = {}, {}
        return
    out.step_counts = {
        k: x.step_counts.get(k, 0) + y.step_counts.get(k, 0) for k in {*x.step_counts, *y.step_counts}
    }
    out.step_sums = {
        k: x.step_sums.get(k, 0.0) + y.step_sums.get(k, 0.0) for k in {*x.step_sums, *y.step_sums}
    }
    if boundary == 0:  # a zero step is counted, not summed (as `add_steps` does)
        out.step_counts["0"] = out.step_counts.get("0", 0) + 1
        return
    key = str(math.floor(2 * math.log2(boundary)))
    out.step_counts[key] = out.step_counts.get(key, 0) + 1
    out.step_sums[key] = out.step_sums.get(key, 0.0) + boundary
