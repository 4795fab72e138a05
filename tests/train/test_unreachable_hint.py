"""An S3 remote whose keys are set but whose endpoint cannot be reached (here: through a proxy that is
down, so mlci's own probe steps aside and DVC's error speaks): the remote is named as unreachable, and
the fix is the address or the network, never "set the secrets" (the keys were never checked)."""

from __future__ import annotations

import shutil
import socket

import pytest
import yaml

from tests.testing.fixtures import ExampleRepo, run_cli

pytestmark = pytest.mark.slow


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_keys_set_endpoint_unreachable_blames_the_address(example_repo: ExampleRepo) -> None:
    pytest.importorskip("dvc_s3", reason="the S3 remote needs DVC's s3 plugin (installed with mlci's tests)")
    repo = example_repo
    dead = f"http://127.0.0.1:{_closed_port()}"
    repo.dvc("remote", "add", "-f", "-d", "s3r", "s3://models-bucket/store")
    repo.dvc("remote", "modify", "s3r", "endpointurl", dead)
    shutil.rmtree(repo.root / ".dvc" / "cache")
    params = yaml.safe_load((repo.root / "params.yaml").read_text())
    params["train"]["n_estimators"] = 11
    (repo.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "HTTPS_PROXY": dead}
    env["HTTP_PROXY"] = dead
    proc = run_cli("train", "--no-push", cwd=repo.root, env=env, timeout=300)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr
    assert "DVC remote 's3r'" in proc.stderr and "unreachable" in proc.stderr, proc.stderr
    hint = proc.stderr.split("hint:", 1)[1]
    assert "endpoint" in hint and "HTTPS_PROXY" in hint
    assert "set the secret" not in hint and "AWS_ACCESS_KEY_ID" not in hint
