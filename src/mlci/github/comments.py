"""Sticky comments: the hidden marker, fitting GitHub's size limit, and the one upsert.

Every sticky comment mlci writes (the PR report, fork reports posted by report-post) goes through
`upsert`, whether the client talks to GitHub or to the offline outbox: list the PR's comments, find
ours by marker, heal duplicates, then create, edit or leave alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mlci.github.limits import COMMENT_LIMIT, fit_text
from mlci.github.numbers import api_id

if TYPE_CHECKING:
    from mlci.github.client import GitHubClient

Json = dict[str, Any]
_MARKER = re.compile(r"<!--(?:(?!--).)+-->")
_REPORT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

Action = Literal["created", "updated", "unchanged", "superseded"]


@dataclass(frozen=True)
class UpsertResult:
    """What `upsert` did; `comment_id` is 0 and `url` empty when it wrote nothing (superseded)."""

    action: Action
    comment_id: int
    url: str
    removed_duplicates: int = 0


def report_marker(report_id: str) -> str:
    """The marker of the PR report with this id (`[A-Za-z0-9._-]`, at most 64 characters)."""
    if not _REPORT_ID.fullmatch(report_id):
        raise ValueError(f"a report id is 1-64 letters, digits, '.', '_' or '-', got {report_id!r}")
    return f"<!-- mlci:report:{report_id} -->"


def with_marker(body: str, marker: str) -> str:
    """The body with the hidden marker on its first line (where `find_marked` looks for it)."""
    if not _MARKER.fullmatch(marker):
        raise ValueError(
            f"marker must be one HTML comment like '<!-- mlci:report:default -->', got {marker!r}"
        )
    return body if body.split("\n", 1)[0] == marker else f"{marker}\n{body}"


def _ours(comment: Json, marker: str, author: str | None) -> bool:
    if str(comment.get("body") or "").split("\n", 1)[0].strip() != marker:
        return False
    user = comment.get("user") or {}
    if author is not None:
        return bool(user.get("login") == author)
    return not user or user.get("type") == "Bot"


def find_all_marked(comments: Iterable[Json], marker: str, author: str | None = None) -> list[Json]:
    """Our comments whose first line is exactly `marker`, oldest first; a reply quoting it does not count.

    Ours: written by `author` when the token's user is known (a PAT), else by a bot (the Actions and App
    tokens mlci runs with comment as bots). Anyone can type the marker: a PR author who posts it first
    must not get their comment edited into the report, and later edit it back.
    """
    return [c for c in comments if _ours(c, marker, author)]


def find_marked(comments: Iterable[Json], marker: str, author: str | None = None) -> Json | None:
    """The first of `find_all_marked`, or None."""
    return next(iter(find_all_marked(comments, marker, author)), None)


def _same(old: object, new: str) -> bool:
    return str(old or "").replace("\r\n", "\n") == new


def _result(action: Action, comment: Json, removed: int) -> UpsertResult:
    return UpsertResult(
        action, api_id(comment.get("id"), "the comment's id"), str(comment.get("html_url", "")), removed
    )


def _head_moved(client: GitHubClient, number: int, head_sha: str) -> bool:
    from mlci.github.errors import NotFound

    try:
        pull = client.get_pull(number)
    except NotFound:  # an issue, or a PR the outbox never saw: nothing newer to protect
        return False
    current = str((pull.get("head") or {}).get("sha") or "")
    return bool(current) and current != head_sha


def upsert(
    client: GitHubClient, number: int, body: str, marker: str, *, head_sha: str | None = None
) -> UpsertResult:
    """Create or edit the one comment carrying `marker` on issue or PR `number`.

    - `head_sha`: the commit the body reports on. When the PR's head has moved on, nothing is written
      ("superseded"): an older run finishing late must not overwrite the newer run's report.
    - Concurrent runs may each have created a copy: the newest is kept, the others of ours deleted.
    - An unchanged body makes no write. Creating is idempotent after transient failures (the client
      looks before it creates again).
    """
    if head_sha and _head_moved(client, number, head_sha):
        return UpsertResult("superseded", 0, "")
    text = fit_text(with_marker(body, marker), COMMENT_LIMIT, client.run_url)
    author = client.own_login()

    def find() -> Json | None:
        return find_marked(client.list_issue_comments(number), marker, author)

    ours = find_all_marked(client.list_issue_comments(number), marker, author)
    for stale in ours[:-1]:  # newest last: GitHub lists issue comments oldest first
        client.delete_issue_comment(api_id(stale.get("id"), "a comment's id"))
    removed = max(len(ours) - 1, 0)
    if not ours:
        created = client.create_once(lambda: client.create_issue_comment(number, text), find)
        if _same(created.get("body"), text):
            return _result("created", created, removed)
        existing = created
    else:
        existing = ours[-1]
        if _same(existing.get("body"), text):
            return _result("unchanged", existing, removed)
    return _result(
        "updated", client.update_issue_comment(api_id(existing.get("id"), "the comment's id"), text), removed
    )
