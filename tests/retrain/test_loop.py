"""`mlci retrain` on the real example project (git origin + local DVC remote) and the fake GitHub."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import yaml

from mlci.onboarding import example
from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo, actions_env, read_outputs, run_cli
from tests.testing.retrain import (
    BRANCH,
    commits_ahead,
    configure,
    data_on_branch,
    drifted_rows,
    monitor_report,
    online_env,
    origin_sha,
    pointer_at,
    remote_object,
    retrain,
    write_fresh,
)


def test_drift_opens_one_pull_request_with_the_data_pushed_first(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    configure(example_repo, reviewers=["data-lead"], assignees=["ml-oncall"], dispatch_workflow="mlci.yml")
    fresh = drifted_rows(60)
    report = monitor_report(tmp_path, [write_fresh(tmp_path, fresh)])

    payload = {"schedule": "17 5 * * *", "repository": {"full_name": fake_github.repository}}
    step = actions_env(tmp_path / "step", "schedule", payload, **online_env(fake_github))

    proc = retrain(example_repo, "--from-report", str(report), env=step)

    assert proc.returncode == 0, proc.stderr
    assert "pull request #1 opened" in proc.stdout
    main_md5 = pointer_at(example_repo, "main")["md5"]
    branch_pointer = pointer_at(example_repo, BRANCH)
    assert branch_pointer["md5"] != main_md5
    assert remote_object(example_repo, branch_pointer["md5"]).is_file()
    on_branch = data_on_branch(example_repo)
    original = example.raw_frame()
    assert len(on_branch) == len(original) + len(fresh)
    pd.testing.assert_frame_equal(on_branch.tail(len(fresh)).reset_index(drop=True), fresh, check_dtype=False)
    assert commits_ahead(example_repo) == 1

    [pull] = fake_github.pulls
    assert (pull["state"], pull["head"]["ref"], pull["base"]["ref"]) == ("open", BRANCH, "main")
    assert (
        "| `mean_radius` | psi | 0.41 | 0.2 | PSI 0.41 ≥ 0.2 |" in pull["body"]
        and "60 new rows" in pull["title"]
    )
    assert [label["name"] for label in pull["labels"]] == ["mlci", "retrain"]
    assert [user["login"] for user in pull["requested_reviewers"]] == ["data-lead"]
    assert [d["ref"] for d in fake_github.dispatches] == [BRANCH]
    run_url = f"https://github.com/{fake_github.repository}/actions/runs/4242"
    assert f"[this monitoring run]({run_url})" in pull["body"]
    outputs = read_outputs(tmp_path / "step" / "output")
    assert outputs["retrain-action"] == "opened" and outputs["pr-url"] == pull["html_url"]
    assert outputs["commit"] == origin_sha(example_repo) and outputs["branch"] == BRANCH
    assert pull["html_url"] in (tmp_path / "step" / "summary").read_text()


def test_five_reruns_make_one_commit_and_one_pull_request(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    configure(example_repo, dispatch_workflow="mlci.yml")
    report = monitor_report(tmp_path, [write_fresh(tmp_path, drifted_rows(40))])
    shas = []
    for _ in range(5):
        proc = retrain(example_repo, "--from-report", str(report), env=online_env(fake_github))
        assert proc.returncode == 0, proc.stderr
        shas.append(origin_sha(example_repo))

    assert len(set(shas)) == 1 and commits_ahead(example_repo) == 1
    assert len(fake_github.pulls) == 1 and len(fake_github.calls("POST", r"/pulls$")) == 1
    assert len(fake_github.dispatches) == 1  # checks started once, not on every re-run


def test_new_data_updates_the_open_pull_request(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    first = write_fresh(tmp_path / "a", drifted_rows(30, seed=1))
    second = write_fresh(tmp_path / "b", drifted_rows(30, seed=2))
    assert (
        retrain(example_repo, "classifier", "--data", str(first), env=online_env(fake_github)).returncode == 0
    )
    first_sha = origin_sha(example_repo)

    proc = retrain(example_repo, "classifier", "--data", str(second), env=online_env(fake_github))

    assert proc.returncode == 0, proc.stderr
    assert "updated" in proc.stdout
    assert origin_sha(example_repo) != first_sha and commits_ahead(example_repo) == 1  # rebuilt on main
    assert len(fake_github.pulls) == 1
    assert len(data_on_branch(example_repo)) == len(example.raw_frame()) + 30


def test_a_closed_pull_request_is_not_reopened_for_the_same_data(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    report = monitor_report(tmp_path, [write_fresh(tmp_path, drifted_rows(40))])
    assert retrain(example_repo, "--from-report", str(report), env=online_env(fake_github)).returncode == 0
    fake_github.pulls[0]["state"] = "closed"  # a person turned it down

    again = retrain(example_repo, "--from-report", str(report), env=online_env(fake_github))

    assert again.returncode == 0, again.stderr
    assert "was closed" in again.stdout
    assert len(fake_github.pulls) == 1 and fake_github.pulls[0]["state"] == "closed"

    newer = write_fresh(tmp_path / "later", drifted_rows(40, seed=7))
    later = retrain(example_repo, "--data", str(newer), env=online_env(fake_github))
    assert later.returncode == 0, later.stderr
    assert [p["state"] for p in fake_github.pulls] == ["closed", "open"]


def test_data_already_on_main_opens_nothing(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    seen = write_fresh(tmp_path, example.raw_frame().head(50))

    proc = retrain(example_repo, "--data", str(seen), env=online_env(fake_github))

    assert proc.returncode == 0, proc.stderr
    assert "main already has this data" in proc.stdout
    assert origin_sha(example_repo) == "" and fake_github.pulls == []


def test_fresh_data_with_other_columns_is_refused_before_anything_changes(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    wrong = drifted_rows(20).drop(columns=["mean_area"]).assign(patient_id=1)
    objects_before = sorted(example_repo.remote.rglob("*"))

    proc = retrain(example_repo, "--data", str(write_fresh(tmp_path, wrong)), env=online_env(fake_github))

    assert proc.returncode == 2
    assert "missing mean_area" in proc.stderr and "patient_id" in proc.stderr
    assert origin_sha(example_repo) == "" and fake_github.writes() == []
    assert sorted(example_repo.remote.rglob("*")) == objects_before
    assert example_repo.git("status", "--porcelain") == ""
    assert "mlci-retrain" not in example_repo.git("worktree", "list")


def test_an_explicit_dataset_that_a_stage_writes_is_refused(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    configure(example_repo, dataset="data/prepared/train.csv")

    proc = retrain(example_repo, "--data", str(write_fresh(tmp_path, drifted_rows(5))))

    assert proc.returncode == 2
    assert "output of stage 'prepare'" in proc.stderr and "hint:" in proc.stderr


def test_replace_mode_swaps_the_training_set(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    configure(example_repo, mode="replace")
    fresh = drifted_rows(200)

    proc = retrain(
        example_repo,
        "--data",
        str(write_fresh(tmp_path, fresh, "fresh.parquet")),
        env=online_env(fake_github),
    )

    assert proc.returncode == 0, proc.stderr
    pd.testing.assert_frame_equal(data_on_branch(example_repo), fresh, check_dtype=False)


def test_offline_writes_the_branch_to_origin_and_the_pull_request_to_the_outbox(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    report = monitor_report(tmp_path, [write_fresh(tmp_path, drifted_rows(25))])
    example_repo.set_param("train.max_depth", 6)  # someone's work in progress, not committed
    example_repo.write("notes.txt", "untracked")
    (example_repo.root / "data" / "raw.csv").write_text("half-edited")
    status = example_repo.git("status", "--porcelain")

    runner = {"GIT_CONFIG_GLOBAL": os.devnull}  # like a runner: no git identity anywhere
    for _ in range(2):
        proc = retrain(example_repo, "--from-report", str(report), env=runner)
        assert proc.returncode == 0, proc.stderr

    assert example_repo.git("status", "--porcelain") == status  # the checkout is left as it was
    assert (example_repo.root / "data" / "raw.csv").read_text() == "half-edited"
    assert example_repo.git("rev-parse", "--abbrev-ref", "HEAD") == "main"

    outbox = example_repo.root / ".mlci" / "outbox"
    body = (outbox / "pull-request-mlci-retrain-classifier.md").read_text()
    assert body.startswith("# Retrain classifier on fresh data: 25 new rows")
    assert "<!-- mlci:retrain:classifier:" in body
    assert origin_sha(example_repo) == example_repo.git("rev-parse", f"refs/heads/{BRANCH}")
    assert commits_ahead(example_repo) == 1
    assert example_repo.git("log", "-1", "--format=%an", BRANCH) == "github-actions[bot]"
    assert remote_object(example_repo, pointer_at(example_repo, BRANCH)["md5"]).is_file()

    assert len(json.loads((outbox / "state.json").read_text())["pulls"]) == 1


def test_a_branch_someone_else_committed_to_is_not_overwritten(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    assert (
        retrain(
            example_repo, "--data", str(write_fresh(tmp_path, drifted_rows(10))), env=online_env(fake_github)
        ).returncode
        == 0
    )
    example_repo.git("checkout", "-q", BRANCH)
    example_repo.set_param("train.n_estimators", 50)
    theirs = example_repo.commit("Tune the forest for the new data")
    example_repo.git("push", "-q", "origin", BRANCH)
    example_repo.git("checkout", "-q", "main")

    newer = write_fresh(tmp_path / "later", drifted_rows(10, seed=3))
    proc = retrain(example_repo, "--data", str(newer), env=online_env(fake_github))

    assert proc.returncode == 2
    assert f"has commit {theirs[:12]} by mlci tests <tests@example.com> that mlci did not make" in proc.stderr
    assert origin_sha(example_repo) == theirs

    # once its pull request is closed, the branch is finished: new data starts it afresh on main
    (pull,) = fake_github.pulls
    pull.update(state="closed")
    pull["head"]["sha"] = theirs
    proc = retrain(example_repo, "--data", str(newer), env=online_env(fake_github))

    assert proc.returncode == 0, proc.stderr
    assert "pull request #2 opened" in proc.stdout
    assert commits_ahead(example_repo) == 1 and origin_sha(example_repo) != theirs


def test_without_origin_the_branch_is_made_locally(example_repo: ExampleRepo, tmp_path: Path) -> None:
    example_repo.git("remote", "remove", "origin")
    fresh = drifted_rows(12)

    proc = retrain(example_repo, "--data", str(write_fresh(tmp_path, fresh)))

    assert proc.returncode == 0, proc.stderr
    local = yaml.safe_load(example_repo.git("show", f"{BRANCH}:data/raw.csv.dvc"))["outs"][0]["md5"]
    main = yaml.safe_load(example_repo.git("show", "main:data/raw.csv.dvc"))["outs"][0]["md5"]
    assert local != main and remote_object(example_repo, local).is_file()
    assert (example_repo.root / ".mlci" / "outbox" / "pull-request-mlci-retrain-classifier.md").is_file()
    assert example_repo.git("rev-parse", "--abbrev-ref", "HEAD") == "main"  # the checkout is untouched


def test_monitor_open_pr_hands_its_report_to_retraining(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fresh = drifted_rows(150, scale=1.4)
    current = write_fresh(tmp_path, fresh)

    proc = run_cli(
        "monitor", "--current", str(current), "--open-pr", cwd=example_repo.root, env=online_env(fake_github)
    )

    assert proc.returncode == 0, proc.stderr
    [pull] = fake_github.pulls
    assert pull["head"]["ref"] == BRANCH and "`mean_radius`" in pull["body"]
    assert len(data_on_branch(example_repo)) == len(example.raw_frame()) + len(fresh)
