"""What drift found: per column (`ColumnDrift`), for the schema (`SchemaDiff`) and the data set
(`DriftResult`), with their JSON forms (docs/monitor.md, "JSON report")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlci.drift import kinds
from mlci.drift.profile_model import ColumnProfile


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


def base(ref: ColumnProfile, cur: ColumnProfile, kind: str, test: str) -> ColumnDrift:
    """A column's result before any statistic: its class, summaries and an empty histogram."""
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


def no_values(ref: ColumnProfile, cur: ColumnProfile, result: ColumnDrift) -> bool:
    """A side without values: nothing to test but the missing share (noted); True when so."""
    if ref.present and cur.present:
        return False
    result.test = "none"
    result.notes.append(f"no values in the {'reference' if not ref.present else 'current'} data")
    return True
