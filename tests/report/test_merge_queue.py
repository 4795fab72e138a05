"""Merge queues: two PRs queued one after the other. GitHub checks group 1 (main + PR 1) against main
and group 2 (group 1 + PR 2) against group 1's commit (`merge_group.base_sha`). PR 1's metric drop
fails group 1 only; PR 2, which changes no metric, passes: its drop is never charged to it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.testing.fake_github import TOKEN, FakeGitHub
from tests.testing.fixtures import ExampleRepo, actions_env, load_event, read_outputs, run_cli

pytestmark = pytest.mark.slow


def group_payload(repo: str, base: str, head: str, number: int) -> dict[str, Any]:
    payload = copy.deepcopy(load_event("merge_group/checks_requested"))
    payload["repository"]["full_name"] = repo
    group = payload["merge_group"]
    group["base_sha"], group["head_sha"] = base, head
    group["head_ref"] = f"refs/heads/gh-readonly-queue/main/pr-{number}-{base}"
    group["head_commit"]["id"] = head
    return payload


def accuracy(repo: ExampleRepo, rev: str) -> float:
    value: float = json.loads(repo.git("show", f"{rev}:metrics.json"))["test"]["accuracy"]
    return value


def test_two_queued_groups_each_answer_for_their_own_pr(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repo = example_repo
    main = repo.head()
    repo.git("checkout", "-q", "-b", "gh-readonly-queue/main/pr-1")
    repo.set_param("train.n_estimators", 1)
    repo.set_param("train.max_depth", 1)
    group1 = repo.retrain("PR 1: a stump")
    assert accuracy(repo, main) - accuracy(repo, group1) > 0.02  # the example's gate: max_drop 0.02
    repo.write("docs/notes.md", "PR 2 changes no metric\n")
    group2 = repo.commit("PR 2: notes")

    verdicts = {}
    for name, base, head in (("group 1", main, group1), ("group 2", group1, group2)):
        repo.git("checkout", "-q", head, "--", ".")  # what actions/checkout of GITHUB_SHA gives
        payload = group_payload(fake_github.repository, base, head, 1 if head == group1 else 2)
        env = actions_env(
            tmp_path / name, "merge_group", payload, GITHUB_API_URL=fake_github.url, GITHUB_TOKEN=TOKEN
        )
        env["GITHUB_SHA"], env["GITHUB_REF"] = head, payload["merge_group"]["head_ref"]
        proc = run_cli("report", cwd=repo.root, env=env)
        verdicts[name] = proc.returncode
        assert read_outputs(tmp_path / name / "output")["gates-passed"] == str(proc.returncode == 0).lower()
    assert verdicts == {"group 1": 1, "group 2": 0}
    runs = {run["head_sha"]: run["conclusion"] for run in fake_github.check_runs.values()}
    assert runs == {group1: "failure", group2: "success"}
    assert not fake_github.comments  # a merge group has no pull request to comment on
