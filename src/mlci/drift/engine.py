"""Drift between a reference profile and a current profile: per column, and for the data set.

Public API (also used by `mlci data`):

    from mlci.drift.profile import ProfileSettings, build_reference, build_current, Profile
    from mlci.drift.engine import Thresholds, compare, compare_schema, DriftResult

    settings = ProfileSettings(bins=10, exact_limit=5000)
    reference = build_reference(lambda: tabular.iter_batches(ref_paths), settings)  # 1–2 passes
    current = build_current(tabular.iter_batches(cur_paths), reference)               # 1 pass
    result = compare(reference, current, Thresholds.from_config(config.monitor), exclude={"target"})
    result.dataset_drift        # bool: share of drifted columns ≥ drift_share
    result.drifted_columns()    # names
    result.to_json()            # {"dataset_drift", "drifted_share", "schema", "columns": [...]}

`compare_schema` raises `MlciError` (exit 2) when the schemas are wholly different (no common
column, or more than half of the reference's columns missing) instead of reporting a wall of drift.

The rule for one column, at every sample size: it drifted when the change is both *significant*
(p-value < `p_value`: not sampling noise) and *large enough to matter* (an effect size over its
threshold). Small samples are decided by the tests (the effect sizes of noise are large there);
on large samples every p-value is tiny and the effect sizes decide. See docs/monitor.md.

- numeric (`drift.numeric`): Kolmogorov–Smirnov, Welch and Brown–Forsythe (exact on the values when both sides kept them, i.e. at most
  `exact_limit` values; else from the fine quantile bins, D exact to within one bin's mass ≈ 1%),
  Wasserstein distance in reference standard deviations, PSI on the reference's coarse quantile bins;
- categorical: chi-squared on the counts, Jensen–Shannon distance (base 2, in [0, 1]), and the
  share of values the reference never had (unseen categories);
- both: the change of the missing-value share (two-proportion z-test + absolute change).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlci.config import ColumnThresholds as Rule
from mlci.config import DriftRule
from mlci.drift import categorical, kinds, numeric, stats, timecols
from mlci.drift.profile import ColumnProfile, Profile
from mlci.drift.result import ColumnDrift, DriftResult, SchemaDiff, base
from mlci.errors import MlciError

if TYPE_CHECKING:
    from mlci.config import MonitorConfig

__all__ = ["ColumnDrift", "DriftResult", "Rule", "SchemaDiff", "Thresholds", "compare", "compare_column"]


@dataclass(frozen=True)
class Thresholds:
    default: Rule = field(default_factory=Rule)
    columns: dict[str, Rule] = field(default_factory=dict)
    drift_share: float = 0.3

    @classmethod
    def from_config(cls, monitor: MonitorConfig) -> Thresholds:
        """The project's thresholds (`monitor:`), each column's overrides applied over them."""
        default = Rule(**{f.name: getattr(monitor, f.name) for f in dataclasses.fields(DriftRule)})
        columns = {
            name: dataclasses.replace(
                default, ignore=over.ignore, **{k: getattr(over, k) for k in over.given_keys if k != "ignore"}
            )
            for name, over in monitor.columns.items()
        }
        return cls(default=default, columns=columns, drift_share=monitor.drift_share)

    def rule(self, column: str) -> Rule:
        return self.columns.get(column, self.default)


# --- schema --------------------------------------------------------------------------------------


def compare_schema(reference: Profile, current: Profile, exclude: Collection[str] = ()) -> SchemaDiff:
    ref = [n for n in reference.columns if n not in exclude]
    cur = [n for n in current.columns if n not in exclude]
    check_columns(ref, cur)
    cur_set, ref_set = set(cur), set(ref)
    common = [n for n in ref if n in cur_set]
    missing = [n for n in ref if n not in cur_set]
    new = [n for n in cur if n not in ref_set]
    changed = []
    for name in common:
        a, b = reference.columns[name], current.columns[name]
        # a column with no values on one side has no type there (a CSV reader calls it text): not a change
        if "empty" not in (a.kind, b.kind) and a.kind != b.kind and a.present and b.present:
            changed.append(
                {"name": name, "reference": f"{a.kind} ({a.dtype})", "current": f"{b.kind} ({b.dtype})"}
            )
    return SchemaDiff(common=common, missing=missing, new=new, changed=changed)


def check_columns(reference: Sequence[str], current: Sequence[str]) -> None:
    """Raise when the current columns are wholly different: none in common, or most missing."""
    cur_set, ref_set = set(current), set(reference)
    missing = [n for n in reference if n not in cur_set]
    new = [n for n in current if n not in ref_set]
    if reference and (len(missing) == len(reference) or len(missing) > len(reference) / 2):
        shown = ", ".join(repr(n) for n in missing[:8]) + (" …" if len(missing) > 8 else "")
        extra = ", ".join(repr(n) for n in new[:8]) + (" …" if len(new) > 8 else "")
        raise MlciError(
            f"the current data does not look like the reference: {len(missing)} of {len(reference)} "
            f"reference columns are missing ({shown})" + (f"; it has other columns ({extra})" if new else ""),
            "check that --current points to the same kind of data as the model was trained on "
            "(same column names; a CSV needs a header row)",
        )


# --- comparison ----------------------------------------------------------------------------------


def compare(
    reference: Profile,
    current: Profile,
    thresholds: Thresholds | None = None,
    exclude: Collection[str] = (),
) -> DriftResult:
    thresholds = thresholds or Thresholds()
    if current.rows == 0:
        raise MlciError(
            "the current data has no rows",
            "check the path or glob given to --current: the files exist but hold a header only",
        )
    schema = compare_schema(reference, current, exclude)
    changed = {c["name"] for c in schema.changed}
    results = []
    for name in schema.common:
        rule = thresholds.rule(name)
        ref, cur = reference.columns[name], current.columns[name]
        if rule.ignore:
            results.append(_ignored(ref, cur, "ignored in mlci.yaml"))
        elif name in changed:
            results.append(_type_changed(ref, cur))
        else:
            results.append(_measure(ref, cur, rule))
    adjusted = stats.benjamini_hochberg([p for r in results for _, p, _ in r.candidates_all])
    for result in results:
        n = len(result.candidates_all)
        _decide(result, thresholds.rule(result.name), adjusted[:n])
        adjusted = adjusted[n:]
    return DriftResult(results, schema, thresholds.drift_share, reference.rows, current.rows)


def compare_column(ref: ColumnProfile, cur: ColumnProfile, rule: Rule) -> ColumnDrift:
    """One column on its own: its p-values are not adjusted for the other columns."""
    result = _measure(ref, cur, rule)
    _decide(result, rule, [p for _, p, _ in result.candidates_all])
    return result


def _measure(ref: ColumnProfile, cur: ColumnProfile, rule: Rule) -> ColumnDrift:
    kind = ref.kind if ref.kind != "empty" and ref.present else cur.kind  # the side that has values
    if kind == "categorical" and kinds.is_free_text(ref if ref.present else cur):
        side = ref if ref.present else cur
        return _ignored(
            ref,
            cur,
            f"free text (mean length {side.length_sum / side.present:.0f}, mostly distinct values): "
            "not compared value by value",
        )
    if kind == "numeric" and timecols.is_time_index(ref, cur):
        result = timecols.measure(ref, cur, rule)
    elif kind == "numeric":
        result = numeric.measure(ref, cur, rule)
    elif kind == "categorical":
        result = categorical.measure(ref, cur, rule)
    else:
        return _ignored(ref, cur, kinds.not_compared(ref.dtype if ref.kind != "empty" else cur.dtype))
    _missing_change(ref, cur, rule, result)
    return result


def _decide(result: ColumnDrift, rule: Rule, adjusted: list[float]) -> None:
    """Keep the large-enough changes whose adjusted p-value is significant."""
    fired = []  # the tests that found a change: the column's method is "missing" when only that one did
    for (test, _, reason), p in zip(result.candidates_all, adjusted, strict=True):
        result.stats[f"{test}_p_adjusted"] = p
        if reason and p < rule.p_value:
            result.reasons.append(reason)
            fired.append(test)
    if fired and all(test == "missing" for test in fired):
        delta = abs(result.stats["missing_delta"])
        result.method, result.score, result.threshold = "missing", delta, rule.missing_rate
    result.drifted = bool(result.reasons)


def _ignored(ref: ColumnProfile, cur: ColumnProfile, why: str) -> ColumnDrift:
    result = base(ref, cur, ref.kind, "ignored")
    result.notes.append(why)
    return result


def _type_changed(ref: ColumnProfile, cur: ColumnProfile) -> ColumnDrift:
    result = base(ref, cur, ref.kind, "none")
    result.reasons.append(f"type changed: {ref.kind} ({ref.dtype}) → {cur.kind} ({cur.dtype})")
    result.drifted = True
    return result


def _missing_change(ref: ColumnProfile, cur: ColumnProfile, rule: Rule, result: ColumnDrift) -> None:
    a, b = ref.missing_share, cur.missing_share
    delta = b - a
    p = stats.two_proportion_p(ref.missing, ref.count, cur.missing, cur.count)
    result.stats["missing_delta"] = delta
    result.stats["missing_p_value"] = p
    if ref.missing or cur.missing:  # with none on either side the test cannot reject: not counted
        large = f"missing values {a:.1%} → {b:.1%}" if abs(delta) >= rule.missing_rate else ""
        result.candidates_all.append(("missing", p, large))
