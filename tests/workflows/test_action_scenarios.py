"""The composite action, run for real: a user's workflow file — docs/action.md's "A workflow for every
event", as written there — uses `mlci-dev/mlci@<this checkout's commit>` with `command: auto`, on a
GitHub Actions runner (act, host mode), against the fake GitHub and a git server on loopback.

The action installs mlci from its own folder (the served checkout, tests/testing/runner.py), so the
code under test is this checkout. Each scenario checks the state a user would look at afterwards:
comments, check runs and deployments in the fake GitHub, refs and tags in the origin, objects in the
DVC remote."""

from __future__ import annotations

import re

import pytest
import yaml

from mlci.repo.git import git
from tests.testing.runner import RunResult, requires_runner
from tests.testing.scenario import (
    Scenario,
    comments,
    deploy_and_decay,
    documented_workflow,
    open_pull_request,
)

pytestmark = [requires_runner, pytest.mark.slow]
WORKFLOW = "mlci.yml"


@pytest.fixture
def action(served_repo: Scenario) -> Scenario:
    """The user's repository with the documented workflow committed on main."""
    repo = served_repo.repo
    repo.write(f".github/workflows/{WORKFLOW}", documented_workflow(served_repo.ref))
    repo.commit("Add the mlci workflow")
    repo.git("push", "-q", "origin", "main")
    served_repo.fake.refs["refs/heads/main"] = repo.head()
    return served_repo


def _ran(result: RunResult, job: str, command: str) -> None:
    """The run succeeded, and `command: auto` chose `command` in `job` (the step is named after it);
    the other jobs of the file did not run."""
    assert result.returncode == 0, result.explain()
    assert re.search(rf"^\[mlci/{job}\s*\].*Success - Main mlci {command}\b", result.log, re.M), result.log[
        -4000:
    ]
    ran = set(re.findall(r"^\[mlci/(\w+)\s*\]", result.log, re.M))
    assert ran == {job}, ran


def test_action_pull_request_reports_with_one_sticky_comment_and_a_check_run(action: Scenario) -> None:
    s = action
    event = open_pull_request(s, "more-trees", 60)

    first = s.run("pull_request", WORKFLOW, event)

    _ran(first, "report", "report")
    (body,) = comments(s, 1)
    head = event["pull_request"]["head"]["sha"]
    assert body.startswith("<!-- mlci:report:") and f"`{head[:7]}`" in body
    (check,) = s.fake.check_runs.values()
    assert check["name"] == "mlci report" and check["head_sha"] == head
    assert check["conclusion"] == "success"
    again = s.run("pull_request", WORKFLOW, event)
    _ran(again, "report", "report")
    assert len(comments(s, 1)) == 1  # the sticky comment, edited
    assert any(r.method == "PATCH" and "/issues/comments/" in r.path for r in s.fake.requests)


def test_action_push_to_a_branch_trains_and_pushes_the_results_to_the_dvc_remote(action: Scenario) -> None:
    """A push whose author changed a param without running the pipeline: the stages run in the job and
    the new model reaches the DVC remote (the same bytes `dvc repro` makes here); `command: auto` does
    not commit the results back (docs/action.md)."""
    s = action
    s.repo.git("checkout", "-q", "-b", "more-trees")
    s.repo.set_param("train.n_estimators", 70)
    pushed = s.repo.commit("Use 70 trees")  # no dvc repro: CI trains
    s.repo.git("push", "-q", "origin", "more-trees")
    objects_before = {p for p in s.repo.remote.rglob("*") if p.is_file()}
    main = git(s.repo.root, "rev-parse", "main")

    result = s.run("push", WORKFLOW, {"ref": "refs/heads/more-trees", "before": main, "after": pushed})

    _ran(result, "push", "train")
    assert git(s.repo.origin, "rev-parse", "refs/heads/more-trees") == pushed  # nothing committed back
    s.repo.dvc("repro", "-q")  # DVC is the oracle: the model these params make
    lock = yaml.safe_load((s.repo.root / "dvc.lock").read_text())
    model_md5 = next(o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.pkl")
    new_objects = {p for p in s.repo.remote.rglob("*") if p.is_file()} - objects_before
    assert any(p.parent.name + p.name == model_md5 for p in new_objects)


def test_action_push_to_main_deploys_with_one_deployment(action: Scenario) -> None:
    """A merge to the default branch: the registry tag lands in origin, and ONE GitHub Deployment for
    that commit ends in success."""
    s = action
    before, after = git(s.repo.root, "rev-parse", "HEAD~1"), s.repo.head()

    result = s.run("push", WORKFLOW, {"ref": "refs/heads/main", "before": before, "after": after})

    _ran(result, "push", "deploy")
    assert "classifier@v0.0.1" in git(s.repo.origin, "tag", "--list").split()
    assert git(s.repo.origin, "rev-parse", "classifier@v0.0.1^{commit}") == after
    (deployment,) = s.fake.deployments
    assert deployment["sha"] == after
    states = [st["state"] for st in s.fake.deployment_statuses[deployment["id"]]]
    assert states[0] == "success" and "in_progress" in states, states


def test_action_schedule_and_dispatch_monitor_the_production_model(action: Scenario) -> None:
    """schedule (and a manual run) → mlci monitor on mlci.yaml's monitor.current: fresh labelled data
    the production model now gets wrong; the job reports the decay and writes nothing to GitHub."""

    s = action
    rows = deploy_and_decay(s)  # v0.0.1 in prod; fresh labelled data it now gets wrong
    config = (s.repo.root / "mlci.yaml").read_text()
    (s.repo.root / "mlci.yaml").write_text(config + "monitor:\n  current: data/fresh/\n")
    s.repo.commit("Fresh labelled data")
    s.repo.git("push", "-q", "origin", "main")
    writes_before = len(s.fake.writes())

    scheduled = s.run("schedule", WORKFLOW, {"schedule": "17 6 * * 1"})

    _ran(scheduled, "monitor", "monitor")
    log = scheduled.job_log("mlci/monitor")
    assert "## mlci monitor: `classifier`" in log and "test.accuracy" in log
    assert f"| Current | `data/fresh`: {rows} rows |" in log  # as `--current data/fresh` shows it
    assert len(s.fake.writes()) == writes_before  # monitor reports; retraining is `command: retrain`
    dispatched = s.run("workflow_dispatch", WORKFLOW, {"inputs": {}, "ref": "refs/heads/main"})
    _ran(dispatched, "monitor", "monitor")


def test_action_fails_with_the_fix_when_monitor_has_no_current_data(action: Scenario) -> None:
    """Without monitor.current, a scheduled `command: auto` is not a quiet green: exit 2, saying what
    to set."""
    result = action.run("schedule", WORKFLOW, {"schedule": "17 6 * * 1"})

    assert result.returncode != 0
    assert "monitor.current is not set in mlci.yaml" in result.job_log("mlci/monitor")
