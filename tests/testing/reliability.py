"""Shared pieces of the reliability suite: prepared copies of the example project, the faults of the fake
GitHub server, and the end state of each command as a user sees it (ids and timestamps left out)."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlci.repo.git import git
from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo, actions_env, load_event

PR = 7
BOT = "github-actions[bot]"
FAST = {"MLCI_RETRY_SCALE": "0"}  # the client's retry waits, shortened (src/mlci/github/http.py)
TIMEOUT = 0.5  # github.timeout in the prepared projects; a `slow` fault answers after SLOW seconds,
SLOW = 1.0  # after the client gave up but before its 1 s backoff ends (timeouts run with real waits)


# --- prepared projects: built once per module, copied per scenario with the same commits ----------------


def copy_project(template: Path, dest: Path) -> ExampleRepo:
    """A copy of a prepared project whose commits keep their SHAs (the remotes are set in local config)."""
    shutil.copytree(template, dest, symlinks=True, ignore=shutil.ignore_patterns("home"))
    repo = ExampleRepo(root=dest / "work", origin=dest / "origin.git", remote=dest / "dvc-remote")
    repo.git("remote", "set-url", "origin", str(repo.origin))
    # what `dvc remote modify --local storage url ...` writes, without starting DVC once per scenario
    (repo.root / ".dvc" / "config.local").write_text(f"['remote \"storage\"']\n    url = {repo.remote}\n")
    return repo


def prepare(example_template: Path, dest: Path, change: Callable[[ExampleRepo], None]) -> Path:
    """Copy the session's trained example, apply `change` (commits it, pushes to origin): a new template."""
    repo = copy_project(example_template, dest)
    change(repo)
    repo.git("add", "-A")
    if repo.git("status", "--porcelain"):
        repo.git("commit", "-q", "-m", "Prepare the reliability scenario")
    repo.git("push", "-q", "origin", "HEAD")
    return dest


def edit_config(repo: ExampleRepo, **sections: Any) -> None:
    path = repo.root / "mlci.yaml"
    config = yaml.safe_load(path.read_text()) or {}
    for key, value in sections.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    path.write_text(yaml.safe_dump(config, sort_keys=False))


# --- the GitHub Actions step environment ----------------------------------------------------------------


def pr_payload(repo: str, base: str, head: str, *, head_ref: str = "feature") -> dict[str, Any]:
    payload = copy.deepcopy(load_event("pull_request/opened"))
    payload["number"] = PR
    payload["repository"]["full_name"] = repo
    pr = payload["pull_request"]
    pr["number"] = PR
    pr["base"]["sha"], pr["base"]["ref"] = base, "main"
    pr["head"]["sha"], pr["head"]["ref"] = head, head_ref
    pr["head"]["repo"]["full_name"] = repo
    pr["head"]["repo"]["fork"] = False
    return payload


def push_payload(repo: ExampleRepo, fake: FakeGitHub) -> dict[str, Any]:
    payload = load_event("push/branch")
    payload["ref"] = "refs/heads/main"
    payload["after"] = repo.head()
    payload["head_commit"] = {"id": repo.head(), "message": repo.git("log", "-1", "--format=%B")}
    payload["repository"]["full_name"] = fake.repository
    payload["repository"]["default_branch"] = "main"
    return payload


def step_env(
    tmp: Path, fake: FakeGitHub, event: str, payload: dict[str, Any], **extra: str
) -> dict[str, str]:
    fast = {} if extra.pop("real_waits", "") else FAST
    return actions_env(
        tmp,
        event,
        payload,
        GITHUB_API_URL=fake.url,
        GITHUB_TOKEN=fake.token,
        GITHUB_REPOSITORY=fake.repository,
        **fast,
        **extra,
    )


# --- faults ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One API call a command makes: the method and a regex on the fake's request path."""

    name: str
    method: str
    path: str
    nth: int | None = None  # only the Nth matching call (e.g. the second deployment status)
    seed: str = ""  # a state to start from, so that the call happens at all (e.g. a stale comment)

    @property
    def writes(self) -> bool:
        return self.method != "GET"


FAULTS = (
    "5xx",  # one 502, then normal answers
    "5xx-after-landing",  # the write happens, then the 502 comes: the client cannot know it landed
    "5xx-persistent",  # 503 on every matching call: retries run out
    "secondary-403",  # secondary rate limit, 403 + retry-after
    "secondary-429",  # secondary rate limit, 429 + retry-after
    "primary-limit",  # x-ratelimit-remaining: 0, resets in 20 s
    "primary-limit-beyond-max-wait",  # resets in 2 h: longer than github.max_wait
    "timeout",  # answers after SLOW s, the client waits TIMEOUT s
    "drop",  # the connection closes without an answer
)


def inject(fake: FakeGitHub, step: Step, fault: str) -> None:
    m, p = step.method, step.path
    once: dict[str, Any] = {"nth": step.nth} if step.nth else {}
    if fault == "5xx":
        fake.fail(m, p, status=502, **once)
    elif fault == "5xx-after-landing":
        fake.fail(m, p, status=502, after=True, **once)
    elif fault == "5xx-persistent":
        fake.inject(m, p, kind="status", status=503, skip=(step.nth or 1) - 1, times=None)
    elif fault == "secondary-403":
        fake.secondary_limit(m, p, retry_after=7, **once)
    elif fault == "secondary-429":
        fake.secondary_limit(m, p, status=429, retry_after=7, **once)
    elif fault == "primary-limit":
        fake.primary_limit(m, p, reset_in=20, **once)
    elif fault == "primary-limit-beyond-max-wait":
        fake.primary_limit(m, p, reset_in=7200, **once)
    elif fault == "timeout":
        fake.slow(m, p, delay=SLOW, **once)
    elif fault == "drop":
        fake.drop(m, p, **once)
    else:
        raise ValueError(fault)


WRITE_ONLY = {"5xx-after-landing"}  # a GET that "lands" is the same as one that does not


def scenarios(steps: list[Step]) -> list[tuple[Step, str]]:
    return [(s, fault) for s in steps for fault in FAULTS if s.writes or fault not in WRITE_ONLY]


def names_the_call(text: str, step: Step) -> bool:
    """The output names the failed request, e.g. `POST /api/v3/repos/o/r/issues/7/comments`."""
    pattern = rf"{step.method} /api/\S*?{step.path.lstrip('^').rstrip('$')}"
    return re.search(pattern, text) is not None


# --- end states -----------------------------------------------------------------------------------------


def latest_by(items: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any]) -> dict[Any, dict[str, Any]]:
    """The newest item per key (items in creation order)."""
    out: dict[Any, dict[str, Any]] = {}
    for item in items:
        out[key(item)] = item
    return out


def report_state(fake: FakeGitHub) -> dict[str, Any]:
    checks = latest_by(sorted(fake.check_runs.values(), key=lambda r: r["id"]), lambda r: r["name"])
    return {
        "comments": [(c["user"]["login"], c["body"]) for c in fake.comments.get(PR, [])],
        "check runs": {
            name: (r["head_sha"], r["conclusion"], r["output"]["title"]) for name, r in checks.items()
        },
    }


def deployment_states(fake: FakeGitHub) -> list[tuple[str, str]]:
    """(payload as JSON, latest state) per deployment, oldest first; no status at all counts as pending."""
    out = []
    for d in reversed(fake.deployments):
        statuses = fake.deployment_statuses.get(d["id"], [])
        out.append(
            (json.dumps(d["payload"], sort_keys=True), statuses[0]["state"] if statuses else "pending")
        )
    return out


def deploy_state(fake: FakeGitHub, repo: ExampleRepo) -> dict[str, Any]:
    states = deployment_states(fake)
    tags = git(repo.origin, "for-each-ref", "refs/tags", "--format=%(refname:strip=2) %(*objectname)")
    current = repo.root / ".mlci/deployments/classifier/current/metadata.json"
    meta = json.loads(current.read_text()) if current.exists() else {}
    return {
        "tags on origin": sorted(tags.splitlines()),
        "live deployments": [p for p, s in states if s == "success"],
        "unfinished deployments": [p for p, s in states if s in ("pending", "queued", "in_progress")],
        "releases": [(r["tag_name"], sorted(a["name"] for a in r.get("assets", []))) for r in fake.releases],
        "current": {k: meta.get(k) for k in ("version", "stage", "commit", "sha256")},
    }


RETRAIN_BRANCH = "mlci/retrain/classifier"


def retrain_state(fake: FakeGitHub, repo: ExampleRepo) -> dict[str, Any]:
    branch = git(repo.origin, "rev-parse", "--verify", "--quiet", f"refs/heads/{RETRAIN_BRANCH}", check=False)
    pointer = (
        yaml.safe_load(git(repo.origin, "show", f"{branch}:data/raw.csv.dvc"))["outs"][0]["md5"]
        if branch
        else ""
    )
    ahead = int(git(repo.origin, "rev-list", "--count", f"main..{branch}")) if branch else 0
    return {
        "branch": {"data md5": pointer, "commits ahead of main": ahead},
        "pulls": [
            {
                "state": p["state"],
                "title": p["title"],
                "body": p["body"],
                "head": p["head"]["ref"],
                "base": p["base"]["ref"],
                "labels": sorted(label["name"] for label in p["labels"]),
                "reviewers": sorted(u["login"] for u in p["requested_reviewers"]),
            }
            for p in fake.pulls
        ],
    }


# --- outcomes, for docs/reliability.md ------------------------------------------------------------------


def record(command: str, step: str, fault: str, outcome: str) -> None:
    """Append one scenario's outcome to $RELIABILITY_LOG (a JSON-lines file), when set."""
    log = os.environ.get("RELIABILITY_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(
                json.dumps({"command": command, "step": step, "fault": fault, "outcome": outcome}) + "\n"
            )


def token_leaks(token: str, text: str) -> list[str]:
    """Lines holding the token, except mlci's own `::add-mask::` command (the runner hides the value)."""
    return [line for line in text.splitlines() if token in line and line != f"::add-mask::{token}"]
