"""Register a version and assign a stage, safely against a concurrent deploy.

Each write is: fetch the remote's tags, compute the tag names from that state, create them locally,
`git push --atomic`. When the remote refuses (another run pushed the same tag name first), the local
tags are deleted and the whole step runs again on the new state, so no tag is ever reused and none
is left half-pushed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mlci.deploy.registry import (
    Bump,
    Model,
    NewTag,
    RegistryEntry,
    bump_version,
    create_tags,
    delete_local,
    fetch_tags,
    has_remote,
    model,
    push_tags,
    remote_has_tags,
    stage_tag,
    version_tag,
)
from mlci.errors import MlciError
from mlci.repo.git import git

ATTEMPTS = 5


@dataclass(frozen=True)
class Promotion:
    version: RegistryEntry
    tags: tuple[str, ...]  # tags this run created (empty on a re-run)
    reused: bool  # the commit was registered already


def register(
    root: Path, name: str, commit: str, *, bump: Bump = "patch", remote: str = "origin"
) -> Promotion:
    """The version on `commit`: the existing one (a re-run), else the next free one."""

    planned: list[str] = []

    def plan(state: Model) -> list[NewTag]:
        planned.clear()
        if state.version_at(commit):
            return []
        version = bump_version(state.used_versions(), bump)
        planned.append(version)
        message = f"Registering artifact {name} version {version}"
        return [NewTag(version_tag(name, version), commit, message)]

    tags, state, stamp = _write(root, name, plan, remote)
    entry = state.version_at(commit)
    if tags and stamp:  # what this run just tagged: no need to read the registry again
        entry = RegistryEntry(name, planned[0], commit, stamp, tags[0])
    assert entry is not None, "registered above, or already registered"
    return Promotion(entry, tuple(tags), reused=not tags)


@dataclass(frozen=True)
class Assignment:
    tags: tuple[str, ...]  # tags this run created (empty: already current, or superseded)
    superseded_by: RegistryEntry | None = None  # forward_only: the later version that holds the stage


ROLLBACK_RUN = "mlci-rollback-run"  # a trailer in a rollback's stage tag message: the workflow run's id


def assign(
    root: Path,
    name: str,
    commit: str,
    stage: str,
    *,
    remote: str = "origin",
    forward_only: bool = False,
    rollback_run: str = "",
) -> Assignment:
    """Make the version on `commit` current in `stage` (a new `NAME#STAGE#N` tag unless it already is).

    forward_only (deploys): never move the stage from a later commit back to this one. The check runs
    on the freshly fetched state inside the push loop, so two racing deploys cannot both win.
    rollback_run: the workflow run of a rollback, recorded in the tag's message (after GTO's line) so a
    re-run of that run finishes this rollback instead of rolling back once more.
    """
    newer: list[RegistryEntry] = []

    def plan(state: Model) -> list[NewTag]:
        newer.clear()
        version = state.version_at(commit)
        if version is None:
            raise MlciError(f"no version of '{name}' is registered on commit {commit[:12]}")
        current = state.stage(stage)
        if current and current.commit == commit:
            return []
        if forward_only and current and _is_ancestor(root, commit, current.commit):
            newer.append(current)
            return []
        message = f"Assigning stage {stage} to artifact {name} version {version.version}"
        if rollback_run:
            message += f"\n\n{ROLLBACK_RUN}: {rollback_run}"
        return [NewTag(stage_tag(name, stage, state.next_counter()), commit, message)]

    tags, _, _ = _write(root, name, plan, remote)
    return Assignment(tuple(tags), newer[0] if newer else None)


def rolled_back_by(root: Path, tag: str) -> str:
    """The workflow run id a rollback recorded in stage tag `tag`'s message, or "" (a deploy's tag)."""
    text = git(root, "for-each-ref", f"refs/tags/{tag}", "--format=%(contents)", check=False)
    found = re.search(rf"^{ROLLBACK_RUN}: (\S+)$", text, re.M)
    return found.group(1) if found else ""


def newer_in_stage(root: Path, name: str, commit: str, stage: str) -> RegistryEntry | None:
    """The stage's version when it sits on a later commit than `commit`, else None.

    A re-run of an old workflow run must not move the stage back; going back is `mlci rollback`.
    """
    current = model(root, name).stage(stage)
    if current is None or current.commit == commit:
        return None
    return current if _is_ancestor(root, commit, current.commit) else None


def _is_ancestor(root: Path, older: str, newer: str) -> bool:
    return bool(older != newer and git(root, "merge-base", older, newer, check=False) == older)


def _write(
    root: Path, name: str, plan: Callable[[Model], list[NewTag]], remote: str
) -> tuple[list[str], Model, datetime | None]:
    """Plan on the freshly fetched registry, tag, push; recompute when a concurrent run won the race.
    Returns the tags pushed, the state they were planned on, and their date."""
    pushing = has_remote(root, remote)
    for _ in range(ATTEMPTS):
        if pushing:
            fetch_tags(root, remote, required=True)
        state = model(root, name)
        tags = plan(state)
        if not tags:
            return [], state, None
        stamp = create_tags(root, tags, state.last_event_time())
        names = [t.name for t in tags]
        refused = push_tags(root, names, remote) if pushing else ""
        if not refused:
            return names, state, stamp
        delete_local(root, names)
        if not remote_has_tags(root, names, remote):  # not a race: git's own reason
            raise MlciError(
                f"could not push the registry tags {', '.join(names)} to '{remote}': {refused}",
                _push_hint(refused),
            )
        # someone else pushed these names first: recompute on their state
    raise MlciError(
        f"could not push the registry tags of '{name}' after {ATTEMPTS} attempts: other runs kept "
        "tagging at the same time",
        "give the deploy job a `concurrency` group per model and environment, then re-run it",
    )


_DENIED = ("403", "denied", "permission", "not allowed", "authentication", "could not read username")


def _push_hint(refused: str) -> str:
    """Blame permissions only when git's words say so; otherwise the push did not get through."""
    if any(word in refused.lower() for word in _DENIED):
        return "the job needs `contents: write` and a checkout that keeps its credentials"
    return (
        "the push did not get through (network or server trouble); run the job again: it picks up from here"
    )
