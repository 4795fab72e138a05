"""The profile data model: settings, one column's summary, a table's profile; JSON and merging.

Built by `mlci.drift.profile` (ProfileBuilder, build_reference, build_current), which re-exports these.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from mlci.errors import MlciError

# 2: temporal columns are numeric; 3: an empty CSV cell is missing in text columns too;
# 4: categorical columns keep the hashes of their distinct values (unseen decided exactly)
# 5: singletons and doubletons (Good–Turing), ascending order and the steps of numeric columns
PROFILE_VERSION = 5
Kind = Literal["numeric", "categorical", "empty", "unsupported"]


@dataclass(frozen=True)
class ProfileSettings:
    bins: int = 10  # coarse bins: PSI, histograms in the report
    fine_bins: int = 100  # fine bins: KS statistic and Wasserstein distance at scale
    exact_limit: int = 5000  # keep exact values up to this many per column (exact tests)
    sample_size: int = 50_000  # at most this many values per column place the quantile edges
    max_categories: int = 1000  # distinct values counted per categorical column
    hold_rows: int = 200_000  # rows kept from pass 1 to avoid a second pass over small data
    hash_limit: int = 1_000_000  # distinct-value hashes kept per categorical column (8 B each)

    def __post_init__(self) -> None:
        if self.bins < 2 or self.fine_bins % self.bins:
            raise MlciError(
                f"profile bins must be ≥ 2 and divide the fine bins ({self.fine_bins}), got {self.bins}",
                "use a divisor of 100 for monitor.bins: 2, 4, 5, 10, 20, 25 or 50",
            )


@dataclass
class ColumnProfile:
    name: str
    kind: Kind
    dtype: str
    count: int = 0  # rows
    missing: int = 0  # nulls and NaN
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations (Welford)
    min: float | None = None
    max: float | None = None
    edges: list[float] = field(default_factory=list)  # fine bin edges; bin i is (edges[i-1], edges[i]]
    coarse_edges: list[float] = field(default_factory=list)  # a subset of `edges`
    counts: list[int] = field(default_factory=list)  # len(edges) + 1 fine bins
    sums: list[float] = field(default_factory=list)  # sum of the values in each fine bin
    values: list[float] | None = field(default_factory=list)  # exact values; None once over the limit
    categories: dict[str, int] = field(default_factory=dict)
    other: int = 0  # categorical values beyond max_categories (current: values the reference had)
    # reference: the 64-bit hashes of its distinct values (mlci.drift.valueset), base64, sorted;
    # hash_level > 0: only 1 value in 2**hash_level kept (more than hash_limit distinct values)
    value_hashes: str = ""
    hash_level: int = 0
    distinct: int = 0  # distinct values (reference: exact up to hash_limit, then estimated)
    # current, counted against the reference's hashes: rows whose value could be decided, rows
    # whose value the reference never had, and those of them not counted by name (beyond the cap)
    unseen_checked: int = 0
    unseen: int = 0
    unseen_other: int = 0
    against_reference: bool = False
    type_kind: str = ""  # mlci.drift.kinds.type_kind of its type: int, float, bool, datetime, str, …
    length_sum: int = 0  # text: total length of the values (characters), for free-text detection
    spaced: int = 0  # text: values holding a space
    # reference: distinct values seen exactly once and twice (estimated when the hashes are sampled)
    singletons: int = 0
    doubletons: int = 0
    # numeric: whether the present values came in ascending order; while they did, their steps on
    # half-powers of two ("0": equal neighbours; k: steps in [2^(k/2), 2^((k+1)/2))), count and sum
    ascending: bool = True
    last: float | None = None
    step_counts: dict[str, int] = field(default_factory=dict)
    step_sums: dict[str, float] = field(default_factory=dict)

    @property
    def present(self) -> int:
        return self.count - self.missing

    @property
    def missing_share(self) -> float:
        return self.missing / self.count if self.count else 0.0

    @property
    def std(self) -> float:
        n = self.present
        return math.sqrt(self.m2 / (n - 1)) if n > 1 else 0.0

    def coarse_counts(self) -> list[int]:
        """The fine counts summed into the coarse bins."""
        import numpy as np

        if not self.counts:
            return []
        fine_upper = np.array([*self.edges, np.inf])
        target = np.searchsorted(np.array(self.coarse_edges), fine_upper, side="left")
        return [
            int(c) for c in np.bincount(target, weights=self.counts, minlength=len(self.coarse_edges) + 1)
        ]

    def summary(self) -> dict[str, Any]:
        """What a report shows of this column."""
        base: dict[str, Any] = {
            "count": self.count,
            "missing": self.missing,
            "missing_share": self.missing_share,
        }
        if self.kind == "numeric":
            base.update(mean=finite(self.mean), std=finite(self.std), min=self.min, max=self.max)
        elif self.kind == "categorical":
            base.update(distinct=self.distinct or len(self.categories) + (1 if self.other else 0))
        return base


@dataclass
class Profile:
    columns: dict[str, ColumnProfile]
    rows: int
    settings: ProfileSettings = ProfileSettings()
    source: dict[str, Any] = field(default_factory=dict)  # where it came from: paths, rev, hash

    def to_json(self) -> dict[str, Any]:
        return {
            "profile_version": PROFILE_VERSION,
            "rows": self.rows,
            "settings": asdict(self.settings),
            "source": self.source,
            "columns": [asdict(c) for c in self.columns.values()],
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "profile") -> Profile:
        try:
            if data.get("profile_version") != PROFILE_VERSION:
                raise MlciError(
                    f"{where}: profile version {data.get('profile_version')!r} is not {PROFILE_VERSION}",
                    "build the reference profile again with `mlci monitor --save-profile`",
                )
            columns = {c["name"]: ColumnProfile(**c) for c in data["columns"]}
            return cls(
                columns=columns,
                rows=int(data["rows"]),
                settings=ProfileSettings(**data["settings"]),
                source=dict(data.get("source") or {}),
            )
        except (AttributeError, KeyError, TypeError) as exc:
            raise MlciError(
                f"{where} is not an mlci profile ({type(exc).__name__}: {exc})",
                "pass a file written by `mlci monitor --save-profile`",
            ) from None


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


def combine(col: ColumnProfile, n_a: int, n_b: int, mean_b: float, m2_b: float) -> None:
    """Chan et al.'s parallel update of mean and M2."""
    n = n_a + n_b
    delta = mean_b - col.mean
    col.mean = col.mean + delta * n_b / n
    col.m2 = col.m2 + m2_b + delta * delta * n_a * n_b / n


def finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
