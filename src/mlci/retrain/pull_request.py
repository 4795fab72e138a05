"""The retraining pull request: its marker, body, and the one-open-PR-per-branch rule.

The body's first line is a hidden marker naming the model and the hash of the fresh data. A closed
pull request carrying the marker of the same data means a person said no: mlci does not ask again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlci.errors import MlciError
from mlci.github.errors import GitHubError, PermissionDenied
from mlci.github.numbers import api_id
from mlci.render import render
from mlci.retrain.update import DataUpdate
from mlci.safety import one_line

if TYPE_CHECKING:
    from mlci.config import RetrainConfig
    from mlci.github.client import GitHubClient

Json = dict[str, Any]
TokenKind = Literal["github-token", "pat", "app", "none"]
ALLOW_PRS = "Settings → Actions → General → “Allow GitHub Actions to create and approve pull requests”"


def marker(model: str, data_hash: str) -> str:
    safe = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._/-]", "_", model))  # "--" would end the comment
    return f"<!-- mlci:retrain:{safe}:{data_hash} -->"


def head_label(client: GitHubClient, branch: str) -> str:
    return f"{client.repository.split('/')[0]}:{branch}"


def closed_for(client: GitHubClient, branch: str, mark: str) -> Json | None:
    """A closed pull request of our branch that proposed this very data (merged or turned down)."""
    for pull in client.list_pulls(head=head_label(client, branch), state="closed"):
        if mark in str(pull.get("body") or ""):
            return pull
    return None


def finished(client: GitHubClient, branch: str, tip: str) -> bool:
    """Whether a merged or closed pull request of our branch ended at `tip`: that work is done."""
    closed = client.list_pulls(head=head_label(client, branch), state="closed")
    return any(str((pull.get("head") or {}).get("sha") or "") == tip for pull in closed)


def open_for(client: GitHubClient, branch: str) -> Json | None:
    return next(iter(client.list_pulls(head=head_label(client, branch), state="open")), None)


@dataclass(frozen=True)
class PullOutcome:
    action: Literal["opened", "updated", "unchanged"]
    number: int
    url: str
    warnings: tuple[str, ...] = ()


def ensure_pull(
    client: GitHubClient, *, branch: str, base: str, title: str, body: str, settings: RetrainConfig
) -> PullOutcome:
    """Open the pull request, or bring the open one up to date; labels, reviewers, assignees after."""
    try:
        pull, action = _upsert_pull(client, branch, base, title, body)
    except PermissionDenied as exc:
        raise MlciError(
            f"GitHub refused to open the pull request for {one_line(branch)}: {exc.message}",
            f"give the job `pull-requests: write` and turn on {ALLOW_PRS}; the branch is pushed, "
            "so the next run only opens the pull request",
        ) from None
    number = api_id(pull.get("number"), "the pull request's number")
    # also when unchanged: a run whose labels/reviewers call failed left them missing
    warnings = _decorate(client, pull, settings)
    return PullOutcome(action, number, str(pull.get("html_url") or ""), warnings)


def _upsert_pull(
    client: GitHubClient, branch: str, base: str, title: str, body: str
) -> tuple[Json, Literal["opened", "updated", "unchanged"]]:
    existing = open_for(client, branch)
    if existing is None:
        try:
            return client.create_pull(title, branch, base, body), "opened"
        except GitHubError as exc:
            # another run (an overlapping schedule) opened it between our look and our create
            existing = open_for(client, branch) if exc.status == 422 else None
            if existing is None:
                raise
    if existing.get("title") == title and str(existing.get("body") or "") == body:
        return existing, "unchanged"
    return client.update_pull(
        api_id(existing.get("number"), "the pull request's number"), title=title, body=body
    ), "updated"


def _decorate(client: GitHubClient, pull: Json, settings: RetrainConfig) -> tuple[str, ...]:
    """The labels, reviewers, assignees the pull request lacks: each may fail alone (unknown user,
    missing permission). A reviewer who already reviewed is no longer "requested": asked again."""
    number = api_id(pull.get("number"), "the pull request's number")
    have = {
        "labels": {str(item.get("name")) for item in pull.get("labels") or []},
        "reviewers": {str(item.get("login")) for item in pull.get("requested_reviewers") or []},
        "assignees": {str(item.get("login")) for item in pull.get("assignees") or []},
    }
    warnings = []
    steps = (
        ("labels", client.add_labels, settings.labels),
        ("reviewers", client.request_reviewers, settings.reviewers),
        ("assignees", client.add_assignees, settings.assignees),
    )
    for what, call, wanted in steps:
        values = [value for value in wanted if value not in have[what]]
        if values:
            try:
                call(number, values)
            except GitHubError as exc:
                warnings.append(f"could not add {what} to pull request #{number}: {one_line(exc.message)}")
    return tuple(warnings)


# --- tokens and workflow runs -------------------------------------------------------------------


def token_kind(env: Mapping[str, str]) -> TokenKind:
    """Whether pushes and pull requests made with our token start workflows.

    GITHUB_TOKEN's events start no workflow. A PAT's or a GitHub App's do. Installation tokens of an
    app and GITHUB_TOKEN share the `ghs_` prefix, so the variable it came in says which one it is,
    unless MLCI_TOKEN_KIND says so outright.
    """
    declared = env.get("MLCI_TOKEN_KIND", "").strip().lower()
    if declared:
        if declared not in ("github-token", "pat", "app"):
            raise MlciError(
                f"MLCI_TOKEN_KIND must be github-token, pat or app, got {one_line(declared)!r}",
                "leave it unset to tell from the token itself",
            )
        return declared  # type: ignore[return-value]
    mlci_token = env.get("MLCI_GITHUB_TOKEN", "")
    if mlci_token:
        return "pat" if mlci_token.startswith(("ghp_", "github_pat_")) else "app"
    return "github-token" if env.get("GITHUB_TOKEN") else "none"


def pr_title(model: str, update: DataUpdate) -> str:
    rows = f": {update.rows_added} new rows" if update.rows_added else ""
    return one_line(f"Retrain {model} on fresh data{rows}", 120)


_OPENED_BY = re.compile(r"^<!-- mlci:opened-by:(\S+) -->$", re.MULTILINE)
_CONFIRMED_BY = re.compile(r"^<!-- mlci:confirmed-by:(\S+) -->$", re.MULTILINE)


def _link(url: str | None) -> str:
    """A run URL fit for the body's hidden comments ("" when it is not one)."""
    url = url or ""
    return url if re.fullmatch(r"https?://[^\s<>\"]+", url) and "--" not in url else ""


def pr_body(root: Path, existing: Json | None, run_url: str | None, **context: Any) -> str:
    """The body; for an open pull request it keeps naming the run that opened it, and names this run
    as the one that confirmed the drift figures only when they changed. So a scheduled run that finds
    the same drift renders the same body, and writes nothing."""
    old = str((existing or {}).get("body") or "")
    opened = (_OPENED_BY.findall(old) or [_link(run_url)])[0]
    confirmed = (_CONFIRMED_BY.findall(old) or [opened])[0]
    body = render("retrain_pr.md.j2", repo_root=root, opened_by=opened, confirmed_by=confirmed, **context)
    if existing is not None and body != old and _link(run_url):
        body = render(
            "retrain_pr.md.j2", repo_root=root, opened_by=opened, confirmed_by=_link(run_url), **context
        )
    return body
