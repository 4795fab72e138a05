"""The PR's DVC experiments in the report: real `dvc exp run -S …` experiments pushed with `dvc exp push` to a
bare origin served over git's smart HTTP protocol, read from a fresh shallow clone as CI has; DVC's
`dvc exp show --json` is the oracle for every number."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlci.repo.dvc import dvc
from mlci.repo.git import git
from tests.testing.experiments import (
    PullRequest,
    exp_show_metrics,
    plumb_experiments,
    pull_request,
    shallow_clone,
)
from tests.testing.fixtures import _isolate, actions_env, load_event, run_cli
from tests.testing.git_http import GitHttpServer
from tests.testing.report import dvc_json

CONFIG = {"gates": [{"metric": "loss", "max": 1.0}, {"metric": "acc", "min": 0.1}]}


@pytest.fixture(scope="module")
def _pr_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PullRequest]:
    """Built once per module (about 20 s): the PR with its experiments, pushed."""
    base = tmp_path_factory.mktemp("exp-pr")
    saved = dict(os.environ)
    os.environ.update(_isolate(base / "home"))
    try:
        yield pull_request(base, config=CONFIG)
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def pr(_pr_template: PullRequest, tmp_path: Path) -> PullRequest:
    """A copy of the origin and the DVC remote for this test alone (tests change them)."""
    origin = tmp_path / "origin.git"
    shutil.copytree(_pr_template.origin, origin, symlinks=True)
    return PullRequest(_pr_template.repo, origin, _pr_template.base, _pr_template.first, _pr_template.head)


@pytest.fixture
def served(pr: PullRequest, tmp_path: Path) -> Iterator[str]:
    server = GitHttpServer(tmp_path / "served").start()
    server.add("octo-org/models", pr.origin)
    try:
        yield f"{server.url}/octo-org/models.git"
    finally:
        server.stop()


def _report(
    clone: Path, pr: PullRequest, tmp: Path, *extra: str, **variables: str
) -> tuple[Any, dict[str, Any], str]:
    """`mlci report` as the report workflow's step runs it: in Actions, on a pull_request event."""
    env = actions_env(tmp / "gh", "pull_request", load_event("pull_request/opened"), **variables)
    output = tmp / "report.json"
    result = run_cli(
        "report", "--base", pr.base, "--head", pr.head, "--format", "json", "--no-comment",
        "--output", str(output), *extra, cwd=clone, env=env,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    summary = (tmp / "gh" / "summary").read_text()
    return result, json.loads(output.read_text()), summary


def _exp_refs(root: Path) -> list[str]:
    return git(root, "for-each-ref", "--format=%(refname)", "refs/exps").splitlines()


def _by_name(document: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {e["name"]: e for e in document["experiments"]["entries"]}


def _same_json(a: Any, b: Any) -> bool:
    """Equal as JSON text: 10 and 10.0 differ (an integer metric must stay an integer)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_shallow_clone_ranks_the_prs_experiments_as_dvc_shows_them(
    pr: PullRequest, served: str, tmp_path: Path
) -> None:
    clone = shallow_clone(served, tmp_path / "clone", "feature")
    result, document, summary = _report(clone, pr, tmp_path)
    assert result.returncode == 0, result.stderr
    board = document["experiments"]
    entries = _by_name(document)
    # the PR's two commits only: main's experiments are not the PR's
    assert set(entries) - {None} >= {"early-a", "early-b", "head-best", "head-b"}
    assert not {"main-a", "main-b"} & set(entries)
    assert len(entries) == 6  # head's row, 2 on the first commit, 3 on head (one named by DVC)
    assert {e["baseline"] for e in entries.values()} == {pr.first, pr.head}
    assert not entries["early-a"]["on_head"] and entries["head-b"]["on_head"]
    # fetched exactly those: one refspec per PR commit, nothing of main's
    prefixes = {f"refs/exps/{c[:2]}/{c[2:]}/" for c in (pr.first, pr.head)}
    assert _exp_refs(clone) and all(ref.startswith(tuple(prefixes)) for ref in _exp_refs(clone))
    # DVC is the oracle: every experiment's metrics as `dvc exp show` reads them, integers kept
    oracle = exp_show_metrics(dvc_json(clone, "exp", "show", "-A"))
    for entry in board["entries"]:
        assert _same_json(entry["metrics"], oracle[entry["rev"]]), entry["name"]
    # ranked by the first gated metric, `loss`: lower is better
    assert board["ranked_by"] == {"file": "metrics.json", "key": "loss", "direction": "lower"}
    losses = [oracle[e["rev"]]["metrics.json"]["loss"] for e in board["entries"]]
    assert losses == sorted(losses)
    assert [e["rank"] for e in board["entries"]] == list(range(1, 7))
    assert board["entries"][0]["name"] == "head-best"
    head_loss = oracle[pr.head]["metrics.json"]["loss"]
    assert board["head_rank"] == 1 + sum(loss < head_loss for loss in losses)
    assert entries["head-best"]["params_changed"] == {"params.yaml": {"train.lr": 0.35}}
    assert entries["early-b"]["params_changed"] == {"params.yaml": {"train.lr": 0.01, "train.depth": 5}}
    # best vs base: the report's metric table, base's values against the best experiment's
    best = {(r["file"], r["key"]): r for r in document["experiments"]["best_vs_base"]}
    assert _same_json(
        best[("metrics.json", "trees")]["head"], oracle[entries["head-best"]["rev"]]["metrics.json"]["trees"]
    )
    assert _same_json(best[("metrics.json", "acc")]["base"], oracle[pr.base]["metrics.json"]["acc"])
    # the page: the section, earlier-commit rows marked, promote commands for the best
    assert "#### Experiments" in summary
    assert f"earlier commit `{pr.first[:7]}`" in summary
    assert "dvc exp apply head-best" in summary and "dvc exp branch head-best exp-head-best" in summary


def test_dvc_cached_metrics_with_the_remote_unreachable_are_counted_with_the_reason(
    pr: PullRequest, served: str, tmp_path: Path
) -> None:
    clone = shallow_clone(served, tmp_path / "clone", "feature")
    # config.local: DVC reads it at every revision (the committed .dvc/config names the real remote)
    dvc(clone, "remote", "modify", "--local", "storage", "url", str(tmp_path / "gone"))
    result, document, summary = _report(clone, pr, tmp_path)
    assert result.returncode == 1  # head's own DVC-cached metrics are unread too: its gates fail
    board = document["experiments"]
    assert board["unread"] == 5
    assert all("cached.json" in e["unread"] for e in board["entries"] if e["name"])
    line = next(ln for ln in summary.splitlines() if "could not be read (" in ln)
    assert "5 of 5 experiments" in line and "cached.json" in line
    assert "not read" in summary  # the cell says so, never an empty column
    # what was read is still ranked: loss is in a file committed to git
    assert [e["rank"] for e in board["entries"]] == list(range(1, 7))


def test_hundreds_of_experiments_internal_refs_and_other_branches_stay_out(
    pr: PullRequest, served: str, tmp_path: Path
) -> None:
    names = plumb_experiments(pr.origin, pr.head, 210)
    main_names = plumb_experiments(pr.origin, pr.base, 3, names=["on-main-1", "on-main-2", "on-main-3"])
    for ref in (
        "refs/exps/exec/EXEC_HEAD",
        "refs/exps/stash",
        f"refs/exps/celery/{pr.head}",
        "refs/exps/apply/ORIG_HEAD",
    ):
        git(pr.origin, "update-ref", ref, pr.head)
    clone = shallow_clone(served, tmp_path / "clone", "feature")
    result, document, summary = _report(clone, pr, tmp_path)
    assert result.returncode == 0, result.stderr
    entries = _by_name(document)
    assert set(names) <= set(entries) and not set(main_names) & set(entries)
    assert document["experiments"]["read"] == 215
    refs = _exp_refs(clone)
    assert not [r for r in refs if re.match(r"refs/exps/(exec|stash|celery|apply)", r)]
    assert len(refs) == 215
    oracle = exp_show_metrics(dvc_json(clone, "exp", "show", "-A"))
    for entry in document["experiments"]["entries"]:
        assert _same_json(entry["metrics"], oracle[entry["rev"]]), entry["name"]
    # the comment has the top 10 and head; the job summary all of them
    comment = json.loads((clone / ".mlci" / "reports" / "default.comment.json").read_text())["body"]
    assert _rows(comment) == 11 and "205 more experiments not shown" in comment
    assert _rows(summary) == 216


def _rows(markdown: str) -> int:
    section = markdown.split("#### Experiments", 1)[1].split("<details>", 1)[0]
    return sum(1 for ln in section.splitlines() if re.match(r"\| (\d+|—) +\|", ln))


def test_the_caps_are_said(pr: PullRequest, served: str, tmp_path: Path) -> None:
    plumb_experiments(pr.origin, pr.head, 30)
    clone = shallow_clone(served, tmp_path / "clone", "feature")
    _configure(clone, max_experiments=20, max_commits=1)
    result, document, summary = _report(clone, pr, tmp_path)
    assert result.returncode == 0, result.stderr
    board = document["experiments"]
    assert board["read"] == 20 and board["found"] == 33 and board["commits"] == {"searched": 1, "total": 2}
    assert "Only the newest 20 of 33 experiments were read" in summary
    assert "Only the newest 1 of the PR's 2 commits" in summary
    assert all(e["on_head"] for e in board["entries"])


def test_a_name_with_markdown_and_html_is_escaped_and_promoted_by_its_commit(
    pr: PullRequest, served: str, tmp_path: Path
) -> None:
    hostile = "<b>x<b>|@you&`$(id)`"
    names = plumb_experiments(pr.origin, pr.head, 3, names=["plain-1", "plain-2", hostile])
    clone = shallow_clone(served, tmp_path / "clone", "feature")
    result, document, summary = _report(clone, pr, tmp_path)
    assert result.returncode == 0, result.stderr
    best = document["experiments"]["entries"][0]
    assert best["name"] == names[2]  # the lowest loss of all: the plumbed ones are built so
    section = summary.split("#### Experiments", 1)[1]
    assert "<b>" not in section and "&lt;b&gt;x&lt;b&gt;" in section
    assert "@you" not in section  # no mention: md_escape makes it inert
    assert "\\|" in section.split("&lt;b&gt;x&lt;b&gt;", 1)[1][:3]  # the name stays in one table cell
    assert f"dvc exp apply {best['rev']}" in section and f"exp-{best['rev'][:7]}" in section
    assert "$(id)" not in section.split("```sh", 1)[1]


def test_gates_on_the_sweep(pr: PullRequest, served: str, tmp_path: Path) -> None:
    clone = shallow_clone(served, tmp_path / "clone", "feature")
    _configure(clone, min_on_head=3, head_within=0.001)
    result, document, _ = _report(clone, pr, tmp_path)
    assert result.returncode == 1
    checks = {c["name"]: c for c in document["experiments"]["checks"]}
    assert checks["min_on_head"]["passed"] and not checks["head_within"]["passed"]
    assert "gates on the PR's experiments failed" in result.stderr and "head_within" in result.stderr
    _configure(clone, min_on_head=4, head_within_pct=50)
    result, document, _ = _report(clone, pr, tmp_path / "again")
    checks = {c["name"]: c for c in document["experiments"]["checks"]}
    assert (
        result.returncode == 1 and not checks["min_on_head"]["passed"] and checks["head_within_pct"]["passed"]
    )
    _configure(clone, min_on_head=3, head_within_pct=50)
    result, document, _ = _report(clone, pr, tmp_path / "third")
    assert result.returncode == 0, result.stderr
    assert document["summary"]["verdict"] == "passed"


def test_no_fetch_outside_actions_unless_asked(pr: PullRequest, served: str, tmp_path: Path) -> None:
    clone = shallow_clone(served, tmp_path / "clone", "feature")
    git(clone, "fetch", "-q", "--depth=1", "origin", pr.base)
    out = run_cli("report", "--base", pr.base, "--head", pr.head, "--format", "json", cwd=clone)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["experiments"] is None and not _exp_refs(clone)
    _configure(clone, fetch="always")
    out = run_cli("report", "--base", pr.base, "--head", pr.head, "--format", "json", cwd=clone)
    assert len(json.loads(out.stdout)["experiments"]["entries"]) == 6


def test_a_remote_that_refuses_the_fetch_is_said_and_fails_a_sweep_gate(
    pr: PullRequest, served: str, tmp_path: Path
) -> None:
    clone = shallow_clone(served, tmp_path / "clone", "feature")
    git(clone, "fetch", "-q", "--depth=1", "origin", pr.base)
    git(clone, "remote", "set-url", "origin", "http://127.0.0.1:9/octo-org/models.git")
    _configure(clone, min_on_head=1)
    result, document, summary = _report(clone, pr, tmp_path)
    assert result.returncode == 1
    assert document["experiments"]["fetch_error"]
    assert "could not be fetched from the git remote" in summary


def _configure(clone: Path, **settings: Any) -> None:
    """The clone's mlci.yaml with these `report.experiments` settings (the report reads the checkout's)."""
    path = clone / "mlci.yaml"
    config = yaml.safe_load(path.read_text())
    config.setdefault("report", {})["experiments"] = settings
    path.write_text(yaml.safe_dump(config))


def test_the_jobs_token_goes_to_its_own_git_server_only(pr: PullRequest, tmp_path: Path) -> None:
    server = GitHttpServer(tmp_path / "served").start()
    server.add("octo-org/models", pr.origin)
    url, token = f"{server.url}/octo-org/models.git", "ghs_exp33token"
    try:
        clone = shallow_clone(url, tmp_path / "clone", "feature")
        git(clone, "fetch", "-q", "--depth=1", "origin", pr.base)
        before = len(server.authorizations)
        # no API here (the check run's POST fails at once, said as a warning): only git is looked at
        api = {"GITHUB_API_URL": "http://127.0.0.1:9", "GITHUB_TOKEN": token}
        result, document, summary = _report(clone, pr, tmp_path, GITHUB_SERVER_URL=server.url, **api)
        assert len(document["experiments"]["entries"]) == 6
        header = "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
        sent = [a for a in server.authorizations[before:] if a]
        assert sent and all(a.lower() == header.lower() for a in sent)
        printed = [
            ln for ln in (result.stdout + result.stderr).splitlines() if not ln.startswith("::add-mask::")
        ]
        assert token not in "\n".join(printed) + summary  # masked by the runner, never printed
        assert token not in (clone / ".git" / "config").read_text()
        # another server than the job's: the token is not sent
        other = shallow_clone(url, tmp_path / "other", "feature")
        git(other, "fetch", "-q", "--depth=1", "origin", pr.base)
        before = len(server.authorizations)
        _, document, _ = _report(
            other, pr, tmp_path / "again", GITHUB_SERVER_URL="https://github.example", **api
        )
        assert len(document["experiments"]["entries"]) == 6
        assert not any(server.authorizations[before:])
    finally:
        server.stop()


def test_the_ranking_metric_is_configurable_and_a_wrong_one_is_a_usage_error(
    pr: PullRequest, served: str, tmp_path: Path
) -> None:
    clone = shallow_clone(served, tmp_path / "clone", "feature")
    _configure(clone, metric="metrics.json:tree*")
    result, document, _ = _report(clone, pr, tmp_path)
    assert result.returncode == 0, result.stderr
    board = document["experiments"]
    assert board["ranked_by"] == {"file": "metrics.json", "key": "trees", "direction": "higher"}
    values = [e["value"] for e in board["entries"]]
    assert values == sorted(values, reverse=True) and all(type(v) is int for v in values)
    _configure(clone, metric="f1_score")
    env = actions_env(tmp_path / "gh2", "pull_request", load_event("pull_request/opened"))
    wrong = run_cli("report", "--base", pr.base, "--head", pr.head, "--no-comment", cwd=clone, env=env)
    assert wrong.returncode == 2
    assert "report.experiments.metric 'f1_score' matches no numeric metric" in wrong.stderr
    assert "metrics.json:loss" in wrong.stderr
