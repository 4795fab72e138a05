"""A skipped test must say why: the run fails when one is skipped with pytest's default, reason-less text.

A skip is how a missing tool or server shows up in a fresh clone; without a reason nobody can tell a
deliberate skip from a test that silently stopped running (see tests/README.md)."""

from __future__ import annotations

import pytest

_UNSTATED = ("", "unconditional skip", "condition:")  # what pytest prints when no reason was given
_found: list[str] = []


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped:").strip()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = _reason(report)
        if reason in _UNSTATED or reason.startswith("condition:"):
            _found.append(f"{report.nodeid}: {reason or '(no reason)'}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _found and not hasattr(session.config, "workerinput"):  # the controller sees every worker's skips
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", f"{len(_found)} test(s) skipped without a stated reason", red=True)
            for line in _found:
                reporter.write_line(f"  {line}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
