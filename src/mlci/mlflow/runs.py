"""The MLflow run of a commit: the rule the PR report uses to find it, and what it holds.

The rule (docs/mlflow.md): runs of the configured experiment whose `run_tag` (default
`mlflow.source.git.commit`, which MLflow sets itself when a run starts in a git checkout) equals the
commit's full SHA; of those, the latest FINISHED run by end time (then start time, then run id). Runs
that match but never finished are counted in the lookup's note, never shown as the commit's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlci.mlflow.client import MlflowClient, MlflowError
from mlci.safety import one_line

MAX_RUNS = 200  # runs read per commit (newest first); more than this for one commit is not a CI run


@dataclass(frozen=True)
class RunRecord:
    """One MLflow run: metrics (the latest value of each key), params (MLflow keeps them as text)."""

    run_id: str
    experiment_id: str
    name: str
    url: str  # the run's page in the MLflow UI
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Lookup:
    """What the lookup found for one commit: the run (None when none finished) and a note for the reader."""

    commit: str
    run: RunRecord | None
    matched: int  # runs with the tag, finished or not
    note: str  # "" when exactly one finished run matched


def experiment_id(client: MlflowClient, name: str) -> str:
    """The id of the experiment `name`; exit 2 naming it (and the server) when the server has none."""
    from mlci.mlflow.client import NotFound

    try:
        found = client.get("experiments/get-by-name", {"experiment_name": name})
    except NotFound:
        raise MlflowError(
            f"the MLflow tracking server {client.shown} has no experiment named {one_line(name, 120)!r}",
            "set `mlflow.experiment` in mlci.yaml to the experiment your training runs log to",
        ) from None
    return str(found.get("experiment", {}).get("experiment_id", ""))


def find_run(client: MlflowClient, experiment: str, tag: str, commit: str) -> Lookup:
    """The run of `commit` in experiment id `experiment` by the rule above."""
    body = {
        "experiment_ids": [experiment],
        "filter": f"tags.`{_quoted_key(tag)}` = '{_quoted_value(commit)}'",
        "max_results": MAX_RUNS,
        "order_by": ["attributes.end_time DESC", "attributes.start_time DESC"],
    }
    runs = [r for r in client.post("runs/search", body).get("runs", []) if isinstance(r, dict)]
    finished = [r for r in runs if r.get("info", {}).get("status") == "FINISHED"]
    finished.sort(key=_order, reverse=True)
    run = _record(client, finished[0]) if finished else None
    return Lookup(commit, run, len(runs), _note(commit, tag, runs, finished, run))


def _order(run: dict[str, Any]) -> tuple[int, int, str]:
    info = run.get("info", {})
    return int(info.get("end_time") or 0), int(info.get("start_time") or 0), str(info.get("run_id", ""))


def _note(
    commit: str, tag: str, runs: list[dict[str, Any]], finished: list[dict[str, Any]], run: RunRecord | None
) -> str:
    short = commit[:7]
    if not runs:
        return f"no MLflow run has the tag {tag} = {short}"
    if run is None:
        states = sorted({str(r.get("info", {}).get("status", "?")) for r in runs})
        return f"{len(runs)} MLflow run(s) of {short}, none FINISHED ({', '.join(states)})"
    if len(runs) > 1:
        return (
            f"{len(runs)} MLflow runs of {short} ({len(finished)} finished): the latest finished one is shown"
        )
    return ""


def _record(client: MlflowClient, run: dict[str, Any]) -> RunRecord:
    info, data = run.get("info", {}), run.get("data", {})
    run_id, experiment = str(info.get("run_id", "")), str(info.get("experiment_id", ""))
    metrics = {
        str(m["key"]): float(m["value"])
        for m in data.get("metrics", [])
        if isinstance(m, dict) and "key" in m and isinstance(m.get("value"), (int, float))
    }
    params = {str(p["key"]): str(p.get("value", "")) for p in data.get("params", []) if isinstance(p, dict)}
    url = f"{client.uri}/#/experiments/{experiment}/runs/{run_id}"
    return RunRecord(run_id, experiment, str(info.get("run_name", "")), url, metrics, params)


def _quoted_key(key: str) -> str:
    if "`" in key:
        raise MlflowError(
            f"the MLflow run tag {one_line(key, 80)!r} holds a backtick, which MLflow's filter cannot quote"
        )
    return key


def _quoted_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
