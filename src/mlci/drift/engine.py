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

- numeric: Kolmogorov–Smirnov (exact on the values when both sides kept them, i.e. at most
  `exact_limit` values; else from the fine quantile bins, D exact to within one bin's mass ≈ 1%),
  Wasserstein distance in reference standard deviations, PSI on the reference's coarse quantile bins;
- categorical: chi-squared on the counts, Jensen–Shannon distance (base 2, in [0, 1]), and the
  share of values the reference never had (unseen categories);
- both: the change of the missing-value share (two-proportion z-test + absolute change).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlci.drift import kinds, stats
from mlci.drift.profile import ColumnProfile, Profile
from mlci.errors import MlciError

if TYPE_CHECKING:
    from mlci.config import MonitorConfig


@dataclass(frozen=True)
class Rule:
    """The thresholds that decide one column."""

    p_value: float = 0.01
    psi: float = 0.2
    wasserstein: float = 0.1
    js: float = 0.1
    missing_rate: float = 0.05
    unseen_share: float = 0.01
    ignore: bool = False


@dataclass(frozen=True)
class Thresholds:
    default: Rule = Rule()
    columns: dict[str, Rule] = field(default_factory=dict)
    drift_share: float = 0.3

    @classmethod
    def from_config(cls, monitor: MonitorConfig) -> Thresholds:
        default = Rule(
            p_value=monitor.p_value,
            psi=monitor.psi,
            wasserstein=monitor.wasserstein,
            js=monitor.js,
            missing_rate=monitor.missing_rate,
            unseen_share=monitor.unseen_share,
        )
        columns = {}
        for name, over in monitor.columns.items():
            given = {
                k: getattr(over, k) for k in Rule.__dataclass_fields__ if getattr(over, k, None) is not None
            }
            columns[name] = Rule(**{**default.__dict__, **given})
        return cls(default=default, columns=columns, drift_share=monitor.drift_share)

    def rule(self, column: str) -> Rule:
        return self.columns.get(column, self.default)


@dataclass
class ColumnDrift:
    name: str
    kind: str
    drifted: bool
    reasons: list[str]  # why it drifted, in words (empty when it did not)
    test: str  # ks-exact, ks-binned, chi2, none
    stats: dict[str, Any]
    reference: dict[str, Any]
    current: dict[str, Any]
    histogram: dict[str, list[Any]]  # labels, reference shares, current shares
    notes: list[str] = field(default_factory=list)
    # (test, p-value, reason if large enough else "") for every test run; decided after adjustment
    candidates_all: list[tuple[str, float, str]] = field(default_factory=list, repr=False)
    method: str = ""  # the effect size shown as `score`: wasserstein, psi, jensen-shannon, unseen
    score: float | None = None
    threshold: float | None = None
    column_class: str = ""  # mlci.drift.kinds.column_class of the reference (else current) column

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "candidates_all"}


@dataclass
class SchemaDiff:
    common: list[str]
    missing: list[str]  # in the reference, not in the current data
    new: list[str]  # in the current data only
    changed: list[dict[str, str]]  # {"name", "reference", "current"} types

    @property
    def changed_any(self) -> bool:
        return bool(self.missing or self.new or self.changed)

    def to_json(self) -> dict[str, Any]:
        return {"common": self.common, "missing": self.missing, "new": self.new, "changed": self.changed}


@dataclass
class DriftResult:
    columns: list[ColumnDrift]
    schema: SchemaDiff
    drift_share: float  # the threshold
    reference_rows: int
    current_rows: int

    @property
    def compared(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.test != "ignored"]

    def drifted_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.drifted]

    @property
    def drifted_share(self) -> float:
        compared = self.compared
        return sum(c.drifted for c in compared) / len(compared) if compared else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.compared) and self.drifted_share >= self.drift_share

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset_drift": self.dataset_drift,
            "drifted_share": self.drifted_share,
            "drift_share_threshold": self.drift_share,
            "drifted_columns": self.drifted_columns(),
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "schema": self.schema.to_json(),
            "columns": [c.to_json() for c in self.columns],
        }


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
        result = _ignored(
            ref,
            cur,
            f"free text (mean length {side.length_sum / side.present:.0f}, mostly distinct values): "
            "not compared value by value",
        )
        return result
    if kind == "numeric":
        result = _numeric(ref, cur, rule)
    elif kind == "categorical":
        result = _categorical(ref, cur, rule)
    else:
        return _ignored(ref, cur, f"type {ref.dtype} is not compared (neither numeric nor text)")
    _missing_change(ref, cur, rule, result)
    return result


def _decide(result: ColumnDrift, rule: Rule, adjusted: list[float]) -> None:
    """Keep the large-enough changes whose adjusted p-value is significant."""
    for (test, _, reason), p in zip(result.candidates_all, adjusted, strict=True):
        result.stats[f"{test}_p_adjusted"] = p
        if reason and p < rule.p_value:
            result.reasons.append(reason)
    if result.reasons and all(r.startswith("missing values") for r in result.reasons):
        delta = abs(result.stats["missing_delta"])
        result.method, result.score, result.threshold = "missing", delta, rule.missing_rate
    result.drifted = bool(result.reasons)


def _base(ref: ColumnProfile, cur: ColumnProfile, kind: str, test: str) -> ColumnDrift:
    side = ref if ref.present or not cur.present else cur
    return ColumnDrift(
        column_class=kinds.column_class(side),
        name=ref.name,
        kind=kind,
        drifted=False,
        reasons=[],
        test=test,
        stats={},
        reference=ref.summary(),
        current=cur.summary(),
        histogram={"labels": [], "reference": [], "current": []},
    )


def _ignored(ref: ColumnProfile, cur: ColumnProfile, why: str) -> ColumnDrift:
    result = _base(ref, cur, ref.kind, "ignored")
    result.notes.append(why)
    return result


def _type_changed(ref: ColumnProfile, cur: ColumnProfile) -> ColumnDrift:
    result = _base(ref, cur, ref.kind, "none")
    result.reasons.append(f"type changed: {ref.kind} ({ref.dtype}) → {cur.kind} ({cur.dtype})")
    result.drifted = True
    return result


def _numeric(ref: ColumnProfile, cur: ColumnProfile, rule: Rule) -> ColumnDrift:
    exact = ref.values is not None and cur.values is not None
    result = _base(ref, cur, "numeric", "ks-exact" if exact else "ks-binned")
    if not ref.present or not cur.present:
        result.test = "none"
        result.notes.append(f"no values in the {'reference' if not ref.present else 'current'} data")
        return result
    if exact:
        d, p, w = stats.exact_ks_wasserstein(ref.values or [], cur.values or [])
    else:
        d, p, w = stats.binned_ks_wasserstein(ref, cur)
    psi = stats.psi(ref.coarse_counts(), cur.coarse_counts())
    std = ref.std
    w_norm = w / std if std > 0 else (0.0 if w == 0 else None)
    result.stats = {"ks_statistic": d, "p_value": p, "wasserstein": w, "wasserstein_norm": w_norm, "psi": psi}
    result.histogram = stats.numeric_histogram(ref, cur)
    # the score shown is the effect that is furthest over (or closest to) its threshold
    if w_norm is not None and w_norm / rule.wasserstein >= psi / rule.psi:
        result.method, result.score, result.threshold = "wasserstein", w_norm, rule.wasserstein
    else:
        result.method, result.score, result.threshold = "psi", psi, rule.psi
    large = []
    if std == 0 or w_norm is None:
        result.notes.append("constant in the reference: any change is drift")
        if cur.min != ref.min or cur.max != ref.max:
            # no test decides this: a new value in a column that never varied is the change itself
            result.reasons.append(
                f"constant {stats.short(ref.min)} in the reference, now {stats.short(cur.min)} to "
                f"{stats.short(cur.max)}"
            )
    else:
        if w_norm >= rule.wasserstein:
            large.append(f"Wasserstein {w_norm:.3g} std ≥ {rule.wasserstein:g} (KS p={p:.2g})")
        if psi >= rule.psi:
            large.append(f"PSI {psi:.3g} ≥ {rule.psi:g} (KS p={p:.2g})")
    result.candidates_all.append(("distribution", p, "; ".join(large)))
    return result


def _categorical(ref: ColumnProfile, cur: ColumnProfile, rule: Rule) -> ColumnDrift:
    result = _base(ref, cur, "categorical", "chi2")
    if not ref.present or not cur.present:
        result.test = "none"
        result.notes.append(f"no values in the {'reference' if not ref.present else 'current'} data")
        return result
    keys = list(ref.categories) + [k for k in cur.categories if k not in ref.categories]
    # the reference's pooled values and the current values it also had share the "other" bin;
    # unseen values beyond the named ones get a bin of their own (the reference has none there)
    r = [ref.categories.get(k, 0) for k in keys] + [ref.other, 0]
    c = [cur.categories.get(k, 0) for k in keys] + [cur.other, cur.unseen_other]
    unseen = {k: n for k, n in cur.categories.items() if k not in ref.categories}
    if cur.against_reference:  # decided against the reference's value hashes
        unseen_share = cur.unseen / cur.unseen_checked if cur.unseen_checked else 0.0
        unseen_count = len(unseen) + (1 if cur.unseen_other else 0)
    else:  # a profile counted on its own: only values named on both sides can be told apart
        unseen_share = sum(unseen.values()) / cur.present
        unseen_count = len(unseen)
    # the tests see every unseen value in one bin: a thousand one-row bins would drown the signal
    # in degrees of freedom (20 % of rows in new ids scored p = 0.1); the distance is the same
    named = len(ref.categories)
    new_rows = cur.unseen if cur.against_reference else sum(unseen.values())
    pooled_r, pooled_c = [*r[:named], ref.other, 0], [*c[:named], cur.other, new_rows]
    p, chi2 = stats.chi2(pooled_r, pooled_c)
    js = stats.js(pooled_r, pooled_c)
    top_unseen = dict(sorted(unseen.items(), key=lambda kv: -kv[1])[:10])
    result.stats = {
        "chi2": chi2,
        "p_value": p,
        "js": js,
        "unseen_share": unseen_share,
        "unseen_categories": unseen_count,
        "unseen_top": top_unseen,
    }
    result.histogram = stats.categorical_histogram(keys, r, c)  # pooled bins go to "(other)"
    if unseen_share / rule.unseen_share > js / rule.js:
        result.method, result.score, result.threshold = "unseen", unseen_share, rule.unseen_share
    else:
        result.method, result.score, result.threshold = "jensen-shannon", js, rule.js
    if unseen_count:
        more = "more than " if cur.unseen_other else ""
        result.notes.append(
            f"{more}{len(unseen)} value(s) the reference never had, {unseen_share:.1%} of the rows"
        )
    large = []
    if js >= rule.js:
        large.append(f"Jensen–Shannon {js:.3g} ≥ {rule.js:g} (chi² p={p:.2g})")
    if unseen_share >= rule.unseen_share:
        large.append(f"unseen values {unseen_share:.1%} of rows ≥ {rule.unseen_share:.1%}")
    result.candidates_all.append(("distribution", p, "; ".join(large)))
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
