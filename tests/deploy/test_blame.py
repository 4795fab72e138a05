"""Messages that blame the right thing when metrics sit in the DVC cache and the remote is out of reach:
the remote is named, and deploy says what needed the metrics (the gates, or with `gates: []` the model
card), never "the quality gates" when there are none."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.testing.fixtures import ExampleRepo, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def cached_metrics(example_repo: ExampleRepo, tmp_path: Path) -> ExampleRepo:
    """The example with metrics.json DVC-cached (pushed), on a runner whose remote is out of reach."""
    repo = example_repo
    pipeline = yaml.safe_load((repo.root / "dvc.yaml").read_text())
    pipeline["stages"]["evaluate"]["metrics"] = ["metrics.json"]  # cache: true, DVC's default
    (repo.root / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    repo.git("rm", "-q", "--cached", "metrics.json")
    repo.retrain("Metrics in the DVC cache")
    shutil.rmtree(repo.root / ".dvc" / "cache")
    (repo.root / "metrics.json").unlink()
    repo.dvc("remote", "modify", "--local", "storage", "url", str(tmp_path / "out-of-reach"))
    return repo


@pytest.mark.parametrize("gates", [[], [{"metric": "test.accuracy", "min": 0.5}]])
def test_deploy_says_what_needed_the_metrics(cached_metrics: ExampleRepo, gates: list[object]) -> None:
    repo = cached_metrics
    config = yaml.safe_load((repo.root / "mlci.yaml").read_text())
    config["gates"] = gates
    (repo.root / "mlci.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    repo.commit("gates")
    proc = run_cli("deploy", cwd=repo.root)
    assert proc.returncode == 2, proc.stderr
    assert "DVC remote 'storage'" in proc.stderr
    if gates:
        assert "which the quality gates need" in proc.stderr
    else:
        assert "quality gates" not in proc.stderr and "model card" in proc.stderr
