"""Will the project's environment build? The resolution the install step does for the jobs that run the
project's code (its requirements alone, as written: docs/architecture.md, "Two environments"), tried
here before CI does, and its conflicts told by package, each side's requirement and where it comes from.

The resolver is uv (`uv pip compile`, what the jobs use): offline first, from uv's cache, and only when
the cache lacks a package, again with the package index. Without uv, pip (`pip install --dry-run`,
online). Without either, the check says it was not made.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mlci.repo import requirements as reqs

_OFFLINE_MISS = re.compile(r"network was disabled|needs to be downloaded|not found in the cache", re.I)
_OP = r"(?:===|==|>=|<=|~=|!=|<|>)"
_PINNED = re.compile(rf"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*({_OP}[^\s,;]+(?:,{_OP}[^\s,;]+)*)")
_CLAUSE = re.compile(r"\.\s|,\s|\band\b|\bwe can conclude\b")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Want:
    """One requirement on a package: its text and where it comes from ("requirements.txt:3", or
    "dvc==3.56.0 depends on it")."""

    requirement: str
    source: str


@dataclass(frozen=True)
class Conflict:
    package: str
    wants: list[Want]


@dataclass
class Resolution:
    """The outcome: `ok` None when no resolver could run (`resolver` says why)."""

    path: str
    encoding: str
    bom: bool
    resolver: str  # "uv pip compile (offline)", "pip install --dry-run", or why none ran
    ok: bool | None
    conflicts: list[Conflict] = field(default_factory=list)
    explanation: str = ""  # the resolver's own words, when it failed


def resolve(root: Path, relpath: str, python_version: str) -> Resolution:
    """Resolve `root/relpath` alone for `python_version` ("3.11"). Raises OSError/UnicodeError when the
    file (or one it includes) cannot be read as pip reads it."""
    path = root / relpath
    decoded = reqs.read(path)
    install, copies = reqs.utf8_copies(path)
    try:
        resolver, ok, output = _run(root, install, python_version)
    finally:
        for copy in copies:
            copy.unlink(missing_ok=True)
    result = Resolution(relpath, decoded.encoding, decoded.bom, resolver, ok)
    if ok is False:
        result.explanation = _explanation(output)
        result.conflicts = conflicts(result.explanation, reqs.closure(path), root)
    return result


def _run(root: Path, install: Path, python_version: str) -> tuple[str, bool | None, str]:
    uv = _uv()
    if uv:
        base = [*uv, "pip", "compile", "--quiet", "--no-header", "--python-version", python_version]
        done = _call([*base, "--offline", str(install)], root)
        if done.returncode == 0 or not _OFFLINE_MISS.search(done.stderr):
            return "uv pip compile (offline, uv's cache)", done.returncode == 0, done.stderr
        done = _call([*base, str(install)], root)
        return "uv pip compile (the package index)", done.returncode == 0, done.stderr
    if importlib.util.find_spec("pip") is not None:
        pip = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
        done = _call(
            [*pip, "--python-version", python_version, "--only-binary=:all:", "-r", str(install)], root
        )
        return "pip install --dry-run (the package index)", done.returncode == 0, done.stderr
    return (
        "not checked: neither uv nor pip is installed here (`pip install uv` lets mlci doctor check)",
        None,
        "",
    )


def _uv() -> list[str] | None:
    found = shutil.which("uv")
    if found:
        return [found]
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    return None


def _call(command: list[str], root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=root, capture_output=True, text=True, check=False, timeout=600)


def canonical(name: str) -> str:
    """A project name as package indexes compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _explanation(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return " ".join(line.removeprefix("×").removeprefix("╰─▶").strip() for line in lines)[:2000]


def conflicts(explanation: str, files: list[Path], root: Path) -> list[Conflict]:
    """The packages the resolver's explanation names with two or more different requirements, each
    requirement with the file and line that states it, or the package whose dependency it is."""
    where = _lines_naming(files, root)
    wanted: dict[str, list[Want]] = {}
    for clause in _CLAUSE.split(explanation):
        for match in _PINNED.finditer(clause):
            name = canonical(match.group(1))
            text = f"{match.group(1)}{match.group(2)}"
            if all(w.requirement != text for w in wanted.get(name, [])):
                wanted.setdefault(name, []).append(
                    Want(text, _source(clause, match, where.get(name, []), where))
                )
    return [Conflict(name, wants) for name, wants in wanted.items() if len(wants) > 1]


def _source(
    clause: str,
    match: re.Match[str],
    lines: list[tuple[str, str]],
    lines_of: dict[str, list[tuple[str, str]]],
) -> str:
    parent = re.search(r"(\S+)\s+depends on\s*$", clause[: match.start()])
    if parent:
        named = _PINNED.match(parent.group(1)) or _NAME.match(parent.group(1))
        places = [w for _, w in lines_of.get(canonical(named.group(1)), [])] if named else []
        return f"{parent.group(1)}{' (' + ', '.join(places) + ')' if places else ''} depends on it"
    spec = re.sub(r"\s+", "", match.group(2))
    exact = [where for text, where in lines if text == spec]
    return ", ".join(exact or [where for _, where in lines]) or "the resolver"


def _lines_naming(files: list[Path], root: Path) -> dict[str, list[tuple[str, str]]]:
    """canonical name → [(its specifier as written, "requirements.txt:3"), ...] over the files' lines."""
    found: dict[str, list[tuple[str, str]]] = {}
    for file in files:
        shown = file.relative_to(root).as_posix() if file.is_relative_to(root) else str(file)
        for number, line in enumerate(reqs.read(file).text.splitlines(), 1):
            match = _PINNED.match(line.strip()) or _NAME.match(line)
            if match and not line.lstrip().startswith(("-", "#")):
                spec = match.group(2) if match.re is _PINNED else ""
                found.setdefault(canonical(match.group(1)), []).append((spec, f"{shown}:{number}"))
    return found
