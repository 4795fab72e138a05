"""MLflow's side of the PR report: the run of the base and of the head commit, merged into what DVC read.

An MLflow run's metrics and params join the report as one more metrics file and params file named
`mlflow` (MLFLOW_FILE), so they get the same table, direction arrows, gates (`metric: mlflow:accuracy`),
JSON and check run as DVC's. A side without a finished run is a named warning (`MlflowRuns.warnings`),
never a silent row.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlci.config import MlflowConfig
from mlci.mlflow.runs import RunRecord
from mlci.repo.revision import Snapshot

if TYPE_CHECKING:
    from mlci.mlflow.client import MlflowClient

MLFLOW_FILE = "mlflow"  # the `file` of MLflow's rows: `mlflow:KEY` in a gate, `"file": "mlflow"` in the JSON


@dataclass(frozen=True)
class RunSide:
    """The run shown for one side: `run` None when none was found, `note` says why or what else matched."""

    revision: str  # "base" or "head"
    commit: str  # "" for the workspace
    run: RunRecord | None
    note: str


@dataclass(frozen=True)
class MlflowRuns:
    uri: str  # the tracking server (never with credentials)
    experiment: str
    base: RunSide
    head: RunSide

    @property
    def sides(self) -> tuple[RunSide, RunSide]:
        return self.base, self.head

    @property
    def warnings(self) -> list[str]:
        """One line per side without a run: `head (abc1234): no MLflow run has the tag …`."""
        return [
            f"{s.revision} ({s.commit[:7] or 'workspace'}): {s.note}" for s in self.sides if s.run is None
        ]


def read_runs(config: MlflowConfig, base_commit: str, head_commit: str) -> MlflowRuns:
    """Look up both commits' runs on the configured server (two searches, one experiment lookup).

    Raises MlciError (exit 2) when the server cannot be reached, refuses the credentials, or has no
    such experiment: the report would otherwise show DVC's numbers alone as if that were all.
    """
    from mlci.mlflow.client import MlflowClient, tracking_uri
    from mlci.mlflow.runs import experiment_id

    client = MlflowClient(tracking_uri(config.tracking_uri, "mlflow"), timeout=config.timeout)
    experiment = experiment_id(client, config.experiment)
    sides = [
        _side(client, experiment, config.run_tag, revision, commit)
        for revision, commit in (("base", base_commit), ("head", head_commit))
    ]
    return MlflowRuns(client.shown, config.experiment, sides[0], sides[1])


def _side(client: MlflowClient, experiment: str, tag: str, revision: str, commit: str) -> RunSide:
    from mlci.mlflow.runs import find_run

    if not commit:
        return RunSide(revision, "", None, "the workspace is not a commit, so no MLflow run is looked up")
    found = find_run(client, experiment, tag, commit)
    return RunSide(revision, commit, found.run, found.note)


def with_run(snapshot: Snapshot, side: RunSide, *, params: bool) -> Snapshot:
    """`snapshot` with the run's metrics (and params) added as the file `mlflow`."""
    if side.run is None:
        return snapshot
    values: dict[str, float | int | str | bool] = dict(side.run.metrics)
    metrics = {**snapshot.metrics, MLFLOW_FILE: values}
    shown = {**snapshot.params, MLFLOW_FILE: dict(side.run.params)} if params else snapshot.params
    return dataclasses.replace(snapshot, metrics=metrics, params=shown)
