"""The example project trained on a real storage server (S3 on moto, Azure on Azurite), once per backend
and session: the loop and the fault tests of DVC remotes on cloud storage start from it.

Its metrics file is made DVC-cached (the bundled project keeps it in git), so a report must read it from
the remote. Tests must not change the shared bucket or origin: `fork` gives a test its own copies.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from mlci.onboarding import example
from mlci.repo.git import git
from tests.testing.fixtures import run_cli
from tests.testing.storage import Storage

BACKENDS = ["s3_server", "azure_server"]


@dataclass
class Trained:
    storage: Storage
    bucket: str
    root: Path  # where it was trained: its DVC cache holds what was pushed
    origin: Path
    first: str  # main's first trained commit
    second: str  # main's head: more trees
    v1: bytes  # the model of each
    v2: bytes
    current: Path  # labelled data for monitoring (the test split)


def remote_project(tmp: Path, storage: Storage) -> tuple[Path, str]:
    """The example project with its DVC remote in a fresh bucket/container, metrics DVC-cached, committed.
    Returns (root, bucket)."""
    root, origin = tmp / "work", tmp / "origin.git"
    root.mkdir()
    example.write_project(root)
    dvc_yaml = root / "dvc.yaml"
    dvc_yaml.write_text(
        dvc_yaml.read_text().replace("- metrics.json:\n          cache: false", "- metrics.json")
    )
    git(tmp, "init", "-q", "--bare", "-b", "main", str(origin))
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", str(origin))
    example.dvc(root, "init", "-q")
    example.dvc(root, "config", "core.autostage", "true")
    example.dvc(root, "config", "core.analytics", "false")
    bucket = storage.bucket()
    example.dvc(root, "remote", "add", "-d", "storage", f"{storage.scheme}://{bucket}/store")
    for key, value in storage.remote_options().items():
        example.dvc(root, "remote", "modify", "storage", key, value)
    example.dvc(root, "add", "-q", "data/raw.csv")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Example project on a cloud remote")
    return root, bucket


def train(root: Path, storage: Storage, message: str) -> str:
    done = run_cli("train", "--format", "json", cwd=root, env=storage.env())
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["pushed"] and result["stages_run"], result
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    git(root, "push", "-q", "origin", "HEAD:main")
    return git(root, "rev-parse", "HEAD")


@pytest.fixture(scope="session", params=BACKENDS, ids=["s3", "azure"])
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Two trained commits on main, both pushed to the bucket (one project per backend and session)."""
    storage: Storage = request.getfixturevalue(request.param)
    tmp = tmp_path_factory.mktemp(request.param)
    root, bucket = remote_project(tmp, storage)
    first = train(root, storage, "Train the model")
    v1 = (root / "models" / "model.pkl").read_bytes()
    params = root / "params.yaml"
    params.write_text(params.read_text().replace("n_estimators: 40", "n_estimators: 60"))
    second = train(root, storage, "More trees")
    v2 = (root / "models" / "model.pkl").read_bytes()
    assert v1 != v2
    current = tmp / "current.csv"
    shutil.copyfile(root / "data" / "prepared" / "test.csv", current)
    return Trained(storage, bucket, root, tmp / "origin.git", first, second, v1, v2, current)


def object_key(md5: str) -> str:
    """Where DVC 3 keeps an object in the remote `store` folder."""
    return f"store/files/md5/{md5[:2]}/{md5[2:]}"


def recorded_md5(root: Path, rev: str, path: str) -> str:
    """The md5 dvc.lock (or the path's .dvc file) records for an output at a commit."""
    dvc_file = root / f"{path}.dvc"
    if dvc_file.exists():
        (out,) = yaml.safe_load(git(root, "show", f"{rev}:{path}.dvc"))["outs"]
        return str(out["md5"])
    lock = yaml.safe_load(git(root, "show", f"{rev}:dvc.lock"))
    for stage in lock["stages"].values():
        for out in stage.get("outs", []):
            if out["path"] == path:
                return str(out["md5"])
    raise KeyError(path)


def fork(trained: Trained, tmp: Path) -> tuple[Path, Path]:
    """A test's own bare origin (without the registry's tags others may have pushed) and a clone of it
    with an empty DVC cache. Returns (clone, origin)."""
    origin = tmp / "origin.git"
    git(tmp, "clone", "-q", "--bare", "--no-tags", str(trained.origin), str(origin))
    work = tmp / "work"
    git(tmp, "clone", "-q", str(origin), str(work))
    return work, origin


def copy_bucket(storage: Storage, bucket: str, without: set[str]) -> str:
    """A new bucket/container with every object of `bucket` but the keys in `without`."""
    copy = storage.bucket()
    storage.copy(bucket, copy, [k for k in storage.keys(bucket) if k not in without])
    return copy


def missing_bucket(scheme: str) -> str:
    return f"{scheme}://mlci-missing-{uuid.uuid4().hex[:8]}/store"
