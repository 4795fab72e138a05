"""One dataset the report cannot read does not sink the report: metrics, params and the readable
datasets are shown, the data section says which dataset could not be read and why (no DVC remote,
a remote out of reach as in every fork PR, which has no secrets), and the exit code follows the gates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from mlci.repo.git import git
from tests.testing import corpus
from tests.testing.fixtures import ExampleRepo, run_cli


def _report(root: Path, base: str = "HEAD~1") -> tuple[int, dict[str, object], str]:
    proc = run_cli("report", "--base", base, "--head", "HEAD", "--format", "json", cwd=root)
    document = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc.returncode, document, proc.stderr


def _new_version(dvc_file: Path) -> None:
    """What a PR changing the data commits: the `.dvc` file names content nobody here has."""
    data = yaml.safe_load(dvc_file.read_text())
    md5 = data["outs"][0]["md5"]
    data["outs"][0]["md5"] = ("0" if md5[0] != "0" else "1") + md5[1:]
    dvc_file.write_text(yaml.safe_dump(data, sort_keys=False))


def test_a_public_project_without_a_dvc_remote_gets_its_report(tmp_path: Path) -> None:
    root = corpus.clone(corpus.WINEQ, tmp_path / "wineq")
    git(root, "checkout", "-q", "-b", "more-wine")
    _new_version(root / "data_given" / "winequality.csv.dvc")
    git(root, "commit", "-qam", "more wine")
    code, document, err = _report(root)
    assert code == 0, err
    metrics = {m["key"] for m in document["metrics"]}  # type: ignore[union-attr]
    assert {"rmse", "mae", "r2"} <= metrics
    checks = document["data_checks"]
    assert isinstance(checks, dict)
    unread = checks["unread"]
    assert [u["path"] for u in unread] == ["data_given/winequality.csv"]
    assert "no DVC remote" in unread[0]["reason"] and "mlci train" not in unread[0]["reason"]
    proc = run_cli("report", "--base", "HEAD~1", "--head", "HEAD", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "Could not be read" in proc.stdout and "winequality.csv" in proc.stdout


def test_a_remote_out_of_reach_leaves_the_readable_datasets_checked(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    repo = example_repo
    raw = repo.root / "data" / "raw.csv"
    lines = raw.read_text().splitlines()
    raw.write_text("\n".join(lines + lines[1:40]) + "\n")
    repo.dvc("add", "-q", "data/raw.csv")
    repo.retrain("More rows")  # prepared/train.csv and test.csv change too; all pushed
    new = yaml.safe_load((repo.root / "data" / "raw.csv.dvc").read_text())["outs"][0]["md5"]
    shutil.rmtree(repo.root / ".dvc" / "cache" / "files" / "md5" / new[:2])  # a runner's empty cache
    raw.unlink()  # for raw.csv; the prepared data is still in the cache
    shutil.rmtree(repo.root / ".dvc" / "tmp", ignore_errors=True)
    repo.dvc("remote", "modify", "--local", "storage", "url", str(tmp_path / "out-of-reach"))
    code, document, err = _report(repo.root)
    assert code == 0, err
    checks = document["data_checks"]
    assert isinstance(checks, dict)
    assert [u["path"] for u in checks["unread"]] == ["data/raw.csv"]
    assert "storage" in checks["unread"][0]["reason"]  # the remote is named
    assert {d["path"] for d in checks["datasets"]} >= {"data/prepared/train.csv"}
    assert document["metrics"]


@pytest.mark.parametrize("gate", [0.5, 0.001])  # r2 is 0.0084
def test_the_exit_code_follows_the_gates(tmp_path: Path, gate: float) -> None:
    root = corpus.clone(corpus.WINEQ, tmp_path / "wineq")
    (root / "mlci.yaml").write_text(yaml.safe_dump({"gates": [{"metric": "r2", "min": gate}]}))
    git(root, "add", "mlci.yaml")
    git(root, "commit", "-qm", "a gate")
    _new_version(root / "data_given" / "winequality.csv.dvc")
    git(root, "commit", "-qam", "more wine")
    code, document, err = _report(root)
    assert code == (1 if gate > 0.01 else 0), err
    assert document["data_checks"]["unread"]  # type: ignore[index]
