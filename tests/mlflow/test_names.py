"""MLflow's name and alias rules as mlci checks them when mlci.yaml is read agree with the real server:
for generated names and aliases, the server accepts exactly those mlci lets through."""

from __future__ import annotations

import random
import uuid

from mlflow.exceptions import MlflowException

from mlci.mlflow.names import alias_problem, name_problem
from tests.testing.mlflow_server import MlflowServer

PIECES = ["a", "Z", "7", "_", "-", ".", "/", ":", " ", "é", "..", "v", "V1", "latest", "x y", "%", "@"]


def generated(rng: random.Random, count: int) -> list[str]:
    names = {"".join(rng.choice(PIECES) for _ in range(rng.randint(1, 4))) for _ in range(count)}
    return sorted(names | {"v12", "LATEST", "champion", "a" * 256, "./x", "x/", ".", "model.v2"})


def test_registered_model_names_agree_with_the_server(mlflow_tracking: MlflowServer) -> None:
    client = mlflow_tracking.client()
    disagreements = []
    for name in generated(random.Random(32), 60):
        unique = f"{name}{uuid.uuid4().hex[:4]}" if name.strip() and not name.endswith(("/", ".")) else name
        try:
            client.create_registered_model(unique)
            accepted = True
        except MlflowException:
            accepted = False
        if accepted != (name_problem(unique) == ""):
            disagreements.append((unique, accepted, name_problem(unique)))
    assert not disagreements


def test_aliases_agree_with_the_server(mlflow_tracking: MlflowServer) -> None:
    client = mlflow_tracking.client()
    model = f"alias-rules-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(model)
    run = client.create_run(client.create_experiment(model))
    client.create_model_version(model, f"{run.info.artifact_uri}/model", run.info.run_id)
    disagreements = []
    for alias in generated(random.Random(3232), 60):
        try:
            client.set_registered_model_alias(model, alias, "1")
            accepted = True
        except MlflowException:
            accepted = False
        if accepted != (alias_problem(alias) == ""):
            disagreements.append((alias, accepted, alias_problem(alias)))
    assert not disagreements
