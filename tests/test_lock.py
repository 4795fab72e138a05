"""constraints/runtime.txt (mlci's runtime lock) and constraints/test.txt (the suite's) agree with pyproject.toml.

Re-compiling needs the package index and its answer changes with every release upstream, so this check is
offline: every dependency pyproject declares is in the lock, at a version its range allows, and the lock
says how it was made. After changing the dependencies, re-run the command in the lock's header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.testing.fixtures import ROOT

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

LOCK = ROOT / "constraints" / "runtime.txt"
COMMAND = "uv pip compile pyproject.toml --python-version 3.11 --universal -o constraints/runtime.txt"
TEST_LOCK = ROOT / "constraints" / "test.txt"
TEST_COMMAND = (
    "uv pip compile pyproject.toml --extra test --python-version 3.11 --universal "
    "-c constraints/runtime.txt -o constraints/test.txt"
)
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)")


def _pins(lock: Path = LOCK) -> dict[str, list[Version]]:
    pins: dict[str, list[Version]] = {}
    for line in lock.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            pins.setdefault(canonicalize_name(match.group(1)), []).append(Version(match.group(2)))
    return pins


def _declared(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(text) for text in texts]


def test_the_lock_says_how_it_was_made() -> None:
    assert COMMAND in LOCK.read_text().splitlines()[1]


def test_every_declared_dependency_is_locked_within_its_range() -> None:
    pins = _pins()
    for requirement in _declared():
        versions = pins.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is declared in pyproject.toml but not in the lock: {COMMAND}"
        for version in versions:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"the lock pins {requirement.name}=={version}, outside pyproject's {requirement}: {COMMAND}"
            )


def test_the_lock_pins_only_exact_versions_and_not_mlci_itself() -> None:
    pins = _pins()
    assert "mlci" not in pins
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            assert _PIN.match(line), line


def test_dvc_is_bounded_below_its_next_major() -> None:
    (dvc,) = (r for r in _declared() if r.name == "dvc")
    assert not dvc.specifier.contains("4.0") and dvc.specifier.contains("3.99")


def test_the_test_lock_says_how_it_was_made() -> None:
    assert TEST_COMMAND in TEST_LOCK.read_text().splitlines()[1]


@pytest.mark.parametrize("extra", [None, "test"])
def test_the_test_lock_pins_every_dependency_within_its_range(extra: str | None) -> None:
    pins = _pins(TEST_LOCK)
    for requirement in _declared(extra):
        versions = pins.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is not in constraints/test.txt: {TEST_COMMAND}"
        assert all(requirement.specifier.contains(v, prereleases=True) for v in versions), requirement


def test_the_test_lock_keeps_the_runtime_lock_versions() -> None:
    """The suite tests mlci at the versions users' jobs install: a shared package has one version."""
    runtime, test = _pins(), _pins(TEST_LOCK)
    differ = {
        name: (runtime[name], test[name])
        for name in runtime.keys() & test.keys()
        if runtime[name] != test[name]
    }
    assert not differ, f"constraints/test.txt moved runtime pins {differ}: {TEST_COMMAND}"


def _fenced_commands(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("python3 -m venv .venv && ")]


def test_the_readme_commands_install_from_the_locks_and_ci_runs_the_test_command() -> None:
    """A fresh machine's pip backtracks for many minutes without the pins (docs: README's quick start)."""
    demo, tests = _fenced_commands((ROOT / "README.md").read_text())[:2]
    assert "-c constraints/runtime.txt" in demo and "mlci demo" in demo
    assert "-c constraints/test.txt" in tests and "pytest" in tests
    assert (ROOT / ".ci" / "run").read_text().rstrip().splitlines()[-1] == tests
