"""`type: mlflow` deploy target against a real MLflow server: deliver, re-run, second deploy, rollback,
an alias moved by hand, refused names and aliases, a server that is down, refused credentials.

MLflow's own client is the oracle: the alias resolves to the version whose bytes, downloaded by MLflow,
have the delivered sha256; the version's run holds the commit's DVC metrics.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.testing.fixtures import ExampleRepo, run_cli
from tests.testing.mlflow_server import MlflowServer
from tests.testing.report import dvc_json
from tests.testing.storage import free_port


def use_mlflow(repo: ExampleRepo, **target: Any) -> str:
    """mlci.yaml deploys `classifier` to MLflow as a fresh registered model; returns its name."""
    registered = f"clf-{uuid.uuid4().hex[:8]}"
    config = yaml.safe_load((repo.root / "mlci.yaml").read_text())
    section = {"type": "mlflow", "registered_models": {"classifier": registered}, **target}
    config["deploy"] = {"target": "registry", "targets": {"registry": section}}
    repo.write("mlci.yaml", yaml.safe_dump(config, sort_keys=False))
    repo.commit("Deploy to MLflow")
    return registered


def champion(server: MlflowServer, registered: str, dest: Path) -> tuple[Any, str]:
    """(the version `champion` points at, sha256 of the bytes MLflow downloads for it)."""
    version = server.client().get_model_version_by_alias(registered, "champion")
    folder = server.downloaded(f"models:/{registered}@champion", dest)
    (model,) = [p for p in folder.rglob("*") if p.is_file()]
    return version, hashlib.sha256(model.read_bytes()).hexdigest()


def delivered_sha(repo: ExampleRepo) -> str:
    return hashlib.sha256((repo.root / "models/model.pkl").read_bytes()).hexdigest()


def deliveries(server: MlflowServer, registered: str) -> int:
    return len(server.client().search_model_versions(f"name='{registered}'"))


@pytest.mark.slow
def test_deploy_rerun_second_deploy_rollback_and_an_alias_moved_by_hand(
    example_repo: ExampleRepo, mlflow_tracking: MlflowServer, tmp_path: Path
) -> None:
    repo = example_repo
    registered = use_mlflow(repo)
    first, first_sha = repo.head(), delivered_sha(repo)
    proc = run_cli("deploy", cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    version, sha = champion(mlflow_tracking, registered, tmp_path / "1")
    assert sha == first_sha and version.tags["mlci.sha256"] == first_sha
    assert (version.tags["mlci.version"], version.tags["mlci.commit"]) == ("v0.0.1", first)
    run = mlflow_tracking.client().get_run(version.run_id)
    assert run.data.tags["mlflow.source.git.commit"] == first
    dvc_metrics = dvc_json(repo.root, "metrics", "show")[""]["data"]
    numbers = {k: v for f in dvc_metrics.values() for k, v in _flat(f["data"]).items()}
    assert run.data.metrics == numbers

    assert run_cli("deploy", cwd=repo.root).returncode == 0  # a re-run creates nothing
    assert deliveries(mlflow_tracking, registered) == 1

    repo.set_param("train.n_estimators", 60)
    repo.retrain("More trees")
    second_sha = delivered_sha(repo)
    assert second_sha != first_sha
    assert run_cli("deploy", cwd=repo.root).returncode == 0
    version, sha = champion(mlflow_tracking, registered, tmp_path / "2")
    assert (version.tags["mlci.version"], sha) == ("v0.0.2", second_sha)

    proc = run_cli("rollback", "classifier", cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    version, sha = champion(mlflow_tracking, registered, tmp_path / "3")
    assert (version.tags["mlci.version"], sha) == ("v0.0.1", first_sha)
    assert deliveries(mlflow_tracking, registered) == 2  # the rollback uploaded nothing

    shown = run_cli("registry", "--format", "json", cwd=repo.root)
    (mirror,) = json.loads(shown.stdout)["mlflow"]
    assert mirror["matches"] and mirror["alias"] == "champion" and mirror["mlflow_version"] == "v0.0.1"
    mlflow_tracking.client().set_registered_model_alias(registered, "champion", "2")  # by hand
    shown = run_cli("registry", "--format", "json", cwd=repo.root)
    assert shown.returncode == 0, shown.stderr
    (mirror,) = json.loads(shown.stdout)["mlflow"]
    assert not mirror["matches"]
    assert (mirror["registry_version"], mirror["mlflow_version"]) == ("v0.0.1", "v0.0.2")
    assert "moved by hand" in shown.stderr  # the warning
    table = run_cli("registry", cwd=repo.root).stdout
    assert "MLflow alias 'champion' of classifier (target registry) points at v0.0.2" in table


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)):
            out[f"{prefix}{key}"] = float(value)
    return out


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"registered_models": {"classifier": "team/classifier"}}, "cannot contain '/' or ':'"),
        ({"registered_models": {"classifier": ".."}}, "would read it as the path"),
        ({"aliases": {"prod": "v2"}}, "MLflow keeps 'v2' for its own version references"),
        ({"aliases": {"prod": "Latest"}}, "MLflow keeps 'Latest'"),
        ({"aliases": {"prod": "champion one"}}, "an alias holds only letters, digits"),
    ],
)
def test_a_name_or_alias_mlflow_refuses_is_exit_2_before_anything_is_written(
    example_repo: ExampleRepo, mlflow_tracking: MlflowServer, target: dict[str, Any], message: str
) -> None:
    config = yaml.safe_load((example_repo.root / "mlci.yaml").read_text())
    section = {"type": "mlflow", **target}
    config["deploy"] = {"target": "registry", "targets": {"registry": section}}
    example_repo.write("mlci.yaml", yaml.safe_dump(config, sort_keys=False))
    example_repo.commit("Deploy to MLflow")
    proc = run_cli("deploy", cwd=example_repo.root)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert not example_repo.git("tag")  # nothing registered


def test_a_stage_without_a_valid_alias_is_exit_2_before_anything_is_written(
    example_repo: ExampleRepo, mlflow_tracking: MlflowServer
) -> None:
    use_mlflow(example_repo)
    proc = run_cli("deploy", "--stage", "v1", cwd=example_repo.root)  # a valid GTO stage, a reserved alias
    assert proc.returncode == 2 and "stage 'v1' has no alias MLflow accepts" in proc.stderr, proc.stderr
    assert not example_repo.git("tag")


def test_server_down_and_refused_credentials_are_exit_2_before_anything_is_written(
    example_repo: ExampleRepo, mlflow_tracking: MlflowServer
) -> None:
    registered = use_mlflow(example_repo)
    nowhere = f"http://127.0.0.1:{free_port()}"
    down = {"MLFLOW_TRACKING_URI": nowhere, "MLCI_RETRY_SCALE": "0"}
    proc = run_cli("deploy", cwd=example_repo.root, env=down, timeout=120)
    assert proc.returncode == 2 and f"the MLflow tracking server {nowhere} did not answer" in proc.stderr
    assert mlflow_tracking.env()["MLFLOW_TRACKING_PASSWORD"] not in proc.stderr + proc.stdout
    proc = run_cli("deploy", cwd=example_repo.root, env={"MLFLOW_TRACKING_PASSWORD": "not-the-password-32"})
    assert proc.returncode == 2 and "refused the credentials (HTTP 401" in proc.stderr, proc.stderr
    assert "not-the-password-32" not in proc.stderr + proc.stdout
    assert not example_repo.git("tag")
    assert deliveries(mlflow_tracking, registered) == 0
