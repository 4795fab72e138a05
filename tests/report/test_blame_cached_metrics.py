"""Metrics in a DVC-cached folder and the DVC remote out of reach (a fork's pull request has no secrets):
`mlci report` names the remote and says what it could not read, never DVC's bare "failed to load
directory" nor nothing at all."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.testing.fixtures import ExampleRepo, run_cli

pytestmark = pytest.mark.slow


def _metrics_in_a_cached_folder(repo: ExampleRepo) -> None:
    """evaluate writes results/metrics.json inside its DVC-cached output folder `results`."""
    pipeline = yaml.safe_load((repo.root / "dvc.yaml").read_text())
    stage = pipeline["stages"]["evaluate"]
    stage["cmd"] = "python src/evaluate.py && mkdir -p results && cp metrics.json results/metrics.json"
    stage["outs"] = ["results"]
    pipeline["metrics"] = ["results/metrics.json"]
    (repo.root / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))


def test_report_names_the_remote_it_could_not_reach(example_repo: ExampleRepo, tmp_path: Path) -> None:
    repo = example_repo
    _metrics_in_a_cached_folder(repo)
    base = repo.retrain("Metrics in a DVC-cached folder")
    repo.set_param("train.n_estimators", 31)
    repo.retrain("More trees")
    shutil.rmtree(repo.root / ".dvc" / "cache")
    shutil.rmtree(repo.root / "results")
    repo.dvc("remote", "modify", "--local", "storage", "url", str(tmp_path / "out-of-reach"))

    proc = run_cli("report", "--base", base, cwd=repo.root)

    text = proc.stdout + proc.stderr
    assert "DVC remote 'storage'" in text, text
    assert "results" in text, text
    assert "failed to load directory" not in text, text
