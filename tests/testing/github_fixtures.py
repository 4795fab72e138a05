"""Pytest plugin: the `fake_github` fixture, a fake GitHub REST API on loopback (see tests/testing/fake_github.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.testing.fake_github import FakeGitHub


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub().start()
    try:
        yield fake
    finally:
        fake.stop()
