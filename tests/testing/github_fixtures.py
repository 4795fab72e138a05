"""Pytest plugin: the `fake_github` fixture, a fake GitHub REST API on loopback (see tests/testing/fake_github.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.testing.fake_github import FakeGitHub


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """The fake GitHub; after the test, every exchange it had is checked against GitHub's OpenAPI
    description (requests mlci sent and answers the fake gave), so the stand-in cannot drift."""
    fake = FakeGitHub().start()
    try:
        yield fake
    finally:
        fake.stop()
    departures = contract_departures(fake)
    if departures:
        pytest.fail(
            "the exchanges depart from GitHub's REST description:\n" + "\n".join(departures), pytrace=False
        )


def contract_departures(fake: FakeGitHub) -> list[str]:
    from tests.testing.openapi import SPEC, github_api

    if not SPEC.exists():
        return []  # tests/github/test_openapi_contract.py skips, saying why
    api = github_api()
    found: list[str] = []
    for r in fake.requests:
        if r.fault or r.status == 0 or "/_fake/" in r.path or r.path.startswith("/_"):
            continue
        response = json.loads(r.response) if r.response and r.response[:1] in (b"{", b"[") else None
        for line in api.check(
            r.method, r.path, r.status, r.json if r.body[:1] in (b"{", b"[") else None, response
        ):
            if line not in found:
                found.append(line)
    return found
