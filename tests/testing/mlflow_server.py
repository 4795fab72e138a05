"""A real MLflow tracking server on loopback for the session: `mlflow server` with a sqlite backend,
proxied artifacts (`--serve-artifacts`) and MLflow's basic-auth app, so that wrong credentials are
refused (401) as a protected server refuses them.

mlflow (with its `auth` extra) is in the test extra: the server is MLflow's own, and so is the client
the tests use as the oracle (`MlflowServer.client()`); mlci itself only speaks MLflow's REST API.
The server takes 20–60 s to start (database migrations), once per session; every test makes its own
experiment and registered model names, so tests never see each other's runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.testing.storage import free_port

ADMIN = "admin"
PASSWORD = "mlci-test-admin-password"  # the server's bootstrap admin: a test credential, not a secret


@dataclass(frozen=True)
class MlflowServer:
    uri: str

    def env(self) -> dict[str, str]:
        """What a user sets: the server and an account it accepts."""
        return {
            "MLFLOW_TRACKING_URI": self.uri,
            "MLFLOW_TRACKING_USERNAME": ADMIN,
            "MLFLOW_TRACKING_PASSWORD": PASSWORD,
        }

    def client(self) -> Any:
        """MLflow's own client (the oracle), logged in by the `mlflow_tracking` fixture's environment."""
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def experiment(self) -> tuple[str, str]:
        """A fresh experiment: (name, id)."""
        name = f"mlci-{uuid.uuid4().hex[:10]}"
        return name, str(self.client().create_experiment(name))

    def log_run(
        self,
        experiment_id: str,
        commit: str,
        metrics: dict[str, float],
        params: dict[str, str] | None = None,
        *,
        status: str = "FINISHED",
        tag: str = "mlflow.source.git.commit",
        end_time: int | None = None,
    ) -> str:
        """A run of `commit` as a training script logs it; returns its id."""
        client = self.client()
        run = client.create_run(experiment_id, tags={tag: commit})
        run_id: str = run.info.run_id
        for key, value in metrics.items():
            client.log_metric(run_id, key, value)
        for key, value in (params or {}).items():
            client.log_param(run_id, key, value)
        if status != "RUNNING":
            client.set_terminated(run_id, status=status, end_time=end_time)
        return run_id

    def downloaded(self, model_uri: str, dest: Path) -> Path:
        """`models:/NAME@ALIAS` downloaded by MLflow itself into `dest`."""
        import mlflow.artifacts

        return Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(dest)))


def _wait(uri: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"mlflow server did not start: {log.read_text()[-3000:]}")
        time.sleep(0.5)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """`mlflow server` on a free loopback port for the session; stopped (its whole process group) after."""
    folder = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    mlflow = Path(sys.executable).parent / "mlflow"
    assert mlflow.is_file(), "mlflow is missing: install the test extra (`pip install -e '.[test]'`)"
    command = [str(mlflow), "server", "--app-name", "basic-auth", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}", "--serve-artifacts"]
    command += ["--artifacts-destination", str(folder / "artifacts"), "--workers", "1"]
    env = {
        **os.environ,
        "MLFLOW_AUTH_ADMIN_PASSWORD": PASSWORD,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": uuid.uuid4().hex,
        "MLFLOW_AUTH_CONFIG_PATH": "",
    }
    env.pop("MLFLOW_AUTH_CONFIG_PATH")
    log = folder / "server.log"
    with log.open("w") as out:
        # its own process group: `mlflow server` starts uvicorn as a child, which must stop with it
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder, start_new_session=True
        )
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait(uri, proc, log)
        yield MlflowServer(uri)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


@pytest.fixture
def mlflow_tracking(mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch) -> MlflowServer:
    """The session's server, with this test's environment set as a user would (URI and credentials):
    MLflow's client and the `mlci` subprocesses read it; it is gone after the test."""
    for name, value in mlflow_server.env().items():
        monkeypatch.setenv(name, value)
    return mlflow_server
