"""The report and deploy workflows against a real MLflow server, on the Actions runner: the callers
`mlci init` writes, with their MLflow secret lines uncommented as docs/mlflow.md says, pass the server and
its login (repository secrets) to the reusable workflows, whose mlci step reads them. The test's own
process has no `MLFLOW_*` variables while the workflow runs: the secrets are the only way in. MLflow's
own client is the oracle."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.deploy.test_mlflow_target import champion
from tests.testing.mlflow_server import MlflowServer
from tests.testing.runner import requires_runner
from tests.testing.scenario import Scenario, comments, open_pull_request

pytestmark = [requires_runner, pytest.mark.slow]


@contextmanager
def logged_in(server: MlflowServer) -> Iterator[None]:
    """The oracle's login, for the test's own MLflow calls only."""
    saved = {name: os.environ.get(name) for name in server.env()}
    os.environ.update(server.env())
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def use_mlflow(s: Scenario, server: MlflowServer, caller: str, **config: object) -> None:
    """What a user does (docs/mlflow.md): the section in mlci.yaml, the caller's MLflow lines uncommented,
    the repository secrets; committed and pushed on main."""
    data = yaml.safe_load((s.repo.root / "mlci.yaml").read_text())
    data.update(config)
    s.repo.write("mlci.yaml", yaml.safe_dump(data, sort_keys=False))
    path = s.repo.root / ".github" / "workflows" / caller
    text = path.read_text()
    assert "# MLFLOW_TRACKING_URI: ${{ secrets.MLFLOW_TRACKING_URI }}" in text, "init wrote no MLflow lines"
    path.write_text(re.sub(r"^( *)# (secrets:$|MLFLOW_TRACKING_\w+: )", r"\1\2", text, flags=re.M))
    s.repo.commit("Use MLflow")
    s.repo.git("push", "-q", "origin", "main")
    s.fake.refs["refs/heads/main"] = s.repo.head()
    s.secrets.update(server.env())


def test_the_report_workflow_shows_the_mlflow_runs_of_base_and_head(
    scenario: Scenario, mlflow_server: MlflowServer
) -> None:
    s = scenario
    with logged_in(mlflow_server):
        name, experiment = mlflow_server.experiment()
    use_mlflow(s, mlflow_server, "mlci-report.yml", mlflow={"experiment": name}, gates=[])
    base = s.repo.head()
    event = open_pull_request(s, "tuned", 60)
    head = s.repo.head()
    with logged_in(mlflow_server):
        base_run = mlflow_server.log_run(experiment, base, {"val_accuracy": 0.8125})
        head_run = mlflow_server.log_run(experiment, head, {"val_accuracy": 0.875})

    result = s.run("pull_request", "mlci-report.yml", event)

    assert result.returncode == 0, result.explain()
    (body,) = comments(s, event["number"])
    assert "mlflow:val\\_accuracy" in body and "0.8125" in body and "0.875" in body, body
    assert f"/runs/{base_run}" in body and f"/runs/{head_run}" in body  # a link to each run
    assert "mlci-test-admin-password" not in result.log and "mlci-test-admin-password" not in body


def test_the_deploy_workflow_moves_the_champion_alias_to_the_delivered_bytes(
    scenario: Scenario, mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    s = scenario
    registered = f"clf-{os.urandom(4).hex()}"
    target = {"type": "mlflow", "registered_models": {"classifier": registered}}
    use_mlflow(
        s, mlflow_server, "mlci-deploy.yml", deploy={"target": "registry", "targets": {"registry": target}}
    )
    model = hashlib.sha256((s.repo.root / "models" / "model.pkl").read_bytes()).hexdigest()
    before, after = s.repo.git("rev-parse", "HEAD~1"), s.repo.head()

    deployed = s.run("push", "mlci-deploy.yml", {"ref": "refs/heads/main", "before": before, "after": after})

    assert deployed.returncode == 0, deployed.explain()
    with logged_in(mlflow_server):
        version, sha = champion(mlflow_server, registered, tmp_path / "champion")
    assert sha == model and version.tags["mlci.commit"] == after and version.tags["mlci.version"] == "v0.0.1"
    assert "mlci-test-admin-password" not in deployed.log
