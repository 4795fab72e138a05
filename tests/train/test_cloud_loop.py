"""The whole loop through the CLI with the DVC remote on real storage servers on loopback, once per
backend: S3 (moto's server) and Azure (Azurite). The example project trains and pushes into a fresh bucket or
container (tests/testing/cloud.py); fresh clones with an empty DVC cache then report, deploy, roll back and
monitor from it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mlci.onboarding import example
from mlci.repo.git import git
from tests.testing.cloud import Trained, fork
from tests.testing.deploy import clone, remote_tags
from tests.testing.fixtures import run_cli
from tests.testing.report import dvc_json

pytestmark = pytest.mark.slow

STORE = ".mlci/deployments/classifier"


def cached_objects(root: Path) -> set[str]:
    """What the trainer's DVC cache holds, as `<2 hex>/<rest>` names (DVC's layout, local and remote)."""
    files = root / ".dvc" / "cache" / "files" / "md5"
    return {f"{p.parent.name}/{p.name}" for p in files.glob("*/*") if p.is_file()}


def test_train_pushes_every_result_into_the_bucket(trained: Trained) -> None:
    keys = trained.storage.keys(trained.bucket)
    stored = {"/".join(k.split("/")[-2:]) for k in keys if "/files/md5/" in k}
    assert cached_objects(trained.root) and cached_objects(trained.root) <= stored
    assert any("/runs/" in k for k in keys)  # the run cache too: another runner restores, not reruns


def test_a_fresh_clone_reports_dvc_cached_metrics_from_the_bucket(
    trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in trained.storage.env().items():  # the oracle (DVC itself) needs them too
        monkeypatch.setenv(name, value)
    reader = clone(trained.origin, tmp_path / "reader")
    env = trained.storage.env()
    done = run_cli(
        "report", "--base", trained.first, "--head", trained.second, "--format", "json", cwd=reader, env=env
    )
    assert done.returncode in (0, 1), done.stderr  # a gate may fail; the metrics must be read
    document = json.loads(done.stdout)
    assert not document["unread"], document["unread"]
    assert not (reader / "metrics.json").exists()  # nothing pulled into the workspace: read from the bucket
    ours = {m["key"]: (m["base"], m["head"]) for m in document["metrics"]}
    oracle = dvc_json(reader, "metrics", "diff", trained.first, trained.second, "--all")["metrics.json"]
    assert ours == {k: (v["old"], v["new"]) for k, v in oracle.items()}
    assert ours  # the example records test.* metrics


def test_deploy_rollback_and_monitor_from_fresh_clones(
    trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in trained.storage.env().items():
        monkeypatch.setenv(name, value)
    env = trained.storage.env()
    _, origin = fork(trained, tmp_path)  # the registry's tags go to this test's own origin
    first = clone(origin, tmp_path / "first")  # each runner starts with an empty DVC cache
    git(first, "checkout", "-q", trained.first)
    done = run_cli("deploy", cwd=first, env=env)
    assert done.returncode == 0, done.stderr
    assert (first / STORE / "v0.0.1" / "model.pkl").read_bytes() == trained.v1

    second = clone(origin, tmp_path / "second")
    done = run_cli("deploy", cwd=second, env=env)
    assert done.returncode == 0, done.stderr
    assert (second / STORE / "current" / "model.pkl").read_bytes() == trained.v2

    runner = clone(origin, tmp_path / "runner")
    done = run_cli("rollback", "classifier", cwd=runner, env=env)
    assert done.returncode == 0, done.stderr
    assert (runner / STORE / "current" / "model.pkl").read_bytes() == trained.v1  # byte for byte
    assert remote_tags(origin)["classifier#prod#3"] == trained.first

    watcher = clone(origin, tmp_path / "watcher")
    done = run_cli(
        "monitor", "classifier", "--current", str(trained.current), "--format", "json", cwd=watcher, env=env
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["production"]["commit"] == trained.first and report["production"]["source"] == "registry"
    example.dvc(watcher, "get", ".", "data/prepared/train.csv", "--rev", trained.first, "-o", "../prod.csv")
    assert report["reference"]["rows"] == len(pd.read_csv(tmp_path / "prod.csv"))
    assert report["prediction_drift"]["available"] and report["decay"]["available"]
