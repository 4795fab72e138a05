"""`mlci report` end to end: real git + DVC repos, the CLI in a subprocess, the fake GitHub server."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.testing.fake_github import TOKEN, FakeGitHub
from tests.testing.fixtures import ExampleRepo, actions_env, load_event, read_outputs, run_cli
from tests.testing.report import dvc_json

PR = 7


def pr_payload(repo: str, base: str, head: str, *, fork: bool = False, number: int = PR) -> dict[str, Any]:
    """The real `pull_request/opened` payload, pointed at our commits (and at a fork when asked)."""
    payload = copy.deepcopy(load_event("pull_request/opened"))
    payload["number"] = number
    payload["repository"]["full_name"] = repo
    pr = payload["pull_request"]
    pr["number"] = number
    pr["base"]["sha"], pr["base"]["ref"] = base, "main"
    pr["head"]["sha"], pr["head"]["ref"] = head, "feature"
    pr["head"]["repo"]["full_name"] = "someone/fork-of-models" if fork else repo
    pr["head"]["repo"]["fork"] = fork
    return payload


def feature_branch(repo: ExampleRepo, trees: int = 5) -> tuple[str, str]:
    """main → a pushed branch with fewer trees, retrained: (base sha, head sha)."""
    base = repo.head()
    repo.git("checkout", "-q", "-b", "feature")
    repo.set_param("train.n_estimators", trees)
    return base, repo.retrain("Fewer trees")


def set_gates(repo: ExampleRepo, gates: list[dict[str, Any]], **extra: Any) -> None:
    config = yaml.safe_load((repo.root / "mlci.yaml").read_text())
    config["gates"] = gates
    config.update(extra)
    repo.write("mlci.yaml", yaml.safe_dump(config, sort_keys=False))


def github_env(
    tmp: Path, fake: FakeGitHub, payload: dict[str, Any], event: str = "pull_request"
) -> dict[str, str]:
    return actions_env(tmp, event, payload, GITHUB_API_URL=fake.url, GITHUB_TOKEN=TOKEN)


def head_value(repo: ExampleRepo, rev: str, key: str) -> float:
    value: float = json.loads(repo.git("show", f"{rev}:metrics.json"))["test"][key.split(".")[-1]]
    return value


# --- local runs -------------------------------------------------------------------------------------


def test_local_json_report_equals_dvc_and_exit_code_follows_the_gates(example_repo: ExampleRepo) -> None:
    base, head = feature_branch(example_repo)
    proc = run_cli("report", "--format", "json", cwd=example_repo.root)
    document = json.loads(proc.stdout)
    oracle = dvc_json(example_repo.root, "metrics", "diff", base, head, "--all")["metrics.json"]
    assert document["schema_version"] == 1
    assert document["base"]["sha"] == base and document["head"]["rev"] == "workspace"
    for row in document["metrics"]:
        assert (row["base"], row["head"]) == (oracle[row["key"]]["old"], oracle[row["key"]]["new"])
    params = dvc_json(example_repo.root, "params", "diff", base, head)["params.yaml"]
    assert {p["key"]: (p["base"], p["head"]) for p in document["params"]} == {
        k: (v["old"], v["new"]) for k, v in params.items()
    }
    # the example's gates: accuracy ≥ 0.85 and drop ≤ 0.02; log loss rise ≤ 10 %
    acc, loss = oracle["test.accuracy"], oracle["test.log_loss"]
    expected = acc["new"] >= 0.85 and acc["old"] - acc["new"] <= 0.02
    expected = expected and (loss["new"] - loss["old"]) / loss["old"] * 100 <= 10
    assert document["summary"]["gates_passed"] is expected
    assert proc.returncode == (0 if expected else 1), proc.stderr


def test_local_markdown_has_verdict_tables_and_plots(example_repo: ExampleRepo, tmp_path: Path) -> None:
    feature_branch(example_repo)
    set_gates(example_repo, [{"metric": "test.accuracy", "min": 0.0}])
    out = tmp_path / "report.md"
    proc = run_cli("report", "--output", str(out), "--no-comment", cwd=example_repo.root)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.startswith("### ✅ mlci report: all 1 gate passed")
    assert "| Metric" in text and "test.log\\_loss" in text
    assert "| Param" in text and "train.n\\_estimators" in text
    assert "`models/model.pkl`" in text  # the retrained model is a changed DVC output
    assert "<details><summary>Plots (2," in text and "xychart-beta" in text and "actual ╲ predicted" in text


def test_misspelled_gate_fails_and_names_the_metric(example_repo: ExampleRepo) -> None:
    set_gates(example_repo, [{"metric": "test.acuracy", "min": 0.5}])
    proc = run_cli("report", "--no-comment", cwd=example_repo.root)
    assert proc.returncode == 1
    assert "no metric matches 'test.acuracy'; did you mean 'test.accuracy'?" in proc.stdout


def test_unknown_revision_is_exit_2_with_a_hint(example_repo: ExampleRepo, tmp_path: Path) -> None:
    proc = run_cli("report", "--base", "no-such-branch", cwd=example_repo.root)
    assert proc.returncode == 2
    assert "no such branch or commit: 'no-such-branch'" in proc.stderr and "git branch -a" in proc.stderr
    assert "fetch-depth" not in proc.stderr  # the CI hint only in CI
    example_repo.git("branch", "feature/better-trees")
    proc = run_cli("report", "--base", "feature/beter-trees", cwd=example_repo.root)
    assert proc.returncode == 2 and "did you mean 'feature/better-trees'?" in proc.stderr
    env = actions_env(tmp_path, "push", load_event("push/branch"))
    proc = run_cli("report", "--base", "feature/beter-trees", "--no-comment", cwd=example_repo.root, env=env)
    assert proc.returncode == 2 and "did you mean" in proc.stderr and "fetch-depth: 0" in proc.stderr


def test_repository_without_commits_says_so(tmp_path: Path) -> None:
    from mlci.repo.git import git

    git(tmp_path, "init", "-q")
    (tmp_path / ".dvc").mkdir()
    proc = run_cli("report", cwd=tmp_path)
    assert proc.returncode == 2 and "has no commits yet" in proc.stderr


def test_user_template_overrides_the_shipped_one(example_repo: ExampleRepo) -> None:
    example_repo.write(".mlci/templates/report.md.j2", "custom {{ report.rows | length }} rows\n")
    proc = run_cli("report", "--no-comment", cwd=example_repo.root)
    assert proc.stdout == "custom 6 rows\n"


# --- in GitHub Actions, against the fake GitHub -----------------------------------------------------


def test_failed_gate_exit_1_annotation_check_run_and_outputs(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    base, head = feature_branch(example_repo)
    # a bound the head cannot meet, computed from the head's own value
    set_gates(
        example_repo,
        [{"metric": "test.accuracy", "min": head_value(example_repo, head, "test.accuracy") + 0.01}],
    )
    env = github_env(tmp_path / "gh", fake_github, pr_payload(fake_github.repository, base, head))
    proc = run_cli("report", cwd=example_repo.root, env=env)
    assert proc.returncode == 1, proc.stderr
    assert "::error file=metrics.json,title=mlci gate failed::metrics.json:test.accuracy" in proc.stdout
    (run,) = fake_github.check_runs.values()
    assert run["conclusion"] == "failure" and run["head_sha"] == head
    assert fake_github.annotations[run["id"]][0]["path"] == "metrics.json"
    outputs = read_outputs(tmp_path / "gh" / "output")
    assert outputs["gates-passed"] == "false"
    assert (example_repo.root / outputs["report-file"]).read_text().startswith("### ❌")
    assert "1 of 1 gate failed" in (tmp_path / "gh" / "summary").read_text()
    (comment,) = fake_github.comments[PR]
    assert comment["body"].startswith("<!-- mlci:report:default -->\n### ❌")


def test_five_reruns_leave_exactly_one_comment(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    base, head = feature_branch(example_repo)
    set_gates(example_repo, [{"metric": "test.*", "min": 0.0}])
    env = github_env(tmp_path / "gh", fake_github, pr_payload(fake_github.repository, base, head))
    for _ in range(5):
        proc = run_cli("report", cwd=example_repo.root, env=env)
        assert proc.returncode == 0, proc.stderr
    assert len(fake_github.comments[PR]) == 1
    # the body did not change between runs, so only the first run wrote a comment
    assert len(fake_github.calls("POST", f"/issues/{PR}/comments")) == 1
    assert not fake_github.calls("PATCH", "/issues/comments/")
    assert [r["conclusion"] for r in fake_github.check_runs.values()] == ["success"] * 5


def test_fork_pr_gets_summary_and_one_warning_and_no_error(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    base, head = feature_branch(example_repo)
    set_gates(example_repo, [{"metric": "test.accuracy", "min": 0.0}])
    fake_github.read_only = True
    env = github_env(tmp_path / "gh", fake_github, pr_payload(fake_github.repository, base, head, fork=True))
    proc = run_cli("report", cwd=example_repo.root, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("::warning") == 1 and "from a fork" in proc.stdout
    assert "::error" not in proc.stdout
    assert "### ✅ mlci report" in (tmp_path / "gh" / "summary").read_text()
    assert not fake_github.writes()
    bundle = json.loads((example_repo.root / ".mlci/reports/default.comment.json").read_text())
    assert bundle["pr_number"] == PR and bundle["head_sha"] == head
    assert list((example_repo.root / ".mlci/outbox").rglob("*comment*"))


def test_read_only_token_warns_and_exit_code_reflects_only_gates(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    base, head = feature_branch(example_repo)
    set_gates(example_repo, [{"metric": "test.accuracy", "min": 0.0}])
    fake_github.read_only = True
    env = github_env(tmp_path / "gh", fake_github, pr_payload(fake_github.repository, base, head))
    proc = run_cli("report", cwd=example_repo.root, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "may not write pull-request comments" in proc.stdout
    assert "may not write checks" in proc.stdout
    assert not fake_github.comments.get(PR)


FORK = "someone/fork-of-models"


def pull(
    number: int, head: str, *, repo: str = FORK, ref: str = "feature", state: str = "open"
) -> dict[str, Any]:
    """A pull request as the fake GitHub stores it (GitHub's shape, the fields mlci reads)."""
    owner = repo.split("/")[0]
    return {
        "number": number,
        "state": state,
        "merged": state == "closed",
        "head": {"sha": head, "ref": ref, "label": f"{owner}:{ref}", "repo": {"full_name": repo}},
        "base": {"ref": "main", "label": "octo-org:main"},
    }


def workflow_run(head: str, *, repo: str = FORK, branch: str = "feature") -> dict[str, Any]:
    """The `workflow_run` event of report-post: the run that built `repo:branch` at `head`."""
    return {
        "workflow_run": {
            "head_sha": head,
            "head_branch": branch,
            "head_repository": {"full_name": repo},
            "event": "pull_request",
        },
        "repository": {"full_name": "x"},
    }


def real_bundle(example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path) -> tuple[Path, str]:
    """A fork PR's report bundle for PR #7 (the artifact report-post downloads) and its head commit."""
    base, head = feature_branch(example_repo)
    set_gates(example_repo, [])
    env = github_env(tmp_path / "pr", fake_github, pr_payload(fake_github.repository, base, head, fork=True))
    assert run_cli("report", cwd=example_repo.root, env=env).returncode == 0
    bundle = tmp_path / "artifact" / "default.comment.json"
    bundle.parent.mkdir()
    bundle.write_bytes((example_repo.root / ".mlci/reports/default.comment.json").read_bytes())
    return bundle, head


@pytest.fixture
def fork_bundle(tmp_path: Path) -> tuple[Path, str]:
    """A bundle as a fork's run uploads it, naming PR #7 (no project needed to post one)."""
    head = "c" * 40
    bundle = tmp_path / "artifact" / "default.comment.json"
    bundle.parent.mkdir()
    body = "<!-- mlci:report:default -->\n### mlci report\n"
    data = {"schema_version": 1, "pr_number": PR, "report_id": "default", "head_sha": head, "body": body}
    bundle.write_text(json.dumps(data))
    return bundle, head


def post(
    fake: FakeGitHub, tmp: Path, bundle: Path, event: dict[str, Any], name: str = "post"
) -> subprocess.CompletedProcess[str]:
    env = github_env(tmp / name, fake, event, event="workflow_run")
    env["GITHUB_REPOSITORY"] = fake.repository
    elsewhere = tmp / "runner-temp"  # the post job has no checkout at all
    elsewhere.mkdir(exist_ok=True)
    return run_cli("report", "--post", str(bundle), cwd=elsewhere, env=env)


def test_fork_safe_post_side_posts_once_and_validates(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    bundle, head = real_bundle(example_repo, fake_github, tmp_path)
    fake_github.pulls.append(pull(PR, head))
    for _ in range(2):
        proc = post(fake_github, tmp_path, bundle, workflow_run(head))
        assert proc.returncode == 0, proc.stderr
    (comment,) = fake_github.comments[PR]
    assert comment["body"].startswith("<!-- mlci:report:default -->\n### ℹ️ mlci report")

    forged = json.loads(bundle.read_text())
    fake_github.pulls.append(pull(8, "e" * 40, ref="other"))
    for field, value, message in (
        ("pr_number", "7", "pr_number must be a positive whole number"),
        ("body", "x" * 70_000, "more than a comment's"),
        ("report_id", "a b", "not a short slug"),
        ("head_sha", "f" * 40, "the triggering run built"),
        ("pr_number", 8, "refusing to post on another PR"),
    ):
        bad = tmp_path / f"bad-{field}.json"
        bad.write_text(json.dumps({**forged, field: value}))
        proc = post(fake_github, tmp_path, bad, workflow_run(head))
        assert proc.returncode == 2 and message in proc.stderr, (field, proc.stderr)
    assert len(fake_github.comments[PR]) == 1


def test_a_fork_pushing_the_victims_commit_cannot_post_on_the_victims_pull_request(
    fork_bundle: tuple[Path, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """Any PR's head commit is public: the attacker pushes the victim's commit to its own fork, opens
    PR #9, and its run uploads a bundle naming the victim's PR #7. The run that triggers report-post is
    the attacker's (its repository and branch), so nothing lands on #7 — and #9 gets only its own."""
    bundle, head = fork_bundle
    fake_github.pulls.append(pull(PR, head))  # the victim: someone/fork-of-models:feature
    fake_github.pulls.append(pull(9, head, repo="mallory/models", ref="feature"))  # same commit
    attacker = workflow_run(head, repo="mallory/models")

    proc = post(fake_github, tmp_path, bundle, attacker)

    assert proc.returncode == 2, proc.stderr
    assert "the report names PR #7, but the triggering run built the head of #9" in proc.stderr
    assert "mallory/models:feature" in proc.stderr and "nothing was posted" in proc.stderr
    assert not fake_github.comments.get(PR) and not fake_github.comments.get(9)
    assert not fake_github.writes()
    # the attacker's run only ever reaches its own PR, the victim's run still posts on the victim's
    proc = post(fake_github, tmp_path, bundle, workflow_run(head), name="victim")
    assert proc.returncode == 0, proc.stderr
    assert len(fake_github.comments[PR]) == 1 and not fake_github.comments.get(9)


@pytest.mark.parametrize("state", ["closed", "merged"])
def test_no_post_on_a_closed_or_merged_pull_request(
    state: str, fork_bundle: tuple[Path, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    bundle, head = fork_bundle
    fake_github.pulls.append(pull(PR, head, state="closed"))
    fake_github.pulls[-1]["merged"] = state == "merged"

    proc = post(fake_github, tmp_path, bundle, workflow_run(head))

    assert proc.returncode == 2, proc.stderr
    assert "no open pull request has the head the triggering run built" in proc.stderr, proc.stderr
    assert not fake_github.writes()


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ("event", "head_sha"),
        ("event", "head_branch"),
        ("event", "head_repository"),
        ("event", "workflow_run"),
        ("pull", "sha"),
        ("pull", "ref"),
        ("pull", "repo"),
    ],
)
def test_a_missing_head_field_fails_closed(
    where: str, field: str, fork_bundle: tuple[Path, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    bundle, head = fork_bundle
    fake_github.pulls.append(pull(PR, head))
    event = workflow_run(head)
    if where == "event" and field == "workflow_run":
        del event["workflow_run"]
        message = "the event has no workflow_run"
    elif where == "event":
        del event["workflow_run"][field]
        message = f"the workflow_run event has no workflow_run.{field}"
    else:
        del fake_github.pulls[-1]["head"][field]
        message = f"GitHub's pull request #7 has no head.{field}"

    proc = post(fake_github, tmp_path, bundle, event)

    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not fake_github.writes()


def test_shallow_clone_fetches_the_base_commit(example_repo: ExampleRepo, tmp_path: Path) -> None:
    base, head = feature_branch(example_repo)
    example_repo.git("push", "-q", "origin", "feature")
    clone = tmp_path / "ci-checkout"
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--depth",
            "1",
            "--branch",
            "feature",
            f"file://{example_repo.origin}",
            str(clone),
        ],
        check=True,
    )
    assert subprocess.run(["git", "cat-file", "-e", base], cwd=clone, check=False).returncode != 0
    env = actions_env(tmp_path / "gh", "pull_request", pr_payload("octo/models", base, head))
    out = tmp_path / "report.json"
    proc = run_cli("report", "--format", "json", "--no-comment", "-o", str(out), cwd=clone, env=env)
    assert proc.returncode in (0, 1), proc.stderr  # 0 or 1 by the example's gates; 2 would be an error
    document = json.loads(out.read_text())
    oracle = dvc_json(example_repo.root, "metrics", "diff", base, head, "--all")["metrics.json"]
    assert {m["key"]: m["base"] for m in document["metrics"]} == {k: v["old"] for k, v in oracle.items()}

    missing = pr_payload("octo/models", "0" * 40, head)
    proc = run_cli(
        "report", "--no-comment", cwd=clone, env=actions_env(tmp_path / "gh2", "pull_request", missing)
    )
    assert proc.returncode == 2 and "fetch-depth: 0" in proc.stderr


@pytest.mark.parametrize("fmt", ["json"])
def test_several_models_one_report_with_gates_per_model(tmp_path: Path, fmt: str) -> None:
    from tests.testing.report import scored_repo

    repo, base, head = scored_repo(tmp_path)
    config = {
        "models": {
            "net": {"metrics": ["eval/scores.json", "cached.json"], "description": "the network"},
            "speed": {"metrics": ["speed.yaml"]},
        },
        "gates": [
            {"metric": "val.acc", "model": "net", "min": 0.0},
            {"metric": "latency_ms", "model": "speed", "max": 1.0},
        ],
    }
    repo.write("mlci.yaml", yaml.safe_dump(config))
    proc = run_cli("report", "--base", base, "--head", head, "--format", fmt, cwd=repo.root)
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    assert {(g["model"], g["key"], g["passed"]) for g in document["gates"]} == {
        ("net", "val.acc", True),
        ("speed", "latency_ms", False),
    }
    assert {m["model"] for m in document["metrics"]} == {"net", "speed"}
    markdown = run_cli("report", "--base", base, "--head", head, cwd=repo.root).stdout
    assert "#### Model `net`: the network" in markdown and "#### Model `speed`" in markdown


def test_data_change_shows_path_md5_and_size_growth(example_repo: ExampleRepo, tmp_path: Path) -> None:
    raw = example_repo.root / "data" / "raw.csv"
    before = raw.stat().st_size
    base = example_repo.head()
    lines = raw.read_text().splitlines(keepends=True)
    raw.write_text("".join(lines + lines[1:] * 20))  # the same rows, 21 times
    after = raw.stat().st_size
    example_repo.dvc("add", "-q", "data/raw.csv")
    head = example_repo.commit("More data")
    out = tmp_path / "r.json"
    proc = run_cli(
        "report", "--base", base, "--head", head, "--format", "json", "-o", str(out), cwd=example_repo.root
    )
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(out.read_text())["data"]
    assert row["path"] == "data/raw.csv" and row["status"] == "modified"
    assert (row["base_size"], row["head_size"], row["size_change"]) == (before, after, after - before)
    assert row["base_md5"] != row["head_md5"]
    markdown = run_cli("report", "--base", base, "--head", head, "--no-comment", cwd=example_repo.root).stdout
    data_line = next(line for line in markdown.splitlines() if "`data/raw.csv`" in line)
    assert "modified" in data_line and "(+" in data_line and "kB" in data_line


def test_configured_direction_marks_a_rise_as_worse(example_repo: ExampleRepo, tmp_path: Path) -> None:
    base, head = feature_branch(example_repo)
    set_gates(example_repo, [], metrics={"lower_is_better": ["test.roc_auc"]})
    out = tmp_path / "r.json"
    run_cli(
        "report", "--base", base, "--head", head, "--format", "json", "-o", str(out), cwd=example_repo.root
    )
    rows = {m["key"]: m for m in json.loads(out.read_text())["metrics"]}
    assert rows["test.roc_auc"]["direction"] == "lower" and rows["test.accuracy"]["direction"] == "higher"
    assert rows["test.log_loss"]["direction"] == "lower"


def test_github_rejecting_the_comment_is_a_warning_not_a_failure(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    sha = example_repo.head()
    set_gates(example_repo, [{"metric": "test.accuracy", "min": 0.0}])
    fake_github.fail("POST", r"/issues/\d+/comments$", status=422, times=None)
    env = github_env(tmp_path / "gh", fake_github, pr_payload(fake_github.repository, sha, sha))
    proc = run_cli("report", cwd=example_repo.root, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "::warning title=mlci report not posted::" in proc.stdout and "job summary" in proc.stdout
    assert read_outputs(tmp_path / "gh" / "output")["gates-passed"] == "true"


def test_a_git_repo_without_dvc_is_exit_2(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("x")
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "x"], cwd=tmp_path, check=True)
    proc = run_cli("report", cwd=tmp_path)
    assert proc.returncode == 2 and "not a DVC project" in proc.stderr and "dvc init" in proc.stderr


def test_post_of_a_missing_or_non_json_file_is_exit_2(tmp_path: Path) -> None:
    assert "no such report file" in run_cli("report", "--post", "nope.json", cwd=tmp_path).stderr
    (tmp_path / "x.json").write_text("<html>")
    proc = run_cli("report", "--post", "x.json", cwd=tmp_path)
    assert proc.returncode == 2 and "not a JSON report bundle" in proc.stderr


def test_without_a_token_reruns_keep_one_comment_in_the_outbox(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    sha = example_repo.head()
    env = actions_env(tmp_path / "gh", "pull_request", pr_payload("octo/models", sha, sha))
    for _ in range(3):
        proc = run_cli("report", cwd=example_repo.root, env=env)
        assert proc.returncode in (0, 1), proc.stderr
    state = json.loads((example_repo.root / ".mlci/outbox/state.json").read_text())
    (comment,) = [c for c in state["comments"] if c["issue"] == PR]
    assert comment["body"].startswith("<!-- mlci:report:default -->\n### ")


def test_changed_dataset_brings_the_data_checks_and_their_verdict(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    import pandas as pd

    base = example_repo.head()
    raw = example_repo.root / "data" / "raw.csv"
    frame = pd.read_csv(raw)
    frame["size_band"] = frame["size_band"].where(
        frame.index % 7 > 0, "huge"
    )  # a category the base never had
    frame.to_csv(raw, index=False)
    example_repo.dvc("add", "-q", "data/raw.csv")
    head = example_repo.commit("A new size band")
    set_gates(example_repo, [])
    out = tmp_path / "r.json"
    proc = run_cli(
        "report", "--base", base, "--head", head, "--format", "json", "-o", str(out), cwd=example_repo.root
    )
    assert proc.returncode == 0, proc.stderr  # no declared contract: reported, not gated
    document = json.loads(out.read_text())
    assert document["summary"]["data_checks_passed"] is True
    assert [d["path"] for d in document["data_checks"]["datasets"]] == ["data/raw.csv"]

    set_gates(example_repo, [], data={"gate_inferred": True})
    md = tmp_path / "r.md"
    proc = run_cli("report", "--base", base, "--head", head, "-o", str(md), cwd=example_repo.root)
    assert proc.returncode == 1
    assert "the data checks failed" in proc.stderr
    text = md.read_text()
    assert text.startswith("### ❌ mlci report: data checks failed") and "#### Data checks ❌ failed" in text


def test_post_caps_an_artifact_to_the_one_report_the_workflow_produces(
    fork_bundle: tuple[Path, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """30 bundles in one artifact (issue 31): one comment, the other 29 named in a warning, not posted."""
    bundle, head = fork_bundle
    data = json.loads(bundle.read_text())
    for index in range(29):
        report_id = f"extra{index:02d}"
        body = f"<!-- mlci:report:{report_id} -->\n### forged {index}\n"
        extra = {**data, "report_id": report_id, "body": body}
        (bundle.parent / f"{report_id}.comment.json").write_text(json.dumps(extra))
    fake_github.pulls.append(pull(PR, head))

    proc = post(fake_github, tmp_path, bundle.parent, workflow_run(head))

    assert proc.returncode == 0, proc.stderr
    assert len(fake_github.comments[PR]) == 1
    assert "29 more report bundle(s)" in proc.stdout + proc.stderr and "not posted" in proc.stderr
    assert "::warning" in proc.stdout
    assert len(fake_github.writes()) == 1, fake_github.writes()
