"""constraints/runtime.txt, the lock of mlci's runtime dependencies, agrees with pyproject.toml.

Re-compiling needs the package index and its answer changes with every release upstream, so this check is
offline: every dependency pyproject declares is in the lock, at a version its range allows, and the lock
says how it was made. After changing the dependencies, re-run the command in the lock's header."""

from __future__ import annotations

import re

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.testing.fixtures import ROOT

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

LOCK = ROOT / "constraints" / "runtime.txt"
COMMAND = "uv pip compile pyproject.toml --python-version 3.11 --universal -o constraints/runtime.txt"
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)")


def _pins() -> dict[str, list[Version]]:
    pins: dict[str, list[Version]] = {}
    for line in LOCK.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            pins.setdefault(canonicalize_name(match.group(1)), []).append(Version(match.group(2)))
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"]]


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
