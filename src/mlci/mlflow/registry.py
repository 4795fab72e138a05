"""The run that carries a delivered model into MLflow: its tags, its metrics, the model's bytes.

MLflow's Model Registry takes a model version from a run's artifacts. mlci makes one run per delivered
version in a deployment experiment: tags (the commit as `mlflow.source.git.commit`, as MLflow itself
records it), the DVC metrics of the commit, then each file of the artifact uploaded through the server's
proxied artifact store (`mlflow server --serve-artifacts`), and the run marked FINISHED.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlci.mlflow.client import MlflowClient, MlflowError, NotFound
from mlci.safety import one_line

MODEL_DIR = "model"  # the artifact folder of the run that holds the model's files
_UNSAFE = re.compile(r"[^/\w.\- ]")  # what MLflow refuses in a metric name (it allows ':' but not on Windows)


def experiment_for_deliveries(client: MlflowClient, name: str) -> str:
    """The id of experiment `name`, created when the server has none."""
    try:
        found = client.get("experiments/get-by-name", {"experiment_name": name})
        return str(found["experiment"]["experiment_id"])
    except NotFound:
        pass
    try:
        return str(client.post("experiments/create", {"name": name}, retry=False)["experiment_id"])
    except MlflowError as exc:
        if exc.code != "RESOURCE_ALREADY_EXISTS":  # made by another run meanwhile
            raise
    return str(
        client.get("experiments/get-by-name", {"experiment_name": name})["experiment"]["experiment_id"]
    )


def log_delivery_run(
    client: MlflowClient,
    experiment: str,
    tags: Mapping[str, str],
    metrics: Mapping[str, Mapping[str, Any]],
    artifact: Path,
) -> tuple[str, str]:
    """A FINISHED run in experiment `experiment` (a name) holding `tags`, `metrics` (file → key → value,
    DVC's) and the artifact (a file or a folder) under `model/`. Returns (run id, the model's source URI)."""
    experiment_id = experiment_for_deliveries(client, experiment)
    now = int(time.time() * 1000)
    body = {
        "experiment_id": experiment_id,
        "start_time": now,
        "tags": [{"key": key, "value": value} for key, value in tags.items()],
    }
    info = client.post("runs/create", body, retry=False)["run"]["info"]
    run_id, artifact_uri = str(info["run_id"]), str(info["artifact_uri"])
    values = metric_values(metrics)
    for start in range(0, len(values), 1000):  # MLflow takes at most 1000 metrics per batch
        batch = [{"key": k, "value": v, "timestamp": now, "step": 0} for k, v in values[start : start + 1000]]
        client.post("runs/log-batch", {"run_id": run_id, "metrics": batch})
    prefix = _artifact_path(artifact_uri, client)
    for relative, path in _files(artifact):
        client.upload(f"{prefix}/{MODEL_DIR}/{relative}", path.read_bytes())
    client.post("runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": int(time.time() * 1000)})
    return run_id, f"{artifact_uri}/{MODEL_DIR}"


def metric_values(metrics: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, float]]:
    """DVC's numbers as MLflow metrics: the key alone when no other file has it, else `file/key`;
    characters MLflow refuses become '_'. Strings are left out; booleans are 1 and 0, as DVC diffs them."""
    counts: dict[str, int] = {}
    for values in metrics.values():
        for key in values:
            counts[key] = counts.get(key, 0) + 1
    found: list[tuple[str, float]] = []
    for file, values in sorted(metrics.items()):
        for key, value in values.items():
            if isinstance(value, (int, float)):
                name = key if counts[key] == 1 else f"{file}/{key}"
                found.append((_UNSAFE.sub("_", name)[:250], float(value)))
    return found


def _artifact_path(artifact_uri: str, client: MlflowClient) -> str:
    scheme = "mlflow-artifacts:"
    if not artifact_uri.startswith(scheme):
        raise MlflowError(
            f"the MLflow tracking server {client.shown} stores artifacts at "
            f"{one_line(artifact_uri, 120)}, which mlci cannot upload to",
            "start the server with proxied artifacts (`mlflow server --serve-artifacts`, MLflow's default "
            "since 2.0) and an experiment whose artifact location is `mlflow-artifacts:`",
        )
    return artifact_uri[len(scheme) :].lstrip("/")


def _files(artifact: Path) -> list[tuple[str, Path]]:
    if artifact.is_file():
        return [(artifact.name, artifact)]
    return [(p.relative_to(artifact).as_posix(), p) for p in sorted(artifact.rglob("*")) if p.is_file()]
