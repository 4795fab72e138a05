"""The fake GitHub against GitHub's own REST description (@octokit/openapi): every exchange of every test
that uses the `fake_github` fixture is checked when the test ends (tests/testing/github_fixtures.py).
These tests show the checker itself finds what it must."""

from __future__ import annotations

import pytest

from tests.testing.openapi import SPEC, github_api

pytestmark = pytest.mark.skipif(
    not SPEC.exists(),
    reason="GitHub's OpenAPI description is not installed (.ci/run installs the npm package "
    "@octokit/openapi into .venv/node; or set MLCI_GITHUB_OPENAPI to its api.github.com.json)",
)

COMMENT = {
    "id": 1,
    "node_id": "IC_1",
    "url": "https://api.github.com/repos/o/r/issues/comments/1",
    "html_url": "https://github.com/o/r/pull/7#issuecomment-1",
    "body": "report",
    "user": None,
    "created_at": "2026-12-04T00:00:00Z",
    "updated_at": "2026-12-04T00:00:00Z",
    "issue_url": "https://api.github.com/repos/o/r/issues/7",
    "author_association": "NONE",
}


def test_a_conforming_exchange_has_no_departures() -> None:
    api = github_api()
    assert api.check("POST", "/repos/o/r/issues/7/comments", 201, {"body": "report"}, COMMENT) == []


def test_an_unknown_endpoint_a_wrong_type_and_an_undocumented_answer_are_departures() -> None:
    api = github_api()
    assert api.check("POST", "/repos/o/r/pulls/7/sticky", 201, {}, {}) != []
    wrong = api.check("POST", "/repos/o/r/issues/7/comments", 201, {"body": 5}, {**COMMENT, "id": "one"})
    assert any("request body" in d for d in wrong) and any("response id" in d for d in wrong), wrong
    assert api.check("GET", "/repos/o/r/pulls", 204, None, None) != []


def test_a_list_endpoint_must_answer_a_list() -> None:
    """Shapes are checked here; order and meaning are the scenario tests' job."""
    api = github_api()
    assert api.check("GET", "/repos/o/r/issues/7/comments", 200, None, [COMMENT, COMMENT]) == []
    assert api.check("GET", "/repos/o/r/issues/7/comments", 200, None, COMMENT) != []  # object, not list
