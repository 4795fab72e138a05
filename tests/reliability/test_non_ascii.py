"""A project written in French, through every command: paths with accents and spaces (which git
C-quotes under its default `core.quotePath`), a stage, a params section, a metric and plots named
with non-ASCII characters, on consoles that are not UTF-8 (cp1252, Python's default for piped
output on a Windows runner, and ascii)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlci.onboarding import example
from mlci.repo.git import git
from tests.testing import unicode_project as uni
from tests.testing.fixtures import _isolate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("unicode")
    saved = dict(os.environ)
    os.environ.update(_isolate(base / "home"))
    try:
        uni.build(base / "project")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return base / "project"


@pytest.fixture
def root(template: Path, tmp_path: Path) -> Path:
    shutil.copytree(template, tmp_path / "project", symlinks=True)
    work = tmp_path / "project" / "work"
    git(work, "remote", "set-url", "origin", str(tmp_path / "project" / "origin.git"))
    example.dvc(
        work, "remote", "modify", "--local", "stockage", "url", str(tmp_path / "project" / "dvc-remote")
    )
    return work


def mlci(root: Path, *args: str, encoding: str = "utf-8") -> tuple[int, str, str]:
    """The CLI with Python's streams in `encoding` (click writes UTF-8 to an ascii stream)."""
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    proc = subprocess.run(
        [sys.executable, "-m", "mlci", *args], cwd=root, env=env, capture_output=True, check=False
    )
    out, err = proc.stdout.decode(encoding, "replace"), proc.stderr.decode(encoding, "replace")
    return proc.returncode, out, err


def affected(root: Path, base: str) -> dict[str, list[str]]:
    code, out, err = mlci(root, "affected", "--base", base, "--format", "json")
    assert code == 0, err
    code, text, err = mlci(root, "affected", "--base", base)
    assert code == 0, err
    return {"models": [e["model"] for e in json.loads(out)["include"]], "lines": text.splitlines()}


def test_affected_sees_changes_under_quoted_paths(root: Path) -> None:
    assert affected(root, "HEAD")["models"] == []
    script = root / uni.TRAIN_SCRIPT
    script.write_text(script.read_text(encoding="utf-8") + "# v2\n", encoding="utf-8")
    found = affected(root, "HEAD")  # uncommitted
    assert found["models"] == ["classifieur"]
    assert any(uni.TRAIN_SCRIPT in line for line in found["lines"]), found
    git(root, "commit", "-qam", "script modifié")
    assert affected(root, "HEAD~1")["models"] == ["classifieur"]  # committed
    raw = root / uni.RAW
    raw.write_text(raw.read_text(encoding="utf-8") + raw.read_text(encoding="utf-8").splitlines()[1] + "\n")
    example.dvc(root, "add", "-q", uni.RAW)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "données ajoutées")
    found = affected(root, "HEAD~1")  # only `données/entrée brute.csv.dvc` changed in git
    assert found["models"] == ["classifieur"]
    assert any(uni.STAGES[0] in line for line in found["lines"]), found  # through préparer


def test_train_commit_carries_non_ascii_results_and_the_report_shows_them(root: Path) -> None:
    git(root, "checkout", "-q", "-b", "moins-d-arbres")
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    params[uni.SECTION]["n_estimators"] = 7
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False))
    git(root, "commit", "-qam", "moins d'arbres")
    code, out, err = mlci(root, "train", "--commit", "--no-push", encoding="cp1252")
    assert code == 0, err + out
    committed = git(root, "show", "--name-only", "-z", "--format=", "HEAD").split("\0")
    assert uni.METRICS in committed and uni.ROC in committed and "dvc.lock" in committed
    assert git(root, "status", "--porcelain", "-z", "--", uni.METRICS, uni.ROC) == ""
    value = json.loads((root / uni.METRICS).read_text(encoding="utf-8"))["test"]["précision"]
    code, out, err = mlci(root, "report", "--base", "main", "--head", "HEAD", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    head = {m["key"]: m["head"] for m in report["metrics"] if m["file"] == uni.METRICS}
    assert head[uni.METRIC] == pytest.approx(value)
    assert any(p["key"] == f"{uni.SECTION}.n_estimators" for p in report["params"]), report["params"]


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_every_command_on_a_console_that_is_not_utf8(root: Path, encoding: str) -> None:
    fresh = root.parent / "frais" / "récent é.csv"
    fresh.parent.mkdir()
    lines = (root / uni.PREPARED / "test.csv").read_text(encoding="utf-8").splitlines()
    fresh.write_text("\n".join(lines[:80]) + "\n", encoding="utf-8")
    (root / uni.TRAIN_SCRIPT).write_text("# touché\n" + (root / uni.TRAIN_SCRIPT).read_text("utf-8"))
    runs = {
        "report": ["report", "--base", "HEAD"],
        "affected": ["affected", "--base", "HEAD"],
        "data check": ["data", "check", "--base", "HEAD"],
        "deploy": ["deploy"],
        "registry": ["registry"],
        "monitor": ["monitor", "--current", str(fresh)],
    }
    for name, args in runs.items():
        code, out, err = mlci(root, *args, encoding=encoding)
        assert code == 0, f"mlci {name}: {code}\n{out}\n{err}"
        assert "Traceback" not in err and out.strip(), name
    code, out, err = mlci(root, "train", "--no-push", encoding=encoding)
    assert code == 0, err + out
    assert "unchanged" in out and "Traceback" not in err
