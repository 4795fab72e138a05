"""The one sticky-comment upsert, over both transports: the fake GitHub (real HTTP) and the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlci.github.client import GitHubClient
from mlci.github.comments import find_all_marked, report_marker, upsert, with_marker
from mlci.github.limits import COMMENT_LIMIT
from mlci.github.outbox import Outbox
from tests.testing.fake_github import FakeGitHub

MARKER = report_marker("default")


@pytest.fixture(params=["github", "outbox"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GitHubClient]:
    if request.param == "outbox":
        yield Outbox(tmp_path / "outbox", "octo-org/models")
        return
    fake: FakeGitHub = request.getfixturevalue("fake_github")
    yield GitHubClient(fake.token, fake.repository, fake.url, sleep=lambda s: None)


def _ours(client: GitHubClient, number: int) -> list[dict[str, object]]:
    return find_all_marked(client.list_issue_comments(number), MARKER)


def test_create_then_unchanged_then_updated(client: GitHubClient) -> None:
    assert upsert(client, 5, "accuracy 0.91", MARKER).action == "created"
    assert upsert(client, 5, "accuracy 0.91", MARKER).action == "unchanged"
    updated = upsert(client, 5, "accuracy 0.93", MARKER)
    assert updated.action == "updated"
    (only,) = _ours(client, 5)
    assert only["body"] == f"{MARKER}\naccuracy 0.93"


def test_duplicates_left_by_concurrent_runs_are_healed_keeping_the_newest(client: GitHubClient) -> None:
    # Two runs that listed the comments at the same moment each created one: three copies in all.
    for text in ("run 1", "run 2", "run 3"):
        client.create_issue_comment(8, with_marker(text, MARKER))
    client.create_issue_comment(8, "a human's comment quoting nothing")
    result = upsert(client, 8, "run 4", MARKER)
    assert result.action == "updated" and result.removed_duplicates == 2
    (kept,) = _ours(client, 8)
    assert kept["body"] == f"{MARKER}\nrun 4"
    assert any(c["body"] == "a human's comment quoting nothing" for c in client.list_issue_comments(8))


def test_a_late_run_for_an_older_head_writes_nothing(client: GitHubClient) -> None:
    pull = client.create_pull("Tune", "feature", "main", "")
    head = str(pull.get("head", {}).get("sha") or "")
    number = int(pull["number"])
    if not head:  # the outbox's pulls carry no commit: nothing newer to protect, so it writes
        assert upsert(client, number, "report", MARKER, head_sha="a" * 40).action == "created"
        return
    assert upsert(client, number, "new head's report", MARKER, head_sha=head).action == "created"
    late = upsert(client, number, "old head's report", MARKER, head_sha="0" * 40)
    assert late.action == "superseded" and late.comment_id == 0
    (kept,) = _ours(client, number)
    assert kept["body"] == f"{MARKER}\nnew head's report"


def test_a_marker_typed_by_someone_else_is_not_ours(fake_github: FakeGitHub) -> None:
    client = GitHubClient(fake_github.token, fake_github.repository, fake_github.url, sleep=lambda s: None)
    fake_github._new_comment(3, with_marker("planted by the PR author", MARKER), login="mallory")
    assert upsert(client, 3, "the real report", MARKER).action == "created"
    bodies = [c["body"] for c in client.list_issue_comments(3)]
    assert f"{MARKER}\nplanted by the PR author" in bodies  # neither edited nor deleted


def test_a_long_report_is_cut_to_the_limit_on_both_transports(client: GitHubClient) -> None:
    upsert(client, 2, "row\n" * 30_000, MARKER)
    (kept,) = _ours(client, 2)
    assert len(str(kept["body"])) <= COMMENT_LIMIT and "Truncated" in str(kept["body"])


def test_report_ids_are_short_slugs() -> None:
    assert report_marker("model-a.v2") == "<!-- mlci:report:model-a.v2 -->"
    with pytest.raises(ValueError, match="report id"):
        report_marker("x --><img src=x>")
