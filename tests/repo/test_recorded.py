"""What DVC recorded at a revision, read once per commit: hashes equal DVC's own `dvc ls --show-hash`."""

from __future__ import annotations

import json

from mlci.repo.recorded import recorded
from tests.testing.fixtures import ExampleRepo


def _dvc_hashes(repo: ExampleRepo, rev: str, path: str) -> dict[str, str]:
    listed = json.loads(repo.dvc("ls", ".", path, "--rev", rev, "--show-hash", "--json"))
    return {entry["path"]: entry["md5"] for entry in listed if entry.get("md5")}


def test_hashes_of_dvc_files_and_pipeline_outputs_equal_dvcs(example_repo: ExampleRepo) -> None:
    first = example_repo.head()
    example_repo.write("data/raw.csv", (example_repo.root / "data/raw.csv").read_text() + "\n")
    example_repo.dvc("add", "-q", "data/raw.csv")
    example_repo.commit("More data")
    for rev in (first, "HEAD"):
        held = recorded(example_repo.root, rev)
        (raw_md5,) = _dvc_hashes(example_repo, rev, "data/raw.csv").values()
        assert held.hash_of("data/raw.csv") == raw_md5  # a .dvc-tracked file
        (model_md5,) = _dvc_hashes(example_repo, rev, "models/model.pkl").values()
        assert held.hash_of("models/model.pkl") == model_md5  # a pipeline output, from dvc.lock
        prepared = _dvc_hashes(example_repo, rev, "data/prepared")
        assert held.hash_of("data/prepared/train.csv") == prepared["train.csv"]  # recorded as a stage's dep
        assert held.hash_of("data/prepared/test.csv") == prepared["test.csv"]
        folder = held.hash_of("data/prepared/other.csv")  # only the folder's hash is recorded
        assert folder is not None and folder.endswith(".dir/other.csv")
    assert recorded(example_repo.root, first).hash_of("data/raw.csv") != recorded(
        example_repo.root, "HEAD"
    ).hash_of("data/raw.csv")


def test_untracked_paths_and_unknown_revisions_have_no_hash(example_repo: ExampleRepo) -> None:
    assert recorded(example_repo.root, "HEAD").hash_of("params.yaml") is None
    missing = recorded(example_repo.root, "no-such-branch")
    assert missing.hash_of("data/raw.csv") is None and not missing.lock and not missing.dvc_files


def test_read_once_per_commit(example_repo: ExampleRepo) -> None:
    assert recorded(example_repo.root, "HEAD") is recorded(example_repo.root, example_repo.head())
