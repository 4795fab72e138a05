"""A retrain interrupted anywhere leaves nothing the next run cannot complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlci.commands.context import RunContext
from mlci.commands.retrain import Prepared, push_branch
from mlci.errors import MlciError
from mlci.retrain import branch as branches
from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo
from tests.testing.retrain import (
    BRANCH,
    commits_ahead,
    drifted_rows,
    monitor_report,
    online_env,
    origin_sha,
    pointer_at,
    remote_object,
    retrain,
    write_fresh,
)


@pytest.fixture
def report(tmp_path: Path) -> Path:
    return monitor_report(tmp_path, [write_fresh(tmp_path, drifted_rows(30))])


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 502}, id="502-before-landing"),
        pytest.param({"status": 502, "after": True}, id="502-after-landing"),
        pytest.param({"kind": "drop"}, id="dropped-connection"),
        pytest.param({"status": 422, "after": True}, id="opened-meanwhile-by-another-run"),
    ],
)
def test_a_failing_pull_request_call_still_ends_with_one_pull_request(
    example_repo: ExampleRepo, fake_github: FakeGitHub, report: Path, fault: dict[str, object]
) -> None:
    if fault.get("kind") == "drop":
        fake_github.drop("POST", r"/pulls$")
    else:
        fake_github.fail("POST", r"/pulls$", **fault)  # type: ignore[arg-type]

    first = retrain(example_repo, "--from-report", str(report), env=online_env(fake_github))
    again = retrain(example_repo, "--from-report", str(report), env=online_env(fake_github))

    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    assert [p["state"] for p in fake_github.pulls] == ["open"]
    assert commits_ahead(example_repo) == 1


def test_a_read_only_token_fails_clearly_and_the_next_run_opens_the_pull_request(
    example_repo: ExampleRepo, fake_github: FakeGitHub, report: Path
) -> None:
    fake_github.read_only = True
    denied = retrain(example_repo, "--from-report", str(report), env=online_env(fake_github))

    assert denied.returncode == 2
    assert "Allow GitHub Actions to create and approve pull requests" in denied.stderr
    pushed = origin_sha(example_repo)
    assert pushed and fake_github.pulls == []

    fake_github.read_only = False
    repaired = retrain(example_repo, "--from-report", str(report), env=online_env(fake_github))

    assert repaired.returncode == 0, repaired.stderr
    assert "opened" in repaired.stdout
    assert origin_sha(example_repo) == pushed  # no second commit
    assert len(fake_github.pulls) == 1


def test_a_run_killed_after_the_push_is_completed_by_the_next_one(
    example_repo: ExampleRepo, fake_github: FakeGitHub, report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in online_env(fake_github).items():
        monkeypatch.setenv(name, value)
    ctx = RunContext.load(example_repo.root)
    prepared = push_branch(ctx, "", None, [str(write_fresh(report.parent, drifted_rows(30)))])
    assert isinstance(prepared, Prepared)  # the branch is on origin; the process "dies" here
    assert origin_sha(example_repo) == prepared.sha and fake_github.pulls == []

    proc = retrain(example_repo, "--from-report", str(report), env=online_env(fake_github))

    assert proc.returncode == 0, proc.stderr
    assert origin_sha(example_repo) == prepared.sha
    [pull] = fake_github.pulls
    assert pull["head"]["ref"] == BRANCH and prepared.data_hash in pull["body"]


def test_an_unreachable_dvc_remote_pushes_no_branch(
    example_repo: ExampleRepo, fake_github: FakeGitHub, report: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the remote's folder should be")
    example_repo.dvc("remote", "modify", "--local", "storage", "url", str(blocker / "remote"))

    failed = retrain(example_repo, "--from-report", str(report), env=online_env(fake_github))

    assert failed.returncode == 2
    assert "dvc push" in failed.stderr and "hint:" in failed.stderr
    assert origin_sha(example_repo) == "" and fake_github.writes() == []

    (example_repo.root / ".dvc" / "config.local").unlink()
    fixed = retrain(example_repo, "--from-report", str(report), env=online_env(fake_github))

    assert fixed.returncode == 0, fixed.stderr
    assert remote_object(example_repo, pointer_at(example_repo, BRANCH)["md5"]).is_file()
    assert len(fake_github.pulls) == 1


def test_a_branch_moved_since_mlci_looked_is_not_overwritten(
    example_repo: ExampleRepo, fake_github: FakeGitHub, report: Path
) -> None:
    assert retrain(example_repo, "--from-report", str(report), env=online_env(fake_github)).returncode == 0
    ours = origin_sha(example_repo)
    stale = example_repo.head()  # what a run that looked before ours would expect

    for expected in (stale, None):
        with pytest.raises(MlciError, match="could not push"):
            branches.push_branch(example_repo.root, stale, BRANCH, expected)

    assert origin_sha(example_repo) == ours
