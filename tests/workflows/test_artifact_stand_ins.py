"""The download-artifact stand-in (tests/actions/download-artifact) chooses and unpacks artifacts as the
real actions/download-artifact does: `name` straight into `path`, `pattern` one folder per artifact or all
into `path` with `merge-multiple`, a pattern matching nothing is no error, a missing `name` is. Run as
its composite step runs it (its script, its environment), on this run's artifacts and on another run's
through the fake GitHub's artifacts API."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ROOT

ACTION = ROOT / "tests" / "actions" / "download-artifact" / "action.yml"
RUN = "4242"


def _stored(root: Path) -> Path:
    """What three profile jobs and a reference job of run RUN uploaded (upload stand-in's layout)."""
    for k in (1, 2, 3):
        (root / RUN / f"mlci-profile-m-{k}" / "m").mkdir(parents=True)
        (root / RUN / f"mlci-profile-m-{k}" / "m" / f"part-{k}.json").write_text(f"{k}\n")
    (root / RUN / "mlci-reference-m").mkdir(parents=True)
    (root / RUN / "mlci-reference-m" / "m.json").write_text("ref\n")
    return root


def _download(
    dest: Path, artifacts: Path, run_id: str = "", api: str = "", token: str = "", **inputs: str
) -> str:
    step = yaml.safe_load(ACTION.read_text())["runs"]["steps"][0]
    defaults = {k: str(v.get("default", "")) for k, v in yaml.safe_load(ACTION.read_text())["inputs"].items()}
    given = {**defaults, **inputs, "path": str(dest), "run-id": run_id, "github-token": token}
    env = {
        key: re.sub(r"\$\{\{ inputs\.([\w-]+) \}\}", lambda m: given[m.group(1)], value)
        for key, value in step["env"].items()
    }
    env |= {"REPO": "octo-org/models", "GITHUB_RUN_ID": RUN, "MLCI_TEST_ARTIFACTS": str(artifacts)}
    env |= {"GITHUB_API_URL": api, "PATH": os.environ["PATH"]}
    done = subprocess.run(["bash", "-c", step["run"]], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise AssertionError(done.stdout + done.stderr)
    return done.stdout


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_pattern_with_merge_multiple_unpacks_every_match_into_one_folder(tmp_path: Path) -> None:
    artifacts = _stored(tmp_path / "store")
    said = _download(tmp_path / "parts", artifacts, pattern="mlci-profile-m-*", **{"merge-multiple": "true"})
    assert _tree(tmp_path / "parts") == ["m/part-1.json", "m/part-2.json", "m/part-3.json"]
    assert "Total of 3 artifact(s) downloaded" in said


def test_a_pattern_alone_gives_one_folder_per_artifact_and_no_match_is_no_error(tmp_path: Path) -> None:
    artifacts = _stored(tmp_path / "store")
    _download(tmp_path / "each", artifacts, pattern="mlci-profile-m-[12]")
    assert _tree(tmp_path / "each") == ["mlci-profile-m-1/m/part-1.json", "mlci-profile-m-2/m/part-2.json"]
    said = _download(tmp_path / "none", artifacts, pattern="mlci-profile-other-*")
    assert "Total of 0 artifact(s) downloaded" in said and not (tmp_path / "none").exists()


def test_a_name_unpacks_into_path_and_a_missing_name_fails(tmp_path: Path) -> None:
    artifacts = _stored(tmp_path / "store")
    _download(tmp_path / "ref", artifacts, name="mlci-reference-m", pattern="ignored-*")
    assert _tree(tmp_path / "ref") == ["m.json"]
    with pytest.raises(AssertionError, match="Artifact not found for name: mlci-reference-x"):
        _download(tmp_path / "nothing", artifacts, name="mlci-reference-x")


def test_another_runs_artifacts_come_through_the_artifacts_api(
    tmp_path: Path, fake_github: FakeGitHub
) -> None:
    fake_github.artifacts_dir = _stored(tmp_path / "store")
    _download(
        tmp_path / "parts",
        tmp_path / "elsewhere",  # not this run's folder: only the API has them
        run_id=RUN,
        api=fake_github.url,
        token=fake_github.token,
        pattern="mlci-profile-m-*",
        **{"merge-multiple": "true"},
    )
    assert _tree(tmp_path / "parts") == ["m/part-1.json", "m/part-2.json", "m/part-3.json"]
    assert any(r.path.endswith(f"/actions/runs/{RUN}/artifacts") for r in fake_github.requests)
