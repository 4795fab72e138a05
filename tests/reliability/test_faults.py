"""Every fault of the fake GitHub server at every API call of report, deploy and retrain.

Each scenario runs the real CLI in a copy of a prepared example project. The run either reaches the end
state of a fault-free run, or says which call failed (exit 2, or for `report` a warning with exit 0:
a GitHub outage must not fail a good model); then a second run without faults must reach that end state,
with no duplicate comment, pull request, tag or live deployment.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo, run_cli
from tests.testing.reliability import (
    BOT,
    PR,
    RETRAIN_BRANCH,
    TIMEOUT,
    Step,
    copy_project,
    deploy_state,
    edit_config,
    inject,
    names_the_call,
    pr_payload,
    prepare,
    push_payload,
    record,
    report_state,
    retrain_state,
    scenarios,
    step_env,
    token_leaks,
)
from tests.testing.retrain import drifted_rows, monitor_report, write_fresh

REPORT_STEPS = [
    Step("list comments", "GET", r"/issues/\d+/comments$"),
    Step("create comment", "POST", r"/issues/\d+/comments$"),
    Step("update comment", "PATCH", r"/issues/comments/\d+$", seed="stale comment"),
    Step("create check run", "POST", r"/check-runs$"),
]
DEPLOY_STEPS = [
    Step("list deployments", "GET", r"/deployments$"),
    Step("create deployment", "POST", r"/deployments$"),
    Step("status in_progress", "POST", r"/deployments/\d+/statuses$", nth=1),
    Step("status success", "POST", r"/deployments/\d+/statuses$", nth=2),
    Step("get release", "GET", r"/releases/tags/"),
    Step("create release", "POST", r"/releases$"),
    Step("upload asset", "POST", r"/releases/\d+/assets$"),
]
RETRAIN_STEPS = [
    Step("get repository", "GET", r"^/repos/[^/]+/[^/]+$"),
    Step("list pulls", "GET", r"/pulls$"),
    Step("create pull", "POST", r"/pulls$"),
    Step("update pull", "PATCH", r"/pulls/\d+$", seed="open pull"),
    Step("add labels", "POST", r"/issues/\d+/labels$"),
    Step("request reviewers", "POST", r"/pulls/\d+/requested_reviewers$"),
]
FAST_GITHUB = {"github": {"timeout": TIMEOUT}}


# --- the three commands, each in a project prepared once per module ------------------------------------


@pytest.fixture(scope="module")
def templates(_example_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("reliability-templates")

    def report_setup(repo: ExampleRepo) -> None:
        edit_config(repo, gates=[{"metric": "test.accuracy", "min": 0.0}], **FAST_GITHUB)

    def deploy_setup(repo: ExampleRepo) -> None:
        edit_config(repo, deploy={"release": True}, **FAST_GITHUB)

    def retrain_setup(repo: ExampleRepo) -> None:
        edit_config(repo, retrain={"reviewers": ["data-lead"]}, **FAST_GITHUB)

    return {
        "report": prepare(_example_template, base / "report", report_setup),
        "deploy": prepare(_example_template, base / "deploy", deploy_setup),
        "retrain": prepare(_example_template, base / "retrain", retrain_setup),
    }


@pytest.fixture(scope="module")
def fresh_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fresh")
    return monitor_report(folder, [write_fresh(folder, drifted_rows(30))])


Runner = Callable[..., subprocess.CompletedProcess[str]]  # (repo, fake, tmp, **extra env)


def run_report(
    repo: ExampleRepo, fake: FakeGitHub, tmp: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    sha = repo.head()
    env = step_env(tmp, fake, "pull_request", pr_payload(fake.repository, sha, sha), **extra)
    return run_cli("report", cwd=repo.root, env=env)


def run_deploy(
    repo: ExampleRepo, fake: FakeGitHub, tmp: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    payload = push_payload(repo, fake)
    env = step_env(tmp, fake, "push", payload, GITHUB_SHA=repo.head(), GITHUB_REF="refs/heads/main", **extra)
    return run_cli("deploy", cwd=repo.root, env=env)


def seed(fake: FakeGitHub, what: str) -> None:
    if what == "stale comment":
        fake.add_comment(PR, "<!-- mlci:report:default -->\nan older report", login=BOT)
    elif what == "open pull":
        created = requests.post(
            f"{fake.url}/repos/{fake.repository}/pulls",
            json={"title": "Retrain: older data", "head": RETRAIN_BRANCH, "base": "main", "body": "older"},
            headers={"Authorization": f"Bearer {fake.token}"},
            timeout=10,
        )
        created.raise_for_status()


class Command:
    def __init__(self, name: str, run: Runner, state: Callable[[FakeGitHub, ExampleRepo], dict[str, Any]]):
        self.name, self.run, self.state = name, run, state
        self._baselines: dict[str, dict[str, Any]] = {}

    def baseline(self, template: Path, tmp: Path, seeded: str) -> dict[str, Any]:
        """The end state of one run without faults (from the same seed), computed once per module."""
        if seeded not in self._baselines:
            fake = FakeGitHub().start()
            try:
                repo = copy_project(template, tmp / "baseline")
                seed(fake, seeded)
                proc = self.run(repo, fake, tmp / "baseline-step")
                assert proc.returncode == 0, proc.stdout + proc.stderr
                self._baselines[seeded] = self.state(fake, repo)
            finally:
                fake.stop()
        return self._baselines[seeded]


def report_end(fake: FakeGitHub, repo: ExampleRepo) -> dict[str, Any]:
    return report_state(fake)


COMMANDS = {
    "report": Command("report", run_report, report_end),
    "deploy": Command("deploy", run_deploy, deploy_state),
}


def make_retrain(report: Path) -> Runner:
    def run(repo: ExampleRepo, fake: FakeGitHub, tmp: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        payload = {"schedule": "17 5 * * *", "repository": {"full_name": fake.repository}}
        env = step_env(tmp, fake, "schedule", payload, **extra)
        return run_cli("retrain", "--from-report", str(report), cwd=repo.root, env=env)

    return run


@pytest.fixture(scope="module")
def commands(fresh_data: Path) -> dict[str, Command]:
    return {**COMMANDS, "retrain": Command("retrain", make_retrain(fresh_data), retrain_state)}


def params(command: str, steps: list[Step]) -> list[Any]:
    return [
        pytest.param(command, step, fault, id=f"{command}-{step.name.replace(' ', '_')}-{fault}")
        for step, fault in scenarios(steps)
    ]


ALL = params("report", REPORT_STEPS) + params("deploy", DEPLOY_STEPS) + params("retrain", RETRAIN_STEPS)


def assert_no_token(fake: FakeGitHub, *procs: subprocess.CompletedProcess[str]) -> None:
    for proc in procs:
        assert not token_leaks(fake.token, proc.stdout + "\n" + proc.stderr)


@pytest.mark.parametrize(("command", "step", "fault"), ALL)
def test_a_fault_at_any_call_ends_in_the_fault_free_state(
    command: str,
    step: Step,
    fault: str,
    templates: dict[str, Path],
    commands: dict[str, Command],
    fake_github: FakeGitHub,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    cmd = commands[command]
    expected = cmd.baseline(templates[command], tmp_path_factory.mktemp(f"baseline-{command}"), step.seed)
    repo = copy_project(templates[command], tmp_path / "project")
    seed(fake_github, step.seed)
    inject(fake_github, step, fault)

    # a timed-out write that lands before the 1 s backoff ends must be found, not repeated: real waits
    first = cmd.run(
        repo, fake_github, tmp_path / "step", **({"real_waits": "1"} if fault == "timeout" else {})
    )

    assert first.returncode in (0, 2), first.stdout + first.stderr
    assert fake_github.calls(step.method, step.path), "the scenario never reached its step"
    state = cmd.state(fake_github, repo)
    if first.returncode == 0 and state == expected:
        record(command, step.name, fault, "same end state")
        assert_no_token(fake_github, first)
        return
    if first.returncode == 2:
        assert names_the_call(first.stderr, step), first.stderr
        outcome = "exit 2 naming the call; re-run repairs"
    else:  # exit 0 but not done: only a warning naming the failed call is acceptable
        assert "::warning" in first.stdout and names_the_call(first.stdout, step), first.stdout
        outcome = "warning naming the call; re-run repairs"

    fake_github.faults.clear()
    again = cmd.run(repo, fake_github, tmp_path / "step-again")

    assert again.returncode == 0, again.stdout + again.stderr
    assert cmd.state(fake_github, repo) == expected
    assert_no_token(fake_github, first, again)
    record(command, step.name, fault, outcome)


@pytest.mark.parametrize("command", ["report", "deploy", "retrain"])
def test_a_read_only_token_then_a_writable_one_ends_in_the_fault_free_state(
    command: str,
    templates: dict[str, Path],
    commands: dict[str, Command],
    fake_github: FakeGitHub,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    cmd = commands[command]
    expected = cmd.baseline(templates[command], tmp_path_factory.mktemp(f"baseline-{command}"), "")
    repo = copy_project(templates[command], tmp_path / "project")
    fake_github.read_only = True

    first = cmd.run(repo, fake_github, tmp_path / "step")

    assert first.returncode in (0, 2), first.stdout + first.stderr
    said = first.stdout + first.stderr
    assert "permissions" in said or "write" in said, said
    assert not [c for c in fake_github.writes() if c.status < 400], "a read-only token wrote something"
    fake_github.read_only = False
    again = cmd.run(repo, fake_github, tmp_path / "step-again")
    assert again.returncode == 0, again.stdout + again.stderr
    assert cmd.state(fake_github, repo) == expected
    assert_no_token(fake_github, first, again)
    record(
        command,
        "every write",
        "read-only token",
        f"exit {first.returncode} naming the permission; re-run repairs",
    )
