"""`mlci affected`: which models a change touches, on real git + DVC repositories."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mlci.config import load_config
from mlci.repo import pipeline as pl
from mlci.repo.git import git
from mlci.train.affected import find_affected
from tests.testing.fixtures import actions_env, load_event, read_outputs, run_cli
from tests.testing.train import many_models, set_yaml, three_models


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return three_models(tmp_path / "three")


def affected(root: Path, base: str = "HEAD") -> list[str]:
    proc = run_cli("affected", "--base", base, "--format", "json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    matrix = json.loads(proc.stdout)
    return [entry["model"] for entry in matrix["include"]]


def commit(root: Path, message: str = "change") -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def test_nothing_changed_means_no_model(repo: Path) -> None:
    assert affected(repo) == []


def test_code_change_touches_only_its_model(repo: Path) -> None:
    (repo / "src" / "train_beta.py").write_text("print('beta v2')\n")
    commit(repo)
    assert affected(repo, "HEAD~1") == ["beta"]


def test_shared_code_dependency(repo: Path) -> None:
    (repo / "src" / "common.py").write_text("SHARED = 2\n")
    assert affected(repo) == ["gamma"]  # uncommitted work counts too


def test_param_change_touches_only_the_stages_that_use_the_key(repo: Path) -> None:
    set_yaml(repo / "params.yaml", "alpha.lr", 0.05)
    assert affected(repo) == ["alpha"]


def test_unused_param_keys_touch_nothing(repo: Path) -> None:
    set_yaml(repo / "params.yaml", "beta.notes", "edited")
    set_yaml(repo / "params.yaml", "prepare.unused", 2)
    assert affected(repo) == []


def test_shared_param_reaches_every_model_through_the_dag(repo: Path) -> None:
    set_yaml(repo / "params.yaml", "prepare.split", 0.3)
    proc = run_cli("affected", "--base", "HEAD", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert [line.split(":")[0] for line in proc.stdout.splitlines()] == ["alpha", "beta", "gamma"]
    assert "upstream stage 'prepare' changed" in proc.stdout


def test_data_change_in_dvc_file_touches_every_model(repo: Path) -> None:
    from mlci.onboarding import example

    (repo / "data" / "raw.csv").write_text("x,y\n1,0\n2,1\n3,0\n4,1\n")
    example.dvc(repo, "add", "-q", "data/raw.csv")
    commit(repo, "more data")
    assert git(repo, "diff", "--name-only", "HEAD~1").splitlines() == ["data/raw.csv.dvc"]
    assert affected(repo, "HEAD~1") == ["alpha", "beta", "gamma"]


def test_affected_never_imports_the_data_stack(repo: Path) -> None:
    """Train's `affected` job installs mlci without numpy, scipy, scikit-learn, pandas and pyarrow
    (.ci/install_steps.py, profile `light`): the command must not need them, whatever changed."""
    import subprocess
    import sys

    from mlci.onboarding import example

    (repo / "data" / "raw.csv").write_text("x,y\n1,0\n2,1\n3,0\n4,1\n")
    example.dvc(repo, "add", "-q", "data/raw.csv")
    (repo / "src" / "train_beta.py").write_text("print('beta v2')\n")
    commit(repo, "data and code")
    set_yaml(repo / "params.yaml", "alpha.lr", 0.05)
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "mlci",
            "affected",
            "--base",
            "HEAD~1",
            "--format",
            "json",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert [entry["model"] for entry in json.loads(proc.stdout)["include"]] == ["alpha", "beta", "gamma"]
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line
    }
    assert "mlci" in imported and "yaml" in imported  # the check itself works
    assert imported.isdisjoint({"numpy", "scipy", "sklearn", "pandas", "pyarrow"}), imported


def test_stage_definition_change(repo: Path) -> None:
    import yaml

    data = yaml.safe_load((repo / "dvc.yaml").read_text())
    data["stages"]["train_gamma"]["cmd"] = "python src/train_gamma.py --fast"
    (repo / "dvc.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    assert affected(repo) == ["gamma"]


def test_new_model_in_config(repo: Path) -> None:
    import yaml

    data = yaml.safe_load((repo / "mlci.yaml").read_text())
    data["models"]["beta_copy"] = {"path": "models/beta.pkl"}
    (repo / "mlci.yaml").write_text(yaml.safe_dump(data))
    assert affected(repo) == ["beta_copy"]


def test_pull_request_event_uses_base_sha_and_writes_outputs(repo: Path, tmp_path: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    set_yaml(repo / "params.yaml", "gamma.depth", 5)
    head = commit(repo, "deeper gamma")
    payload = load_event("pull_request/opened")
    payload["pull_request"]["base"]["sha"] = base
    payload["pull_request"]["head"]["sha"] = head
    env = actions_env(tmp_path / "gha", "pull_request", payload)
    proc = run_cli("affected", cwd=repo, env=env)
    assert proc.returncode == 0, proc.stderr
    outputs = read_outputs(tmp_path / "gha" / "output")
    assert json.loads(outputs["matrix"]) == {"include": [{"model": "gamma", "models": "gamma"}]}
    assert json.loads(outputs["models"]) == ["gamma"]
    assert outputs["any"] == "true"
    summary = (tmp_path / "gha" / "summary").read_text()
    assert "`gamma`" in summary and "param changed: gamma.depth" in summary


def test_push_of_a_new_branch_affects_everything(repo: Path, tmp_path: Path) -> None:
    payload = load_event("push/branch")
    payload["before"] = "0" * 40
    env = actions_env(tmp_path / "gha", "push", payload)
    proc = run_cli("affected", "--format", "list", cwd=repo, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["alpha", "beta", "gamma"]


def test_unknown_base_is_a_usage_error(repo: Path) -> None:
    proc = run_cli("affected", "--base", "no-such-branch", cwd=repo)
    assert proc.returncode == 2
    assert "no such branch or commit: 'no-such-branch'" in proc.stderr


def test_model_whose_path_no_stage_outputs_is_a_usage_error(repo: Path) -> None:
    set_yaml(repo / "mlci.yaml", "models.alpha.path", "models/typo.pkl")
    proc = run_cli("affected", "--base", "HEAD", cwd=repo)
    assert proc.returncode == 2
    assert "models/typo.pkl" in proc.stderr and "alpha" in proc.stderr


def test_hundred_models_one_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = many_models(tmp_path / "many", 100)
    (root / "src" / "m042" / "train.py").write_text("# changed\n")
    set_yaml(root / "params.yaml", "m077.train.lr", 0.2)
    start = time.perf_counter()
    result = find_affected(root, "HEAD", load_config(root), pl.read(root))
    elapsed = time.perf_counter() - start
    assert result.models == ["m042", "m077"]
    (root / "src" / "shared" / "util.py").write_text("X = 2\n")
    everything = find_affected(root, "HEAD", load_config(root), pl.read(root))
    assert len(everything.models) == 100
    with capsys.disabled():
        print(f"\naffected on 100 models / 300 stages: {elapsed * 1000:.0f} ms")


def test_model_entry_change_in_config(repo: Path) -> None:
    set_yaml(repo / "mlci.yaml", "models.alpha.description", "documentation only")
    assert affected(repo) == []
    set_yaml(repo / "mlci.yaml", "models.beta.stages", ["prepare", "train_beta"])
    proc = run_cli("affected", "--base", "HEAD", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("beta: model changed in mlci.yaml")
