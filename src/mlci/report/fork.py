"""The fork-safe half of the report: post a comment that a `pull_request` run left as an artifact.

A fork's `pull_request` run has a read-only token, so it uploads `<id>.comment.json`; a `workflow_run`
run in the base repository (with a write token) posts it. That file was written by code the PR
controls, so everything in it is checked before use: the schema, the PR number (a positive int), the
report id (a short slug), the body (text, at most one comment long, mentions made inert) and, when
the event says which commit ran, that the PR's head is that commit — so an artifact can only ever
comment on the PR whose run produced it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.errors import MlciError
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
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
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
