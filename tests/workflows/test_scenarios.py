"""The workflows, run for real: what `mlci init` writes calls the reusable workflows of this checkout,
on a GitHub Actions runner (act, host mode), against the fake GitHub and a git server on loopback.

Each scenario checks the state a user would look at afterwards: comments, check runs and deployments in
the fake GitHub, refs and tags in the origin, objects in the DVC remote."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from mlci.repo.git import git
from tests.testing.runner import checkout_sha, event_file, requires_runner, run_workflow
from tests.testing.scenario import Scenario, comments, deploy_and_decay, open_pull_request

pytestmark = [requires_runner, pytest.mark.slow]


def test_pull_request_report_posts_one_sticky_comment_and_a_rerun_edits_it(scenario: Scenario) -> None:
    event = open_pull_request(scenario, "more-trees", 60)

    first = scenario.run("pull_request", "mlci-report.yml", event)

    assert first.returncode == 0, first.explain()
    (body,) = comments(scenario, 1)
    assert body.startswith("<!-- mlci:report:") and "more-trees" not in body.split("\n", 1)[0]
    assert [c["name"] for c in scenario.fake.check_runs.values()] == ["mlci report"]
    again = scenario.run("pull_request", "mlci-report.yml", event)
    assert again.returncode == 0, again.explain()
    assert len(comments(scenario, 1)) == 1


def test_dogfood_runs_the_action_on_the_fixture_project_for_a_pull_request(tmp_path: Path) -> None:
    """dogfood.yml (`uses: ./` on a fixture project) for one of mlci's own pull requests, whose head
    commit the fixture project cannot have: train restores everything, the report compares the
    fixture's own commits."""
    from tests.testing.fixtures import ROOT

    checkout = tmp_path / "mlci"
    git(tmp_path, "clone", "-q", str(ROOT), str(checkout))
    git(checkout, "remote", "add", "github", "https://github.com/mlci-dev/mlci.git")
    pr = {
        "number": 7,
        "head": {"sha": "1" * 40, "ref": "feature", "repo": {"full_name": "mlci-dev/mlci", "fork": False}},
        "base": {"sha": "2" * 40, "ref": "main", "repo": {"full_name": "mlci-dev/mlci"}},
    }
    payload = {
        "action": "synchronize",
        "number": 7,
        "pull_request": pr,
        "repository": {"full_name": "mlci-dev/mlci"},
    }

    result = run_workflow(
        checkout,
        "pull_request",
        checkout / ".github" / "workflows" / "dogfood.yml",
        event_file(tmp_path / "event", payload),
        api_url="http://127.0.0.1:9",  # dogfood posts nothing: any call would fail the job
        server_url="http://127.0.0.1:9",
        token="ghs_unused",
        artifacts=tmp_path / "artifacts",
        mlci_ref=checkout_sha(),
    )

    assert result.returncode == 0, result.explain()
    assert "mlci train" in result.log and "Check the action's outputs" in result.log


def test_push_trains_the_changed_model_pushes_results_to_the_dvc_remote_and_commits_them(
    scenario: Scenario,
) -> None:
    """A push to a branch whose author changed a param but did not run the pipeline: the train workflow
    (affected → data → train) runs the stages, pushes the outputs, and commits the results back."""
    s = scenario
    s.repo.git("checkout", "-q", "-b", "more-trees")
    s.repo.set_param("train.n_estimators", 70)
    pushed = s.repo.commit("Use 70 trees")  # no dvc repro: CI trains
    s.repo.git("push", "-q", "origin", "more-trees")
    objects_before = {p for p in s.repo.remote.rglob("*") if p.is_file()}
    main = git(s.repo.root, "rev-parse", "main")

    result = s.run(
        "push", "mlci-train.yml", {"ref": "refs/heads/more-trees", "before": main, "after": pushed}
    )

    assert result.returncode == 0, result.explain()
    tip = git(s.repo.origin, "rev-parse", "refs/heads/more-trees")
    assert git(s.repo.origin, "rev-parse", f"{tip}~1") == pushed  # one results commit on top
    assert "Mlci-Results:" in git(s.repo.origin, "log", "-1", "--format=%(trailers:only)", tip)
    changed = git(s.repo.origin, "diff", "--name-only", pushed, tip).splitlines()
    assert "dvc.lock" in changed and "params.yaml" not in changed
    lock = yaml.safe_load(git(s.repo.origin, "show", f"{tip}:dvc.lock"))
    model_md5 = next(o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.pkl")
    new_objects = {p for p in s.repo.remote.rglob("*") if p.is_file()} - objects_before
    assert any(p.parent.name + p.name == model_md5 for p in new_objects)  # the new model is in the remote


def test_a_fork_pull_request_is_reported_through_the_artifact_and_posted_by_report_post(
    scenario: Scenario,
) -> None:
    """A fork's run has a read-only token: the report job comments nothing and uploads the report;
    `workflow_run` then runs report-post, which downloads it through the artifacts API and posts it on
    the pull request that run built — without checking out or running the fork's code."""
    s = scenario
    event = open_pull_request(s, "fork-feature", 55)
    event["pull_request"]["head"]["repo"] = {"full_name": "forker/models", "fork": True}
    s.fake.pulls[-1]["head"]["repo"] = {"full_name": "forker/models"}  # as GitHub shows a fork's PR
    s.fake.pulls[-1]["head"]["label"] = "forker:fork-feature"
    head = event["pull_request"]["head"]["sha"]
    s.fake.read_only = True  # the fork's token: every write refused, as GitHub does

    reported = s.run("pull_request", "mlci-report.yml", event)

    assert reported.returncode == 0, reported.explain()
    assert comments(s, 1) == []
    (run_folder,) = [p for p in (s.tmp / "artifacts").iterdir() if (p / "mlci-report").is_dir()]
    assert list((run_folder / "mlci-report").glob("*.comment.json"))
    s.fake.read_only = False  # the base repository's workflow_run token may write
    run = {
        "id": int(run_folder.name),
        "event": "pull_request",
        "head_sha": head,
        "head_branch": "fork-feature",
        "head_repository": {"full_name": "forker/models"},
        "conclusion": "success",
    }

    posted = s.run("workflow_run", "mlci-report-post.yml", {"action": "completed", "workflow_run": run})

    assert posted.returncode == 0, posted.explain()
    (body,) = comments(s, 1)
    assert body.startswith("<!-- mlci:report:") and "mlci report" in body
    assert any(r.path.endswith(f"/actions/runs/{run_folder.name}/artifacts") for r in s.fake.requests)


def _rollback_caller() -> str:
    """The caller documented at the top of rollback.yml, as a user copies it."""
    from tests.testing.fixtures import ROOT

    header = (ROOT / ".github" / "workflows" / "rollback.yml").read_text().split("\nname:", 1)[0]
    lines = [ln[1:] for ln in header.splitlines() if ln.startswith("#")]
    start = next(i for i, ln in enumerate(lines) if ln.strip() == "on:")
    return textwrap.dedent("\n".join(lines[start:])) + "\n"


def test_a_push_to_main_deploys_with_one_deployment_and_a_dispatch_rolls_back(scenario: Scenario) -> None:
    """Two merges deploy v0.0.1 then v0.0.2 (registry tags in origin, one GitHub Deployment each,
    in_progress → success); a manual rollback run puts v0.0.1 back in prod."""
    s = scenario
    caller = _rollback_caller().replace("git+https://github.com/OWNER/mlci@<sha>", str(s.wheel))
    caller = caller.replace("OWNER/mlci", "mlci-dev/mlci").replace("<sha>", s.ref)
    s.repo.write(".github/workflows/mlci-rollback.yml", "name: mlci rollback\n" + caller)
    s.repo.commit("Add the rollback workflow")
    s.repo.git("push", "-q", "origin", "main")
    versions = []
    for trees in (None, 65):
        if trees:
            s.repo.set_param("train.n_estimators", trees)
            s.repo.retrain(f"Use {trees} trees")  # pushes main
        before, after = git(s.repo.root, "rev-parse", "HEAD~1"), s.repo.head()
        s.fake.refs["refs/heads/main"] = after
        deployed = s.run(
            "push", "mlci-deploy.yml", {"ref": "refs/heads/main", "before": before, "after": after}
        )
        assert deployed.returncode == 0, deployed.explain()
        versions.append(after)

    tags = git(s.repo.origin, "tag", "--list").split()
    assert {"classifier@v0.0.1", "classifier@v0.0.2"} <= set(tags)
    assert [d["sha"] for d in s.fake.deployments] == versions[::-1]  # one Deployment per delivery
    for deployment in s.fake.deployments:
        states = [st["state"] for st in s.fake.deployment_statuses[deployment["id"]]]
        assert states[0] == "success" and "in_progress" in states, states

    rolled = s.run(
        "workflow_dispatch",
        "mlci-rollback.yml",
        {"inputs": {"model": "classifier", "to": ""}, "ref": "refs/heads/main"},
    )

    assert rolled.returncode == 0, rolled.explain()
    # GTO's stage assignments: the third one puts prod back on the first version's commit
    assert git(s.repo.origin, "rev-parse", "classifier#prod#3^{commit}") == versions[0]
    assert len(s.fake.deployments) == 3 and s.fake.deployments[0]["sha"] == versions[0]


def test_a_scheduled_monitor_finds_decay_and_opens_a_retraining_pull_request(scenario: Scenario) -> None:
    """schedule → mlci-monitor.yml: fresh labelled data on main where the model got worse; the monitor
    job reports, the retrain job pushes mlci/retrain/classifier, opens its pull request and dispatches
    the train workflow on it (GITHUB_TOKEN pushes start no workflow)."""

    s = scenario
    nothing = s.run("schedule", "mlci-monitor.yml", {"schedule": "17 6 * * *"})
    assert nothing.returncode == 0, nothing.explain()
    assert "no model is in stage 'prod' yet: nothing to monitor" in nothing.log  # not a silent green
    deploy_and_decay(s)  # v0.0.1 in prod; fresh labelled data it now gets wrong
    config = (s.repo.root / "mlci.yaml").read_text()
    (s.repo.root / "mlci.yaml").write_text(
        config + "retrain:\n  dispatch_workflow: mlci-train.yml # as init writes\n"
    )
    s.repo.commit("Fresh labelled data")
    s.repo.git("push", "-q", "origin", "main")
    s.fake.refs["refs/heads/main"] = s.repo.head()

    result = s.run("schedule", "mlci-monitor.yml", {"schedule": "17 6 * * *"})

    assert result.returncode == 0, result.explain()
    branch = "mlci/retrain/classifier"
    assert git(s.repo.origin, "rev-parse", f"refs/heads/{branch}")  # pushed to origin
    (pull,) = [p for p in s.fake.pulls if p["head"]["ref"] == branch]
    assert pull["base"]["ref"] == "main" and "test.accuracy" in pull["body"]
    assert [(d["workflow"], d["ref"]) for d in s.fake.dispatches] == [("mlci-train.yml", branch)]


def _queue_group(s: Scenario, number: int, base: str, change: str) -> dict[str, object]:
    """A merge queue's group: its temporary branch (base + the PR's change) pushed, checked out as the
    runner checks out GITHUB_SHA, and the `merge_group` payload GitHub sends for it."""
    branch = f"gh-readonly-queue/main/pr-{number}-{base}"
    s.repo.git("checkout", "-q", "-b", branch, base)
    if change == "fewer trees":
        s.repo.set_param("train.n_estimators", 2)
        s.repo.set_param("train.max_depth", 1)
        head = s.repo.retrain(f"PR {number}: {change}")  # trained and pushed, as train would have
    else:
        s.repo.write("NOTES.md", f"PR {number}: {change}\n")
        head = s.repo.commit(f"PR {number}: {change}")
        s.repo.git("push", "-q", "origin", "HEAD")
    s.fake.refs[f"refs/heads/{branch}"] = head
    group = {
        "head_sha": head,
        "head_ref": f"refs/heads/{branch}",
        "base_sha": base,
        "base_ref": "refs/heads/main",
    }
    return {"action": "checks_requested", "merge_group": group}


def test_two_queued_groups_are_each_checked_against_their_own_base(scenario: Scenario) -> None:
    s = scenario
    main = s.repo.head()
    first = _queue_group(s, 1, main, "fewer trees")  # drops the accuracy: the gate must stop it
    group1 = first["merge_group"]["head_sha"]  # type: ignore[index]
    failed = s.run("merge_group", "mlci-report.yml", first)
    second = _queue_group(s, 2, group1, "notes")  # built on group 1: its base is group 1's commit
    passed = s.run("merge_group", "mlci-report.yml", second)

    assert failed.returncode != 0, failed.explain()
    assert passed.returncode == 0, passed.explain()  # PR 1's drop is not charged to PR 2
    runs = {run["head_sha"]: run["conclusion"] for run in s.fake.check_runs.values()}
    assert runs == {group1: "failure", second["merge_group"]["head_sha"]: "success"}  # type: ignore[index]
    assert not s.fake.comments  # a group has no pull request to comment on


def test_the_report_workflow_ranks_the_experiments_pushed_for_the_pull_request(scenario: Scenario) -> None:
    s = scenario
    event = open_pull_request(s, "tuned", 60)
    head = s.repo.head()
    s.repo.dvc("exp", "run", "-q", "-S", "train.n_estimators=90", "-n", "more-trees")
    s.repo.dvc("exp", "run", "-q", "-S", "train.n_estimators=5", "-n", "few-trees")
    s.repo.dvc("exp", "push", "-q", "origin")  # the experiments on head, and their DVC-cached outputs
    s.repo.git("update-ref", "refs/exps/exec/EXEC_HEAD", head)  # DVC's bookkeeping: never fetched
    git(s.repo.origin, "update-ref", "refs/exps/exec/EXEC_HEAD", head)

    reported = s.run("pull_request", "mlci-report.yml", event)

    assert reported.returncode == 0, reported.explain()
    (body,) = comments(s, event["number"])
    section = body.split("#### Experiments", 1)[1]
    assert "`more-trees`" in section and "`few-trees`" in section
    assert "Head (`" + head[:7] + "`) ranks" in section
    assert "dvc exp apply" in section
