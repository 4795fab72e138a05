"""The monitor path, shaped like the report's: one DVC `Repo` per run, and every input checked once,
before anything is read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import dvc.repo
import pytest

from mlci.cli import app as cli
from mlci.onboarding import example
from tests.testing.fixtures import ExampleRepo, run_cli


@pytest.fixture
def repo_opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every DVC `Repo` this process opens from now on (DVC's own `Repo.__init__`, counted, then run)."""
    opened: list[str] = []
    original = dvc.repo.Repo.__init__

    def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        opened.append(str(args[0] if args else kwargs.get("root_dir", "")))
        original(self, *args, **kwargs)

    monkeypatch.setattr(dvc.repo.Repo, "__init__", counted)
    return opened


def _fresh(root: Path, *, labelled: bool, seed: int) -> Path:
    frame = example.raw_frame().sample(frac=0.4, random_state=seed)
    if not labelled:
        frame = frame.drop(columns=["target"])
    path = root / "fresh" / f"batch-{seed}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("labelled", [True, False], ids=["labelled", "unlabelled"])
def test_one_dvc_repo_per_monitor_run(
    example_repo: ExampleRepo,
    repo_opens: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    labelled: bool,
) -> None:
    """The model, the training data at the production commit and (labelled) the recorded metrics are
    read with one DVC Repo, whether the reference profile is built (cold) or cached (warm), from the
    project's folder or a folder below it (paths stay relative to the project, not the working folder)."""
    below = example_repo.root / "src"
    monkeypatch.chdir(example_repo.root if labelled else below)
    for seed in (3, 4):  # cold: the profile is built; warm: it is read from monitor.profile_dir
        fresh = _fresh(example_repo.root, labelled=labelled, seed=seed)
        repo_opens.clear()
        code = cli.run(["monitor", "classifier", "--current", str(fresh), "--format", "json"])
        out = capsys.readouterr()
        assert code == 0, out.err
        report = json.loads(out.out)
        assert report["prediction_drift"]["available"] is True
        assert report["decay"]["available"] is labelled
        assert len(repo_opens) == 1, repo_opens
    assert list((example_repo.root / ".mlci" / "profiles").glob("*.json"))


def test_files_alone_open_no_dvc_repo(
    example_repo: ExampleRepo,
    repo_opens: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """With a reference file and no model, DVC is never needed: no Repo is opened at all."""
    monkeypatch.chdir(example_repo.root)
    data = example.raw_frame().drop(columns=["target"])
    data.iloc[:200].to_csv(tmp_path / "ref.csv", index=False)
    data.iloc[200:].to_csv(tmp_path / "cur.csv", index=False)
    config = example_repo.root / "mlci.yaml"
    config.write_text("monitor:\n  bins: 10\n")
    code = cli.run(
        ["monitor", "--reference", str(tmp_path / "ref.csv"), "--current", str(tmp_path / "cur.csv")]
    )
    assert code == 0, capsys.readouterr().err
    assert repo_opens == []


@pytest.mark.parametrize(
    "reference",
    ["data/prepared", "data/prepared/train.csv", "no-such-branch"],
    ids=["dvc-folder", "dvc-file", "name"],
)
def test_a_reference_that_is_not_readable_is_said_with_the_other_problems(
    example_repo: ExampleRepo, reference: str
) -> None:
    """A --reference that is neither local files nor a revision (a DVC-tracked path not in the workspace
    included: monitoring reads the training data only at a revision) is one of all the problems said at
    once, before the model or any data is read."""
    shutil.rmtree(example_repo.root / "data" / "prepared")
    proc = run_cli(
        "monitor", "classifier", "--reference", reference, "--current", "nope.csv", cwd=example_repo.root
    )
    assert proc.returncode == 2, proc.stderr
    assert "2 problems with the inputs" in proc.stderr
    assert (
        f"--reference {reference!r} is neither a data file, glob or folder nor a git revision" in proc.stderr
    )
    assert "no data at nope.csv (--current)" in proc.stderr
    assert "Traceback" not in proc.stderr
