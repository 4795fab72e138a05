"""The fork-safe half of the report: post a comment that a `pull_request` run left as an artifact.

A fork's `pull_request` run has a read-only token, so it uploads `<id>.comment.json`; a `workflow_run`
run in the base repository (with a write token) posts it. That file was written by code the PR
controls, so everything in it is checked before use: the schema, the PR number (a positive int), the
report id (a short slug), the body (text, at most one comment long, mentions made inert).

The PR number in the file is only a hint. Any PR's head commit is public, so a fork can push the same
commit and open its own PR; the PR is therefore found from the triggering `workflow_run` event itself
(`run_head`): its head repository, branch and commit must be those of one OPEN pull request
(`pull_for_run`), and the file's number must be that PR's. Any field missing on either side fails
closed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.errors import MlciError
from mlci.readers import read_json
from mlci.safety import inert_body, one_line

if TYPE_CHECKING:
    from mlci.report.document import Report

BUNDLE_VERSION = 1
MAX_BODY = 65_536  # GitHub's comment limit
MAX_FILE = 512 * 1024  # nothing honest is bigger; refuse before parsing
_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SHA = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Bundle:
    pr_number: int
    report_id: str
    head_sha: str
    body: str


@dataclass(frozen=True)
class RunHead:
    """What the triggering `workflow_run` built: `repository:branch` at `sha`."""

    repository: str  # head_repository.full_name, e.g. "forker/models"
    branch: str
    sha: str

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    def __str__(self) -> str:
        return f"{self.repository}:{self.branch} at {self.sha[:7]}"


_REFUSE = "nothing was posted: mlci only posts on the open pull request whose head the triggering run built"


def run_head(event: Mapping[str, Any]) -> RunHead:
    """The head of the `workflow_run` that triggered this run; a missing field is an exit-2 error."""
    run = event.get("workflow_run")
    if not isinstance(run, dict):
        raise MlciError(
            "the event has no workflow_run: cannot tell which pull request's run produced the report",
            "run `mlci report --post` only in a `workflow_run` workflow (report-post.yml)",
        )
    repo = run.get("head_repository")
    fields = {
        "workflow_run.head_repository.full_name": repo.get("full_name") if isinstance(repo, dict) else None,
        "workflow_run.head_branch": run.get("head_branch"),
        "workflow_run.head_sha": run.get("head_sha"),
    }
    missing = [name for name, value in fields.items() if not isinstance(value, str) or not value]
    if missing:
        raise MlciError(f"the workflow_run event has no {', '.join(missing)}", _REFUSE)
    full_name, branch, sha = (str(v) for v in fields.values())
    if "/" not in full_name.strip("/"):
        raise MlciError(
            f"workflow_run.head_repository.full_name {one_line(full_name, 80)!r} is not owner/name"
        )
    if not _SHA.fullmatch(sha):
        raise MlciError(f"workflow_run.head_sha {one_line(sha, 80)!r} is not a 40-character commit SHA")
    return RunHead(full_name, branch, sha)


def _head_of(pull: dict[str, Any]) -> tuple[list[str], RunHead | None]:
    """(missing fields, the PR's head) of a pull request object as GitHub returns it."""
    head = pull.get("head")
    head = head if isinstance(head, dict) else {}
    repo = head.get("repo")
    fields = {
        "head.repo.full_name": repo.get("full_name") if isinstance(repo, dict) else None,
        "head.ref": head.get("ref"),
        "head.sha": head.get("sha"),
    }
    missing = [name for name, value in fields.items() if not isinstance(value, str) or not value]
    if missing:
        return missing, None
    full_name, ref, sha = (str(v) for v in fields.values())
    return [], RunHead(full_name, ref, sha)


def pull_for_run(pulls: list[dict[str, Any]], run: RunHead, hint: int) -> int:
    """The number of the open pull request whose head is exactly what `run` built.

    `pulls` are the repository's open pull requests listed for `owner:branch`; `hint` is the number the
    (untrusted) bundle names. Several PRs can share a head (one branch opened against two bases): the
    hint must be one of them. None, a PR object lacking a head field, or a hint that is not among them:
    exit 2, nothing posted.
    """
    matches: list[int] = []
    for pull in pulls:
        number = pull.get("number")
        missing, head = _head_of(pull)
        if missing:
            raise MlciError(
                f"GitHub's pull request #{one_line(str(number), 20)} has no {', '.join(missing)}"
                " (a deleted fork?)",
                _REFUSE,
            )
        if pull.get("state") == "open" and head == run and isinstance(number, int):
            matches.append(number)
    if not matches:
        raise MlciError(
            f"no open pull request has the head the triggering run built ({run})",
            "the pull request was closed, merged or pushed to again (a newer run posts its own report); "
            + _REFUSE,
        )
    if hint not in matches:
        found = ", ".join(f"#{n}" for n in matches)
        raise MlciError(
            f"the report names PR #{hint}, but the triggering run built the head of {found} ({run}); "
            "refusing to post on another PR",
            _REFUSE,
        )
    return hint


def check_report_id(report_id: str) -> str:
    if not _ID.fullmatch(report_id):
        raise MlciError(
            f"report id {one_line(report_id, 80)!r} is not a short slug",
            "set report.id in mlci.yaml to letters, digits, '.', '_' or '-' (at most 64)",
        )
    return report_id


def bundle(report: Report, body: str) -> dict[str, Any]:
    return {
        "schema_version": BUNDLE_VERSION,
        "pr_number": report.pr_number,
        "report_id": report.id,
        "head_sha": report.head.sha,
        "body": body,
    }


def load_bundle(path: Path | str) -> Bundle:
    """Read and validate a comment bundle; anything off is an exit-2 error saying what."""
    file = Path(path)
    if not file.is_file():
        raise MlciError(f"{file}: no such report file", "download the report artifact first")
    if file.stat().st_size > MAX_FILE:
        raise MlciError(f"{file}: {file.stat().st_size:,} bytes is too large for a report comment bundle")
    try:
        data = read_json(file, str(file))
    except MlciError as exc:
        raise MlciError(f"{file}: not a JSON report bundle ({one_line(exc, 120)})") from None
    if not isinstance(data, dict) or data.get("schema_version") != BUNDLE_VERSION:
        raise MlciError(f"{file}: not an mlci report bundle (schema_version {BUNDLE_VERSION} expected)")
    number, body, head = data.get("pr_number"), data.get("body"), data.get("head_sha")
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 10**9:
        raise MlciError(
            f"{file}: pr_number must be a positive whole number, got {one_line(repr(number), 40)}"
        )
    if not isinstance(body, str) or not body.strip():
        raise MlciError(f"{file}: body must be non-empty text")
    if len(body) > MAX_BODY:
        raise MlciError(f"{file}: body has {len(body):,} characters, more than a comment's {MAX_BODY:,}")
    if not isinstance(head, str) or not _SHA.fullmatch(head):
        raise MlciError(f"{file}: head_sha must be a 40-character commit SHA")
    report_id = check_report_id(str(data.get("report_id", "")))
    # mlci's own rendering already escapes values; a forged bundle must not ping people or embed HTML
    return Bundle(number, report_id, head, inert_body(body))
