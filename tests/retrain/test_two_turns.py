"""The loop, twice, over real git, real DVC (a local remote) and the fake GitHub: deploy v1 → drift →
retraining PR → its train and report → merge → deploy v2 → new drift → a new retraining PR rebuilt on
the default branch → train → merge → deploy v3 → rollback to v2, byte for byte.

Every step runs the `mlci` CLI as the workflow step would, and every check reads the real state: refs
and tags in the bare origin, objects in the DVC remote, pull requests and deployments in the fake."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from mlci.repo.git import git
from tests.testing.deploy import clone, remote_tags
from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo, actions_env, run_cli
from tests.testing.retrain import (
    BRANCH,
    commits_ahead,
    configure,
    drifted_rows,
    monitor_report,
    online_env,
    origin_sha,
    pointer_at,
    remote_object,
    write_fresh,
)

STORE = ".mlci/deployments/classifier"


class Loop:
    """One repository driven through the loop; `run` is one workflow step."""

    def __init__(self, repo: ExampleRepo, fake: FakeGitHub, tmp: Path) -> None:
        self.repo, self.fake, self.tmp, self.steps = repo, fake, tmp, 0

    def run(
        self,
        event: str,
        payload: dict[str, Any],
        *args: str,
        ok: tuple[int, ...] = (0,),
        cwd: Path | None = None,
        **env: str,
    ) -> Any:
        self.steps += 1
        payload = {"repository": {"full_name": self.fake.repository, "default_branch": "main"}, **payload}
        step = actions_env(self.tmp / f"step{self.steps}", event, payload, **online_env(self.fake), **env)
        proc = run_cli(*args, cwd=cwd or self.repo.root, env=step)
        assert proc.returncode in ok, (
            f"mlci {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
        return proc

    def deploy(self) -> Any:
        head = self.repo.head()
        return self.run(
            "push",
            {"ref": "refs/heads/main", "after": head},
            "deploy",
            GITHUB_SHA=head,
            GITHUB_REF="refs/heads/main",
        )

    def monitor_finds_drift(self, rows: int, seed: int) -> Any:
        fresh = write_fresh(self.tmp / f"fresh-{seed}", drifted_rows(rows, seed=seed))
        report = monitor_report(fresh.parent, [fresh])
        return self.run("schedule", {"schedule": "17 5 * * *"}, "retrain", "--from-report", str(report))

    def train_branch(self) -> str:
        """The train workflow, dispatched on the retraining branch, on a fresh runner: a clone of the
        branch with an empty DVC cache, then `mlci train --commit`."""
        runner = clone(self.repo.origin, self.tmp / f"runner{self.steps}", "--branch", BRANCH)
        ref = f"refs/heads/{BRANCH}"
        self.run("workflow_dispatch", {"ref": ref}, "train", "--commit", cwd=runner, GITHUB_REF=ref)
        return origin_sha(self.repo)

    def report(self, number: int) -> Any:
        head, base = origin_sha(self.repo), origin_sha(self.repo, "main")
        pull = {"number": number, "head": {"sha": head, "ref": BRANCH}, "base": {"sha": base, "ref": "main"}}
        return self.run(
            "pull_request",
            {"action": "synchronize", "number": number, "pull_request": pull},
            "report",
            "--base",
            base,
            ok=(0, 1),
        )

    def merge(self, number: int) -> str:
        """Merge the pull request on GitHub: a merge commit on main, the PR closed as merged."""
        tip = origin_sha(self.repo)
        self.repo.git("checkout", "-q", "main")
        self.repo.git("pull", "-q", "--ff-only", "origin", "main")
        self.repo.git("fetch", "-q", "origin", f"+refs/heads/{BRANCH}:refs/remotes/origin/{BRANCH}")
        self.repo.git("merge", "-q", "--no-ff", "-m", f"Merge pull request #{number} from {BRANCH}", tip)
        self.repo.git("push", "-q", "origin", "main")
        pull = next(p for p in self.fake.pulls if p["number"] == number)
        pull.update(state="closed", merged=True, merged_at="2026-12-01T00:00:00Z")
        pull["head"]["sha"] = tip
        return self.repo.head()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _trailers(repo: ExampleRepo, rev: str) -> str:
    return git(repo.origin, "log", "-1", "--format=%(trailers:only,unfold)", rev)


def test_the_loop_turns_twice_and_rolls_back(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repo = example_repo
    configure(repo)  # the retraining defaults: append to the model's data, rolling branch per model
    loop = Loop(repo, fake_github, tmp_path)
    loop.deploy()
    assert remote_tags(repo.origin)["classifier#prod#1"] == repo.head()

    # --- turn 1: drift → retraining PR #1 → trained on its branch → a quiet re-run → merged → v2
    opened = loop.monitor_finds_drift(40, seed=1)
    assert "pull request #1 opened" in opened.stdout
    retrain_commit = origin_sha(repo)
    assert remote_object(repo, pointer_at(repo, BRANCH)["md5"]).is_file()  # data pushed with the branch
    results = loop.train_branch()
    assert results != retrain_commit and git(repo.origin, "rev-parse", f"{results}~1") == retrain_commit
    assert "Mlci-Results:" in _trailers(repo, results)
    patches_before = len(fake_github.calls("PATCH", r"/pulls/\d+$"))

    again = loop.monitor_finds_drift(40, seed=1)  # the next schedule, same data, PR already trained

    assert "unchanged" in again.stdout
    assert origin_sha(repo) == results  # the trained branch is left as it is
    assert len(fake_github.calls("PATCH", r"/pulls/\d+$")) == patches_before  # the PR body is not rewritten
    assert len(fake_github.pulls) == 1
    loop.report(1)
    v2_commit = loop.merge(1)
    loop.deploy()
    tags = remote_tags(repo.origin)
    assert tags["classifier@v0.0.2"] == v2_commit and tags["classifier#prod#2"] == v2_commit
    v2_bytes = (repo.root / STORE / "current" / "model.pkl").read_bytes()

    # --- turn 2: new drift after the merge → a NEW PR on a branch rebuilt on main → trained → merged → v3
    second = loop.monitor_finds_drift(30, seed=2)

    assert "pull request #2 opened" in second.stdout, second.stdout
    rebuilt = origin_sha(repo)
    assert git(repo.origin, "rev-parse", f"{rebuilt}~1") == v2_commit and commits_ahead(repo) == 1
    assert [p["state"] for p in fake_github.pulls] == ["closed", "open"]
    assert remote_object(repo, pointer_at(repo, BRANCH)["md5"]).is_file()
    loop.train_branch()
    loop.report(2)
    v3_commit = loop.merge(2)
    loop.deploy()
    tags = remote_tags(repo.origin)
    assert tags["classifier@v0.0.3"] == v3_commit and tags["classifier#prod#3"] == v3_commit
    assert (repo.root / STORE / "current" / "model.pkl").read_bytes() != v2_bytes
    assert [d["payload"]["version"] for d in reversed(fake_github.deployments)] == [
        "v0.0.1",
        "v0.0.2",
        "v0.0.3",
    ]

    # --- rollback on a fresh runner (no DVC cache): v2 again, byte for byte, read from the DVC remote
    runner = clone(repo.origin, tmp_path / "rollback-runner")
    dispatch = {"inputs": {"model": "classifier"}}
    loop.run("workflow_dispatch", dispatch, "rollback", "classifier", "--to", "v0.0.2", cwd=runner)

    assert (runner / STORE / "current" / "model.pkl").read_bytes() == v2_bytes
    assert _sha256(runner / STORE / "current" / "model.pkl") == _sha256(
        runner / STORE / "v0.0.2" / "model.pkl"
    )
    assert remote_tags(repo.origin)["classifier#prod#4"] == v2_commit
    rolled = fake_github.deployments[0]
    assert (rolled["sha"], rolled["payload"]["version"]) == (v2_commit, "v0.0.2")
