"""`mlci demo` runs the whole loop, offline, and leaves a project to explore."""

from __future__ import annotations

import json
from pathlib import Path

from mlci.repo.git import git
from tests.testing.fixtures import run_cli


def test_demo_runs_the_loop_end_to_end(tmp_path: Path) -> None:
    base = tmp_path / "demo"
    proc = run_cli("demo", str(base))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    project, outbox = base / "project", base / "project" / ".mlci" / "outbox"

    # train on main, and on the PR branch: results committed, data in the DVC remote
    assert (project / "dvc.lock").exists()
    assert any((base / "dvc-remote").rglob("*")), "nothing was pushed to the DVC remote"
    # the PR report: a sticky comment in the outbox with the gate verdict
    comment = next(outbox.glob("comment-pr1-*.md")).read_text()
    assert "<!-- mlci:report:default -->" in comment and "test.accuracy" in comment
    assert "gates passed" in proc.stdout
    # deploy: registry tags in GTO's format, the artifact live in the local target, a deployment
    tags = git(project, "tag", "--list").split()
    assert "classifier@v0.0.1" in tags and any(t.startswith("classifier#prod#") for t in tags)
    current = project / ".mlci" / "deployments" / "classifier" / "current"
    assert current.resolve().name == "v0.0.1"
    deployment = json.loads(next(outbox.glob("deployment-production-*.json")).read_text())
    assert deployment["environment"] == "production"
    # monitoring found the drift and opened the retraining pull request on a pushed branch
    assert "→ retraining needed" in (project / ".mlci" / "monitor.md").read_text()
    pr = json.loads((outbox / "pull-request-mlci-retrain-classifier.json").read_text())
    assert pr["head"]["ref"] if isinstance(pr.get("head"), dict) else pr["head"] == "mlci/retrain/classifier"
    assert git(base / "origin.git", "rev-parse", "--verify", "refs/heads/mlci/retrain/classifier")
    assert "The loop ran end to end" in proc.stdout


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    proc = run_cli("demo", str(tmp_path))
    assert proc.returncode == 2 and "is not empty" in proc.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"
