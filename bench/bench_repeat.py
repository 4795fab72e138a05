"""A pytest plugin for bench/bench_jobs.py: runs each collected test MLCI_BENCH_REPEAT times in one
session (as pytest-repeat does, by parametrizing), so a scenario's second run finds the first one's
caches."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def bench_rep(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    count = int(os.environ.get("MLCI_BENCH_REPEAT", "1"))
    if count > 1:
        metafunc.fixturenames.append("bench_rep")
        metafunc.parametrize("bench_rep", range(count), indirect=True, ids=lambda n: f"run{n + 1}")
