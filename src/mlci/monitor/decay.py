"""Performance decay: the production model's metrics on labelled current data versus the metrics it
recorded when it was trained, checked with the same gates as the PR report (recorded = base,
current = head).

Computed metrics are matched to recorded keys by their last name part (`test.accuracy` ← accuracy),
so a repo that records `test.accuracy` gets `test.accuracy` compared. Gates naming a metric that
cannot be computed on the current data are skipped, not failed: a missing label is not decay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.config import Config

if TYPE_CHECKING:
    from mlci.repo.revision import SharedRepo

# recorded names that mean one of the computed metrics
ALIASES = {
    "acc": "accuracy",
    "f1_score": "f1",
    "auc": "roc_auc",
    "rocauc": "roc_auc",
    "logloss": "log_loss",
    "cross_entropy": "log_loss",
    "mean_absolute_error": "mae",
    "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse",
}


@dataclass
class Decay:
    labelled_rows: int
    metrics: list[dict[str, Any]] = field(default_factory=list)  # file, key, recorded, current, change
    gates: list[dict[str, Any]] = field(default_factory=list)  # metric, passed, reason
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [g for g in self.gates if not g["passed"]]

    def to_json(self) -> dict[str, Any]:
        return {
            "available": True,
            "labelled_rows": self.labelled_rows,
            "gate_failed": bool(self.failed),
            "metrics": self.metrics,
            "gates": self.gates,
            "failed": self.failed,
            "notes": self.notes,
        }


def recorded_metrics(
    root: Path, rev: str, files: tuple[str, ...] = (), repo: SharedRepo | None = None
) -> dict[str, dict[str, float]]:
    """The model's numeric metrics at `rev`, as DVC reads them (only `files` when given); with the
    run's one DVC `repo` when given."""
    from mlci.metrics import read_metrics_and_unread

    found, _ = read_metrics_and_unread(root, rev, repo.get() if repo is not None else None)
    return {f: v for f, v in found.items() if not files or f in files}


def evaluate(
    recorded: Mapping[str, Mapping[str, float]],
    computed: Mapping[str, float],
    labelled_rows: int,
    config: Config,
    model: str = "",
) -> Decay:
    from mlci.metrics import rows_from_values

    base: dict[str, dict[str, float]] = {}
    head: dict[str, dict[str, float]] = {}
    for file, values in recorded.items():
        for key, value in values.items():
            name = canonical(key)
            if name in computed:
                base.setdefault(file, {})[key] = value
                head.setdefault(file, {})[key] = computed[name]
    decay = Decay(labelled_rows)
    if not base:
        recorded_keys = ", ".join(sorted(k for v in recorded.values() for k in v)[:8]) or "none"
        decay.notes.append(
            f"none of the recorded metrics ({recorded_keys}) could be computed on the current data "
            f"(computed: {', '.join(sorted(computed)) or 'none'})"
        )
        return decay
    rows = rows_from_values(base, head, config)
    decay.metrics = [
        {"file": r.file, "key": r.key, "recorded": r.base, "current": r.head, "change": r.change}
        for r in rows
    ]
    _add_gates(decay, rows, config, model)
    return decay


def _add_gates(decay: Decay, rows: list[Any], config: Config, model: str) -> None:
    """The gates (global, and the model's own) on recorded vs current; a gate on a metric not computed
    here is a note, not a failure."""
    from mlci.gates import evaluate_gates

    results = evaluate_gates(config.gates, rows)
    if model:
        results += evaluate_gates(config.gates, rows, model=model)
    for result in results:
        if not result.file:  # the gate names a metric not computed here
            decay.notes.append(f"gate on '{result.gate.metric}' not checked: not computed on current data")
            continue
        decay.gates.append(
            {
                "metric": result.key,
                "file": result.file,
                "passed": result.passed,
                "recorded": next(
                    (r.base for r in rows if r.key == result.key and r.file == result.file), None
                ),
                "current": result.value,
                "reason": result.reason,
            }
        )


def canonical(key: str) -> str:
    leaf = key.rsplit(".", 1)[-1].lower()
    return ALIASES.get(leaf, leaf)
