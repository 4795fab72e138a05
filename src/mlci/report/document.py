"""The PR report as data: metrics per model with their gates, params, data and plots, and its JSON form.

`build_report` is pure: it takes what `mlci.repo.revision` read at the two revisions and the config.
`to_json` is the documented, stable document of `mlci report --format json` (docs/report.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mlci.config import Config, Gate
from mlci.errors import MlciError
from mlci.gates import GateResult, evaluate_gates
from mlci.metrics import MetricRow, rows_from_values
from mlci.repo.plots import PlotError, PlotRevision, ResolvedPlot, Side, resolve_plots
from mlci.repo.revision import Snapshot
from mlci.report.dataset_changes import DataRow, diff_data
from mlci.report.experiments import Leaderboard
from mlci.report.mlflow_runs import MlflowRuns
from mlci.report.params import ParamRow, diff_params
from mlci.report.plots import kind_of, revision_points

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Revision:
    rev: str  # as given: a branch, a SHA, or "workspace"
    sha: str  # the commit ("" for the workspace)

    @property
    def short(self) -> str:
        return self.sha[:7] if self.sha else self.rev


@dataclass(frozen=True)
class Section:
    model: str  # "" = the repository's metrics (no models, or metrics of no declared model)
    rows: list[MetricRow]
    gates: list[GateResult]
    description: str = ""


@dataclass(frozen=True)
class DataChecks:
    """The data-check section (mlci.data.check.data_section): contracts and drift of changed datasets."""

    markdown: str
    passed: bool
    json: dict[str, Any]


@dataclass(frozen=True)
class Report:
    id: str
    title: str
    base: Revision
    head: Revision
    sections: list[Section]
    params: list[ParamRow]
    data: list[DataRow]
    plots: list[ResolvedPlot]
    pr_number: int | None = None
    notes: list[str] = field(default_factory=list)
    data_checks: DataChecks | None = None  # None: no DVC-tracked dataset changed (or head is the workspace)
    unread_base: dict[str, str] = field(default_factory=dict)  # declared metrics file -> why it is absent
    unread_head: dict[str, str] = field(default_factory=dict)
    plot_errors: list[tuple[Side, PlotError]] = field(default_factory=list)  # dvc.yaml's plots unreadable
    max_plot_points: int = 60
    mlflow: MlflowRuns | None = None  # None: no `mlflow:` section in mlci.yaml
    experiments: Leaderboard | None = None  # None: turned off, or no experiments and no gate on them

    @property
    def gates(self) -> list[GateResult]:
        return [g for s in self.sections for g in s.gates]

    @property
    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    @property
    def data_checks_failed(self) -> bool:
        return self.data_checks is not None and not self.data_checks.passed

    @property
    def sweep_failed(self) -> bool:
        """An opt-in gate on the PR's experiments (`report.experiments`) failed."""
        return self.experiments is not None and bool(self.experiments.failed_checks)

    @property
    def gates_passed(self) -> bool:
        """Metric gates, data checks (the data gates) and the gates on the sweep all passed, and every
        metrics file was read."""
        failed = self.failed_gates or self.data_checks_failed or self.sweep_failed
        return not failed and not self.unread_head

    @property
    def gate_count(self) -> tuple[int, int]:
        """(failed, total) gates of mlci.yaml: a glob gate is one gate however many metrics it checks."""
        outcome: dict[int, bool] = {}
        for result in self.gates:
            outcome[id(result.gate)] = outcome.get(id(result.gate), True) and result.passed
        return sum(not ok for ok in outcome.values()), len(outcome)

    @property
    def rows(self) -> list[MetricRow]:
        return [r for s in self.sections for r in s.rows]

    @property
    def verdict(self) -> str:
        if not self.gates_passed:
            return "failed"
        swept = self.experiments is not None and bool(self.experiments.checks)
        return "passed" if self.gates or self.data_checks or swept else "no gates"


def build_report(
    config: Config,
    base: Revision,
    head: Revision,
    old: Snapshot,
    new: Snapshot,
    *,
    pr_number: int | None = None,
    data_checks: DataChecks | None = None,
    mlflow: MlflowRuns | None = None,
    experiments: Leaderboard | None = None,
) -> Report:
    rows = rows_from_values(old.metrics, new.metrics, config, declared_at_head=new.unread)
    resolved = resolve_plots(old.plots, new.plots) if config.report.plots else None
    return Report(
        id=config.report.id,
        title=config.report.title,
        base=base,
        head=head,
        sections=_explain_unread(sections(config, rows), new.unread),
        params=diff_params(old.params, new.params),
        data=diff_data(old.outs, new.outs),
        plots=resolved.plots if resolved else [],
        pr_number=pr_number,
        data_checks=data_checks,
        unread_base=dict(old.unread),
        unread_head=dict(new.unread),
        plot_errors=resolved.errors if resolved else [],
        max_plot_points=config.report.max_plot_points,
        mlflow=mlflow,
        experiments=experiments,
    )


def _explain_unread(result: list[Section], unread: Mapping[str, str]) -> list[Section]:
    """A gate that failed on a metric whose file could not be read at head says so."""
    if not unread:
        return result
    files = ", ".join(sorted(unread))

    def explain(g: GateResult) -> GateResult:
        if g.passed:
            return g
        if g.file in unread:
            return replace(g, reason=f"{g.reason}: {g.file} could not be read at head")
        if not g.file or "is missing" in g.reason:  # matched nothing, or a metric absent at head
            return replace(g, reason=f"{g.reason} (could not be read at head: {files})")
        return g

    return [replace(s, gates=[explain(g) for g in s.gates]) for s in result]


def sections(config: Config, rows: Sequence[MetricRow]) -> list[Section]:
    """One section per model that names its metrics files, one for the rest; gates evaluated per model."""
    _check_gate_models(config.gates, config)
    with_files = {name: m for name, m in config.models.items() if m.metrics}
    owned = {file for m in with_files.values() for file in m.metrics}
    owned |= {r.file for r in rows if r.moved_from in owned}  # a renamed file stays its model's
    result: list[Section] = []
    for name, model in with_files.items():
        own = [r for r in rows if r.file in model.metrics or r.moved_from in model.metrics]
        result.append(Section(name, own, evaluate_gates(config.gates, own, model=name), model.description))
    # models without their own metrics files are gated on all of the repository's metrics
    for name in (n for n in config.models if n not in with_files):
        extra = evaluate_gates(config.gates, rows, model=name)
        if extra:
            result.append(Section(name, [], extra, config.models[name].description))
    rest = [r for r in rows if r.file not in owned]
    general = evaluate_gates(config.gates, rows if with_files else rest, model="")
    if rest or general or not result:
        result.insert(0, Section("", rest, general))
    return result


def _check_gate_models(gates: Sequence[Gate], config: Config) -> None:
    for gate in gates:
        if gate.model and gate.model not in config.models:
            known = ", ".join(sorted(config.models)) or "none declared"
            raise MlciError(
                f"{config.source or 'mlci.yaml'}: gate for '{gate.metric}' names model '{gate.model}', "
                f"which is not under `models:` (models: {known})",
                "fix the gate's `model:` or declare the model under `models:`",
            )


# --- JSON ---------------------------------------------------------------------------------------


def to_json(report: Report) -> dict[str, Any]:
    """The `--format json` document, schema_version 1 (docs/report.md)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "id": report.id,
        "title": report.title,
        "pr_number": report.pr_number,
        "base": {"rev": report.base.rev, "sha": report.base.sha},
        "head": {"rev": report.head.rev, "sha": report.head.sha},
        "summary": _summary(report),
        "metrics": [_metric(s.model, r) for s in report.sections for r in s.rows],
        "unread": [
            {"file": file, "revision": side, "reason": why}
            for side, unread in (("base", report.unread_base), ("head", report.unread_head))
            for file, why in unread.items()
        ],
        "gates": [_gate(s.model, g) for s in report.sections for g in s.gates],
        "params": [
            {"file": p.file, "key": p.key, "base": _value(p.base), "head": _value(p.head), "status": p.status}
            for p in report.params
        ],
        "data": [_data_change(d) for d in report.data],
        "plots": [_plot(p) for p in report.plots],
        "plot_errors": [{"revision": side, **_plot_error(e)} for side, e in report.plot_errors],
        "data_checks": report.data_checks.json if report.data_checks else None,
        "experiments": _experiments(report.experiments) if report.experiments else None,
        "mlflow": _mlflow(report.mlflow) if report.mlflow else None,
    }


def _mlflow(runs: MlflowRuns) -> dict[str, Any]:
    """The server, the experiment and each side's run (null when none was found, with the warning)."""
    return {
        "tracking_uri": runs.uri,
        "experiment": runs.experiment,
        **{
            side.revision: {
                "commit": side.commit or None,
                "run_id": side.run.run_id if side.run else None,
                "run_name": side.run.name if side.run else None,
                "url": side.run.url if side.run else None,
                "note": side.note or None,
            }
            for side in runs.sides
        },
        "warnings": runs.warnings,
    }


def _experiments(board: Leaderboard) -> dict[str, Any]:
    """The leaderboard: every experiment read (ranked; head's committed result among them, `name` null)."""
    ranking = board.ranking
    return {
        "ranked_by": {"file": ranking.file, "key": ranking.key, "direction": ranking.direction}
        if ranking
        else None,
        "commits": {"searched": board.commits_read, "total": board.commits_total},
        "found": board.found,
        "read": len(board.experiments),
        "fetch_error": board.fetch_error or None,
        "head_rank": board.head.rank if board.head else None,
        "unread": len(board.unread),
        "entries": [
            {
                "name": e.name or None,
                "rev": e.sha,
                "baseline": e.baseline,
                "on_head": e.on_head,
                "rank": e.rank,
                "value": _value(e.value),
                "metrics": {f: {k: _value(v) for k, v in values.items()} for f, values in e.metrics.items()},
                "params_changed": {f: {k: _plain(v) for k, v in ps.items()} for f, ps in e.params.items()},
                "unread": dict(e.unread),
            }
            for e in board.entries
        ],
        "best_vs_base": [_best_vs_base(board, r) for r in board.best_vs_base],
        "checks": [{"name": c.name, "passed": c.passed, "reason": c.reason} for c in board.checks],
    }


def _best_vs_base(board: Leaderboard, row: MetricRow) -> dict[str, Any]:
    """A metric row of the best experiment vs base, its values as DVC read them (integers stay integers)."""
    shown = _metric("", row)
    best = board.best.metrics if board.best else {}
    for side, values in (("base", board.base), ("head", best)):
        raw = values.get(row.moved_from if side == "base" and row.moved_from else row.file, {}).get(row.key)
        if isinstance(raw, int) and not isinstance(raw, bool):
            shown[side] = raw
    return shown


def _summary(report: Report) -> dict[str, Any]:
    """The counts and the verdict at the top of the JSON document."""
    return {
        "verdict": report.verdict,
        "gates_passed": report.gates_passed,
        "gates_total": report.gate_count[1],
        "gates_failed": report.gate_count[0],
        "checks_total": len(report.gates),
        "checks_failed": len(report.failed_gates),
        "data_checks_passed": report.data_checks.passed if report.data_checks else None,
        "metrics_total": len(report.rows),
        "metrics_changed": sum(r.status != "unchanged" for r in report.rows),
        "params_changed": len(report.params),
        "data_changed": len(report.data),
        "plots_changed": sum(p.changed for p in report.plots),
    }


def _data_change(d: DataRow) -> dict[str, Any]:
    return {
        "path": d.path,
        "status": d.status,
        "base_md5": d.base_md5 or None,
        "head_md5": d.head_md5 or None,
        "base_size": d.base_size,
        "head_size": d.head_size,
        "size_change": d.size_change,
        "base_files": d.base_files,
        "head_files": d.head_files,
    }


def _plot(plot: ResolvedPlot) -> dict[str, Any]:
    """A plot as DVC resolved it: per revision its series (DVC's values), image and errors."""
    return {
        "id": plot.id,
        "kind": kind_of(plot),
        "template": plot.template or None,
        "title": plot.title,
        "x_label": plot.x_label or None,
        "y_label": plot.y_label or None,
        "changed": plot.changed,
        "points": {"base": revision_points(plot.base), "head": revision_points(plot.head)},
        "base": _plot_revision(plot.base),
        "head": _plot_revision(plot.head),
    }


def _plot_revision(side: PlotRevision | None) -> dict[str, Any] | None:
    if side is None:
        return None  # not declared at this revision
    image = side.image
    return {
        "series": [
            {
                "file": s.file,
                "x_field": s.x_field,
                "y_field": s.y_field,
                "x": _values(s.x),
                "y": _values(s.y),
            }
            for s in side.series
        ],
        "image": {"file": image.file, "size": image.size, "md5": image.md5} if image else None,
        "errors": [_plot_error(e) for e in side.errors],
    }


def _plot_error(error: PlotError) -> dict[str, Any]:
    return {"source": error.source or None, "type": error.type, "message": error.message}


def _metric(model: str, row: MetricRow) -> dict[str, Any]:
    return {
        "model": model,
        "file": row.file,
        "key": row.key,
        "base": _shown(row.base, row.base_text),
        "head": _shown(row.head, row.head_text),
        "change": row.change,
        "change_pct": row.change_pct,
        "direction": row.direction,
        "status": row.status,
        "moved_from": row.moved_from or None,
    }


def _gate(model: str, result: GateResult) -> dict[str, Any]:
    bounds = {
        name: getattr(result.gate, name)
        for name in ("min", "max", "max_drop", "max_rise", "max_drop_pct", "max_rise_pct")
        if getattr(result.gate, name) is not None
    }
    return {
        "model": model or result.gate.model,
        "metric": result.gate.metric,
        "file": result.file or None,
        "key": result.key,
        "passed": result.passed,
        "value": _value(result.value),
        "bounds": bounds,
        "reason": result.reason,
    }


def _shown(number: float | None, text: str) -> Any:
    """A metric value as DVC's JSON has it: a number, a boolean (number and text), a string, or null."""
    if number is not None and text:
        return text == "true"
    return _value(number) if number is not None else (text or None)


def _values(values: list[Any]) -> list[Any]:
    """`_value` of each; plot series are long, so plain JSON values pass through in one check."""
    kinds = set(map(type, values))
    if kinds <= {int, str} or (kinds <= {int, float} and all(map(math.isfinite, values))):
        return list(values)
    return [_value(v) for v in values]


def _plain(value: Any) -> Any:
    """`_value`, keeping lists and mappings (a param may be either) as JSON lists and objects."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return _value(value)


def _value(value: Any) -> Any:
    """JSON-safe: NaN and infinities as the strings "NaN", "Infinity", "-Infinity"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
