"""Data checks: each dataset against its contract, and what changed in it versus the base.

    report = run_checks(root, config, discover(root, config), base_rev="main")
    report.passed, report.annotations, report.to_json(), report.markdown(root)

`data_section` is the seam for `mlci report`: the "Data" section of the PR comment, or None when
the PR changed no DVC-tracked tabular data. Domain code: it returns data and never prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlci.config import Config, DatasetContract
from mlci.data.contract import Violation, infer_contract
from mlci.data.datasets import Dataset, changed_datasets, recorded_hash, workspace_hash
from mlci.data.scan import Snapshot, scan_base, scan_head
from mlci.data.stats import contains
from mlci.drift.engine import DriftResult, Thresholds, compare
from mlci.errors import GateFailed, MlciError
from mlci.github.actions import Level
from mlci.render import render
from mlci.safety import one_line

TEMPLATE = "data_section.md.j2"


@dataclass(frozen=True)
class Annotation:
    level: Level  # error | warning
    message: str
    file: str
    line: int
    title: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Changes:
    rows_base: int
    rows_head: int
    rows_added: int | None  # head rows that are not in the base (by content); None when columns changed
    rows_removed: int | None  # base rows that are not in the head
    columns_added: list[str]
    columns_removed: list[str]
    types_changed: list[dict[str, str]]  # name, base, head
    missing: list[dict[str, Any]]  # name, base, head: shares of missing values, where they changed
    duplicates_base: int
    duplicates_head: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class DatasetResult:
    dataset: Dataset
    contract_source: str  # declared | inferred | none
    head: Snapshot
    base: Snapshot | None
    changes: Changes | None
    drift: DriftResult | None
    failures: list[str] = field(default_factory=list)  # failed data gates, one line each
    warnings: list[str] = field(default_factory=list)  # findings that do not fail (drift_fails: false)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def violations(self) -> list[Violation]:
        return self.head.violations

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.dataset.name,
            "path": self.dataset.path,
            "passed": self.passed,
            "contract": self.contract_source,
            "rows": self.head.stats.rows,
            "base_rows": self.base.stats.rows if self.base else None,
            "base_cached": self.base.cached if self.base else None,
            "violations": [v.to_json() for v in self.violations],
            "changes": self.changes.to_json() if self.changes else None,
            "drift": self.drift.to_json() if self.drift else None,
            "failures": self.failures,
            "warnings": self.warnings,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Unread:
    """A dataset the report could not read (no DVC remote, remote unreachable or missing the data):
    shown in the section with why, never a reason to drop the whole report."""

    dataset: Dataset
    reason: str
    hint: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.dataset.name,
            "path": self.dataset.path,
            "reason": self.reason,
            "hint": self.hint,
        }


@dataclass
class DataReport:
    results: list[DatasetResult]
    base_rev: str | None
    unread: list[Unread] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def annotations(self) -> list[Annotation]:
        out: list[Annotation] = []
        for r in self.results:
            file, line = r.dataset.anchor
            title = "mlci data check"
            out.extend(Annotation("error", one_line(m, 400), file, line, title) for m in r.failures)
            out.extend(Annotation("warning", one_line(m, 400), file, line, title) for m in r.warnings)
        for u in self.unread:
            file, line = u.dataset.anchor
            message = f"{u.dataset.path} could not be read: {u.reason}"
            out.append(Annotation("warning", one_line(message, 400), file, line, "mlci data check"))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "base": self.base_rev,
            "datasets": [r.to_json() for r in self.results],
            "unread": [u.to_json() for u in self.unread],
            "annotations": [a.to_json() for a in self.annotations],
        }

    def markdown(self, root: Path, heading: str = "###") -> str:
        return render(TEMPLATE, repo_root=root, report=self, heading=heading)


@dataclass(frozen=True)
class DataSection:
    markdown: str
    passed: bool
    annotations: list[Annotation]
    json: dict[str, Any]


def data_section(root: Path, base_rev: str, head_rev: str, config: Config) -> DataSection | None:
    """The PR report's "Data" section; None when no dataset's content differs between the revisions."""
    base_rev, head_rev, changed = changed_datasets(root, base_rev, head_rev, config)
    if not changed:
        return None
    return section_for(root, config, changed, base_rev, head_rev)


def section_for(
    root: Path, config: Config, changed: list[Dataset], base_rev: str, head_rev: str
) -> DataSection:
    """The "Data" section for datasets already known to differ (mlci.data.datasets.changed_datasets).
    A dataset that cannot be read is listed with why (`DataReport.unread`); the others are checked."""
    report = DataReport([], base_rev)
    for dataset in changed:
        try:
            report.results.append(check_dataset(root, config, dataset, base_rev, head_rev))
        except GateFailed:
            raise
        except MlciError as exc:
            report.unread.append(Unread(dataset, exc.message, exc.hint or ""))
    return DataSection(report.markdown(root), report.passed, report.annotations, report.to_json())


def run_checks(
    root: Path, config: Config, datasets: list[Dataset], base_rev: str | None, head_rev: str | None = None
) -> DataReport:
    """Check every dataset; `head_rev=None` reads the workspace."""
    return DataReport([check_dataset(root, config, d, base_rev, head_rev) for d in datasets], base_rev)


def check_dataset(
    root: Path, config: Config, dataset: Dataset, base_rev: str | None, head_rev: str | None = None
) -> DatasetResult:
    base = scan_base(root, config, dataset.path, base_rev) if base_rev else None
    contract, source = _contract(config, dataset, base)
    if (
        base is not None
        and base_rev
        and dataset.contract is None
        and _unchanged(root, dataset, base_rev, head_rev)
    ):
        # the same bytes as the base: it meets the contract inferred from it and cannot drift
        same = DatasetResult(dataset, source, base, base, compare_stats(base, base), None)
        same.notes.append("unchanged since the base: not read again")
        _verdict(config, dataset, same)
        return same
    read_rev = _head_source(root, dataset.path, head_rev)
    head = scan_head(root, config, dataset.path, read_rev, contract, base.profile if base else None)
    result = DatasetResult(dataset, source, head, base, None, None)
    if base_rev and base is None:
        result.notes.append("new in this change: nothing to compare it with at the base")
    if base is not None:
        result.changes = compare_stats(base, head)
        keys = contract.unique if contract else ()  # ids differ by design: their "drift" is noise
        result.drift = _drift(config, base, head, keys, result.notes)
    _verdict(config, dataset, result)
    return result


def _contract(config: Config, dataset: Dataset, base: Snapshot | None) -> tuple[DatasetContract | None, str]:
    if dataset.contract is not None:
        return dataset.contract, "declared"
    if base is not None:
        label = label_for(config, dataset.path, base.stats.columns)
        inferred = infer_contract(
            base.stats, dataset.path, label=label, bounds=False, max_categories=config.data.max_categories
        )
        return inferred, "inferred"
    return None, "none"


def label_for(config: Config, path: str, columns: Any) -> str:
    """The label column: the target of the model trained on `path`, else any model's target present."""
    targets = [m.target for m in config.models.values() if m.target and m.data == path]
    targets += [m.target for m in config.models.values() if m.target]
    return next((t for t in targets if t in columns), "")


def _unchanged(root: Path, dataset: Dataset, base_rev: str, head_rev: str | None) -> bool:
    base_hash = recorded_hash(root, base_rev, dataset.path)
    head_hash = (
        recorded_hash(root, head_rev, dataset.path) if head_rev else workspace_hash(root, dataset.path)
    )
    return base_hash is not None and base_hash == head_hash


def _head_source(root: Path, path: str, head_rev: str | None) -> str | None:
    """Read the workspace when it holds exactly the head revision's data (no DVC round trip)."""
    if head_rev is None:
        return None
    recorded = recorded_hash(root, head_rev, path)
    return None if recorded is not None and recorded == workspace_hash(root, path) else head_rev


def compare_stats(base: Snapshot, head: Snapshot) -> Changes:
    b, h = base.stats, head.stats
    common = [n for n in b.columns if n in h.columns]
    missing: list[dict[str, Any]] = []
    for name in common:
        share_b = b.columns[name].nulls / b.rows if b.rows else 0.0
        share_h = h.columns[name].nulls / h.rows if h.rows else 0.0
        if share_b != share_h:
            missing.append({"name": name, "base": share_b, "head": share_h})
    missing.sort(key=lambda m: -abs(m["head"] - m["base"]))
    added = [n for n in h.columns if n not in b.columns]
    removed = [n for n in b.columns if n not in h.columns]
    same_columns = list(b.columns) == list(h.columns)  # else every row differs: not worth saying
    return Changes(
        rows_base=b.rows,
        rows_head=h.rows,
        rows_added=int((~contains(base.hashes, head.hashes)).sum()) if same_columns else None,
        rows_removed=int((~contains(head.hashes, base.hashes)).sum()) if same_columns else None,
        columns_added=added,
        columns_removed=removed,
        types_changed=[
            {"name": n, "base": b.columns[n].kind, "head": h.columns[n].kind}
            for n in common
            if b.columns[n].kind != h.columns[n].kind
        ],
        missing=missing,
        duplicates_base=b.duplicate_rows,
        duplicates_head=h.duplicate_rows,
    )


def _drift(
    config: Config, base: Snapshot, head: Snapshot, exclude: tuple[str, ...], notes: list[str]
) -> DriftResult | None:
    if base.profile is None or head.profile is None or head.stats.rows == 0:
        return None
    try:
        return compare(base.profile, head.profile, Thresholds.from_config(config.monitor), exclude)
    except MlciError as exc:  # schemas too different to compare: the contract says what changed
        notes.append(f"drift not computed: {exc.message}")
        return None


def _verdict(config: Config, dataset: Dataset, result: DatasetResult) -> None:
    """Declared contracts gate; an inferred one only reports (warnings) unless `gate_inferred`."""
    declared = dataset.contract is not None
    gated = declared or config.data.gate_inferred
    if not declared:
        result.notes.append(
            "no contract declared: findings are "
            + ("checks (data.gate_inferred)" if gated else "reported, not gated")
            + "; declare one with `mlci data infer --write`"
        )
    for v in result.violations:
        (result.failures if gated else result.warnings).append(violation_line(dataset, v))
    if result.drift is None:
        return
    drift_fails = dataset.contract.drift_fails if dataset.contract else gated
    for col in result.drift.columns:
        if col.drifted:
            line = f"{dataset.path}: column '{col.name}' drifted versus the base: {'; '.join(col.reasons)}"
            (result.failures if drift_fails else result.warnings).append(line)


def violation_line(dataset: Dataset, v: Violation) -> str:
    where = f"column '{v.column}'" if v.column else "dataset"
    count = f" in {v.count:,} row{'s' if v.count != 1 else ''}" if v.count else ""
    examples = f" (e.g. {'; '.join(v.examples)})" if v.examples else ""
    return f"{dataset.path}: {where} breaks rule '{v.rule}': {v.message}{count}{examples}"
