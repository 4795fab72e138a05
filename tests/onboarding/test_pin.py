"""What `mlci init` pins the workflows to when no --ref is given: a commit of mlci-dev/mlci that exists
upstream (the one pip installed from git, or a pushed source checkout), never an unpushed one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlci.onboarding import example
from mlci.repo.git import git
from tests.testing.fixtures import ROOT
from tests.testing.git_http import GitHttpServer

UPSTREAM = "https://github.com/mlci-dev/mlci.git"


@pytest.fixture
def dvc_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    example.write_project(root)
    (root / "mlci.yaml").unlink()  # init writes its own
    git(root, "init", "-q")
    example.dvc(root, "init", "-q")
    return root


def _mlci_source(dest: Path) -> Path:
    """This checkout's files (as they are now) committed in a fresh repository."""
    tracked = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    for name in tracked:
        if (ROOT / name).is_file() and not name.startswith("tests/"):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / name, dest / name)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "mlci")
    return dest


def _init(project: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    """`mlci init` with mlci imported from `pythonpath` (a checkout's src/ or a pip --target folder)."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [sys.executable, "-m", "mlci", "init", "--dry-run"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _pinned(proc: subprocess.CompletedProcess[str]) -> set[str]:
    return {line.split("@")[1].split()[0] for line in proc.stdout.splitlines() if "/deploy.yml@" in line}


def test_an_unpushed_source_checkout_is_refused_and_a_pushed_one_pinned(
    tmp_path: Path, dvc_project: Path
) -> None:
    checkout = _mlci_source(tmp_path / "mlci")
    git(checkout, "remote", "add", "upstream", UPSTREAM)

    refused = _init(dvc_project, checkout / "src")

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "not pushed" in refused.stderr and "--ref" in refused.stderr
    assert not (dvc_project / ".github").exists()
    head = git(checkout, "rev-parse", "HEAD")
    git(checkout, "update-ref", "refs/remotes/upstream/main", head)  # as after `git push upstream`

    pinned = _init(dvc_project, checkout / "src")

    assert pinned.returncode == 0, pinned.stderr
    assert _pinned(pinned) == {head}


def _pip_install(source: str, target: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            source,
        ],
        check=True,
        capture_output=True,
    )


def test_an_install_from_the_git_url_pins_the_installed_commit_and_a_local_one_is_refused(
    tmp_path: Path, dvc_project: Path
) -> None:
    source = _mlci_source(tmp_path / "mlci")
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(source), str(bare))
    server = GitHttpServer(tmp_path / "served").start()
    try:
        server.add("mlci-dev/mlci", bare)
        commit = git(source, "rev-parse", "HEAD")
        _pip_install(f"git+{server.url}/mlci-dev/mlci.git@{commit}", tmp_path / "from-git")
    finally:
        server.stop()

    pinned = _init(dvc_project, tmp_path / "from-git")

    assert pinned.returncode == 0, pinned.stderr
    assert _pinned(pinned) == {commit}
    _pip_install(str(source), tmp_path / "from-folder")

    refused = _init(dvc_project, tmp_path / "from-folder")

    assert refused.returncode == 2
    assert (
        "local folder or wheel" in refused.stderr
        and "pip install git+https://github.com/mlci-dev/mlci@" in refused.stderr
    )
