"""The profile data model: settings, one column's summary, a table's profile, and its JSON.

Built by `mlci.drift.profile` (ProfileBuilder, build_reference, build_current), which re-exports these;
merged by `mlci.drift.profile_merge`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
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


def combine(col: ColumnProfile, n_a: int, n_b: int, mean_b: float, m2_b: float) -> None:
    """Chan et al.'s parallel update of mean and M2."""
    n = n_a + n_b
    delta = mean_b - col.mean
    col.mean = col.mean + delta * n_b / n
    col.m2 = col.m2 + m2_b + delta * delta * n_a * n_b / n


def finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
