"""GitHub (or a proxy in front of it) answering garbage: a 200 that is not JSON, an HTML page (200 or
502), a list where an object belongs, an object where a list belongs. No command may end in exit 3
("bug in mlci"): report warns once and keeps its gate verdict; the others exit 2 naming the call."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import read_outputs, run_cli
from tests.testing.reliability import (
    PR,
    copy_project,
    edit_config,
    pr_payload,
    prepare,
    push_payload,
    step_env,
)
from tests.testing.retrain import drifted_rows, monitor_report, write_fresh

HTML = (
    b"<!DOCTYPE html><html><head><title>Unicorn! &middot; GitHub</title></head><body>::error::x</body></html>"
)
ANSWERS: dict[str, dict[str, Any]] = {
    "200 not JSON": {"status": 200, "raw": b"ok", "content_type": "text/plain"},
    "200 HTML page": {"status": 200, "raw": HTML},
    "502 HTML page": {"status": 502, "raw": HTML},
    "list for an object": {"status": 200, "raw": b"[]"},
    "object for a list": {"status": 200, "raw": b"{}"},
}


@pytest.fixture(scope="module")
def templates(_example_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("hostile-api")
    fast = {"github": {"timeout": 5}}
    return {
        "report": prepare(
            _example_template,
            base / "report",
            lambda r: edit_config(r, gates=[{"metric": "test.accuracy", "min": 0.0}], **fast),
        ),
        "deploy": prepare(_example_template, base / "deploy", lambda r: edit_config(r, **fast)),
    }


def no_crash(proc: subprocess.CompletedProcess[str]) -> None:
    said = proc.stdout + proc.stderr
    assert proc.returncode != 3 and "Traceback" not in said and "bug in mlci" not in said, said


@pytest.mark.parametrize("answer", list(ANSWERS))
def test_report_keeps_its_verdict_when_every_github_answer_is_garbage(
    answer: str, templates: dict[str, Path], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repo = copy_project(templates["report"], tmp_path / "project")
    fake_github.answer("*", "", times=None, **ANSWERS[answer])
    sha = repo.head()
    step = tmp_path / "step"
    env = step_env(step, fake_github, "pull_request", pr_payload(fake_github.repository, sha, sha))

    proc = run_cli("report", cwd=repo.root, env=env)

    no_crash(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    warnings = [line for line in proc.stdout.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1, proc.stdout
    assert "/api/v3/repos/" in warnings[0] or "/api/v3/user" in warnings[0], warnings[0]
    assert "comment could not be posted" in warnings[0]
    assert read_outputs(step / "output")["gates-passed"] == "true"
    assert "mlci report" in (step / "summary").read_text()
    outbox = list((repo.root / ".mlci" / "outbox").rglob("*comment*"))
    assert outbox, "the report is not in the outbox"


def test_report_gates_still_decide_the_exit_code(
    templates: dict[str, Path], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repo = copy_project(templates["report"], tmp_path / "project")
    edit_config(repo, gates=[{"metric": "test.accuracy", "min": 1.5}])
    fake_github.answer("*", "", times=None, **ANSWERS["200 HTML page"])
    sha = repo.head()
    step = tmp_path / "step"
    env = step_env(step, fake_github, "pull_request", pr_payload(fake_github.repository, sha, sha))

    proc = run_cli("report", cwd=repo.root, env=env)

    no_crash(proc)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert read_outputs(step / "output")["gates-passed"] == "false"


@pytest.mark.parametrize("answer", ["200 HTML page", "list for an object", "object for a list"])
def test_deploy_exits_2_naming_the_call(
    answer: str, templates: dict[str, Path], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repo = copy_project(templates["deploy"], tmp_path / "project")
    fake_github.answer("*", "", times=None, **ANSWERS[answer])
    env = step_env(
        tmp_path / "step",
        fake_github,
        "push",
        push_payload(repo, fake_github),
        GITHUB_SHA=repo.head(),
        GITHUB_REF="refs/heads/main",
    )

    proc = run_cli("deploy", cwd=repo.root, env=env)

    no_crash(proc)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "/api/v3/repos/" in proc.stderr and "GitHub answered" in proc.stderr, proc.stderr


def test_retrain_exits_2_naming_the_call(
    templates: dict[str, Path], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repo = copy_project(templates["deploy"], tmp_path / "project")
    report = monitor_report(tmp_path, [write_fresh(tmp_path, drifted_rows(30))])
    fake_github.answer("*", "", times=None, **ANSWERS["list for an object"])
    payload = {"schedule": "17 5 * * *", "repository": {"full_name": fake_github.repository}}
    env = step_env(tmp_path / "step", fake_github, "schedule", payload)

    proc = run_cli("retrain", "--from-report", str(report), cwd=repo.root, env=env)

    no_crash(proc)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "GitHub answered a list where an object belongs" in proc.stderr, proc.stderr


def test_monitor_open_pr_exits_2_naming_the_call(
    templates: dict[str, Path], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repo = copy_project(templates["deploy"], tmp_path / "project")
    current = write_fresh(tmp_path, drifted_rows(150, scale=1.4))
    fake_github.answer("*", "", times=None, **ANSWERS["502 HTML page"])
    env = step_env(tmp_path / "step", fake_github, "schedule", {"repository": {"full_name": "o/r"}})

    proc = run_cli("monitor", "--current", str(current), "--open-pr", cwd=repo.root, env=env)

    no_crash(proc)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "an HTML page" in proc.stderr and "::error::x" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("answer", ["200 not JSON", "list for an object", "object for a list"])
def test_fork_post_exits_2_naming_the_call(answer: str, fake_github: FakeGitHub, tmp_path: Path) -> None:
    bundle = tmp_path / "default.comment.json"
    body = "<!-- mlci:report:default -->\nreport"
    bundle.write_text(
        json.dumps(
            {"schema_version": 1, "pr_number": PR, "report_id": "default", "head_sha": "c" * 40, "body": body}
        )
    )
    head = {"sha": "c" * 40, "ref": "feature", "label": "fork:feature", "repo": {"full_name": "fork/models"}}
    fake_github.pulls.append({"number": PR, "state": "open", "head": head, "base": {"ref": "main"}})
    # `[]` is a fine answer to listing pull requests: every call after that one gets the bad answer
    fake_github.answer("*", "", times=None, skip=int(answer == "list for an object"), **ANSWERS[answer])
    run = {"head_sha": "c" * 40, "head_branch": "feature", "head_repository": {"full_name": "fork/models"}}
    run_event = {"workflow_run": run, "repository": {"full_name": fake_github.repository}}
    env = step_env(tmp_path / "step", fake_github, "workflow_run", run_event)

    proc = run_cli("report", "--post", str(bundle), cwd=tmp_path, env=env)

    no_crash(proc)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "GitHub answered" in proc.stderr, proc.stderr
