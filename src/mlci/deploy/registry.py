"""The model registry: git tags in GTO's grammar, so `gto show` and mlci read the same registry.

`NAME@vX.Y.Z` (annotated) registers a version on a commit, `NAME#STAGE#N` assigns a stage to the
version on that commit; the assignment with the latest tag time (then the highest N) is current.
Tag names are parsed with GTO's own grammar, but the tags are read with one `git for-each-ref`:
on 1,000 registry tags `gto.api.show` took 8-16 s, `find_stage` here 0.12 s (bench/registry_tags.py).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import semver

from mlci.errors import MlciError
from mlci.repo.git import GitError, failed, git, git_run, is_shallow

Bump = Literal["major", "minor", "patch"]
BOT_NAME = "github-actions[bot]"  # the tagger when git has no identity (a fresh runner)
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
_FORMAT = "%(refname:strip=2)%00%(objecttype)%00%(*objectname)%00%(objectname)%00%(taggerdate:unix)"


@dataclass(frozen=True)
class RegistryEntry:
    """A registered version; for a stage lookup, the version currently in that stage."""

    name: str
    version: str
    commit: str
    created_at: datetime
    tag: str = ""


@dataclass(frozen=True)
class Event:
    """One registry tag, parsed."""

    tag: str
    name: str
    action: str  # register | deregister | assign | unassign | deprecate
    commit: str
    created_at: datetime
    version: str = ""
    stage: str = ""
    counter: int = 0

    @property
    def order(self) -> tuple[datetime, int]:
        return (self.created_at, self.counter)


@dataclass
class Model:
    """Everything the tags say about one model."""

    name: str
    events: list[Event] = field(default_factory=list)

    def versions(self) -> list[RegistryEntry]:
        """Registered, not deregistered versions, oldest version number first."""
        dropped = {e.version for e in self.events if e.action == "deregister"}
        found = [
            RegistryEntry(self.name, e.version, e.commit, e.created_at, e.tag)
            for e in self.events
            if e.action == "register" and e.version not in dropped
        ]
        return sorted(found, key=lambda entry: precedence(entry.version))

    def version_at(self, commit: str) -> RegistryEntry | None:
        return next((v for v in self.versions() if v.commit == commit), None)

    def stage_history(self, stage: str) -> list[RegistryEntry]:
        """The versions assigned to `stage`, newest assignment first (entries carry the tag time). As in
        GTO, a deregistered version's assignments go with it: the stage falls back to the one before."""
        history: list[RegistryEntry] = []
        unassigned: set[str] = set()
        by_commit = {v.commit: v.version for v in self.versions()}  # once: a lookup per event was O(n²)
        dropped = self._deregistered_commits() - set(by_commit)
        for event in sorted(self.events, key=lambda e: e.order, reverse=True):
            if event.stage != stage or event.commit in dropped:
                continue
            label = by_commit.get(
                event.commit, event.commit
            )  # GTO: an unregistered commit is its own version
            if event.action == "unassign":
                unassigned.add(label)
            elif event.action == "assign" and label not in unassigned:
                history.append(RegistryEntry(self.name, label, event.commit, event.created_at, event.tag))
        return history

    def _deregistered_commits(self) -> set[str]:
        gone = {e.version for e in self.events if e.action == "deregister"}
        return {e.commit for e in self.events if e.action == "register" and e.version in gone}

    def stage(self, stage: str) -> RegistryEntry | None:
        history = self.stage_history(stage)
        return history[0] if history else None

    def stages(self) -> list[str]:
        return sorted({e.stage for e in self.events if e.stage})

    def used_versions(self) -> set[str]:
        """Every version a tag ever named, deregistered ones included: none is ever reused."""
        return {e.version for e in self.events if e.version}

    def next_counter(self) -> int:
        return max((e.counter for e in self.events), default=0) + 1

    def last_event_time(self) -> datetime | None:
        return max((e.created_at for e in self.events), default=None)


def precedence(version: str) -> semver.Version:
    """`vX.Y.Z[-pre][+build]` as a SemVer version, ordered by SemVer precedence (`1.0.0-rc.9` <
    `1.0.0-rc.10` < `1.0.0`). GTO registers only valid SemVer; anything else sorts first."""
    try:
        return semver.Version.parse(version.removeprefix("v"))
    except ValueError:
        return semver.Version(0, 0, 0, prerelease="0")


def bump_version(used: set[str], bump: Bump = "patch") -> str:
    """The next version after the greatest one ever used."""
    if not used:
        return "v0.0.1"
    greatest = max(precedence(v) for v in used)
    major, minor, patch = greatest.major, greatest.minor, greatest.patch
    if bump == "major":
        return f"v{major + 1}.0.0"
    if bump == "minor":
        return f"v{major}.{minor + 1}.0"
    return f"v{major}.{minor}.{patch + 1}"


# --- the tag grammar: composed and parsed side by side -------------------------------------------


def tag_prefix(name: str) -> str:
    """The model name as GTO writes it in a tag (a ":" in a name becomes "=")."""
    from gto.constants import name_to_tag

    return str(name_to_tag(name))  # type: ignore[no-untyped-call]


def version_tag(name: str, version: str) -> str:
    """`NAME@vX.Y.Z`: registers `version` (with its leading "v") of model `name`."""
    return f"{tag_prefix(name)}@{version}"


def stage_tag(name: str, stage: str, counter: int) -> str:
    """`NAME#STAGE#N`: the N-th assignment of `stage` to the version on the tagged commit."""
    return f"{tag_prefix(name)}#{stage}#{counter}"


@functools.lru_cache(maxsize=4096)
def parse_tag(tag: str) -> dict[str, Any]:
    """A tag name read with GTO's own grammar (`name`, `action`, `version`, `stage`, `counter`);
    empty when the tag is not a registry tag. Each name is parsed once per run (a deploy reads the
    registry again after each fetch). GTO is imported here: it costs ~0.3 s. Treat the result as read-only."""

    from gto.tag import parse_name

    parsed: dict[str, Any] = parse_name(tag, raise_on_fail=False) or {}
    return parsed


# --- reading ------------------------------------------------------------------------------------


def read_events(root: Path | str) -> list[Event]:
    """Every annotated tag in GTO's grammar; lightweight tags are ignored, as GTO does."""
    events: list[Event] = []
    for line in git(root, "for-each-ref", "refs/tags", f"--format={_FORMAT}").splitlines():
        tag, kind, peeled, _, when = line.split("\0")
        if kind != "tag" or not when:
            continue
        parsed = parse_tag(tag)
        if not parsed:
            continue
        events.append(
            Event(
                tag=tag,
                name=str(parsed["name"]),
                action=str(parsed["action"].value),
                commit=peeled,
                created_at=datetime.fromtimestamp(int(when), tz=timezone.utc),
                version=str(parsed.get("version", "")),
                stage=str(parsed.get("stage", "")),
                counter=int(parsed.get("counter", 0)),
            )
        )
    return events


def load(root: Path | str) -> dict[str, Model]:
    models: dict[str, Model] = {}
    for event in read_events(root):
        models.setdefault(event.name, Model(event.name)).events.append(event)
    deprecated = {name for name, m in models.items() if any(e.action == "deprecate" for e in m.events)}
    return {name: models[name] for name in sorted(models) if name not in deprecated}


def model(root: Path | str, name: str) -> Model:
    return load(root).get(name) or Model(name)


def list_versions(root: Path | str, name: str) -> list[RegistryEntry]:
    """The registered versions of `name`, lowest version first."""
    return model(root, name).versions()


def find_stage(root: Path | str, name: str, stage: str) -> RegistryEntry | None:
    """The version of `name` currently in `stage`, or None."""
    return model(root, name).stage(stage)


def fetch_tags(root: Path | str, remote: str = "origin", *, required: bool = False) -> bool:
    """Bring the remote's registry tags in (`--force`: the remote's tags win over stale local ones).

    A shallow clone has no tags at all: showing its registry would be wrong, so there the fetch is
    required; elsewhere a missing remote only means a local registry.
    """
    shallow = is_shallow(root)
    required = required or shallow
    if remote not in git(root, "remote").split():
        if required:
            why = "this clone is shallow and has" if shallow else "this repository has"
            raise MlciError(
                f"{why} no '{remote}' remote to fetch the registry tags from",
                "add the remote, or set deploy.remote in mlci.yaml; in Actions check out with `fetch-depth: 0`",
            )
        return False
    try:
        git(root, "fetch", "--quiet", "--tags", "--force", remote)
    except GitError as exc:
        if required:
            raise MlciError(
                f"could not fetch the registry tags from '{remote}': {exc.message}",
                "check the remote and its credentials; a partial registry is never shown",
            ) from None
        return False
    return True


# --- writing ------------------------------------------------------------------------------------


def check_name(name: str, what: str = "model name") -> None:
    """Names must fit GTO's grammar, or the tags written for them would not be read back (by GTO or mlci)."""
    from gto.constants import fullname_re, name_re

    pattern = fullname_re if what == "model name" else name_re
    if not pattern.fullmatch(name):
        raise MlciError(
            f"{what} {name!r} cannot be used in a registry tag",
            "use letters, digits, '-', '_' and '/' inside, starting and ending with a letter or digit "
            "(GTO's naming rules)",
        )


def check_stage(root: Path | str, stage: str) -> None:
    """A valid stage name, and one of the `stages` a GTO config (`.gto`) allows, when it lists any."""

    from mlci.readers import read_yaml

    check_name(stage, "stage")
    path = Path(root) / ".gto"
    try:
        config = read_yaml(path, ".gto") if path.is_file() else None
    except MlciError:
        raise MlciError(
            ".gto is not valid YAML", "fix it, or delete it if you do not use GTO's config"
        ) from None
    allowed = config.get("stages") if isinstance(config, dict) else None
    if isinstance(allowed, list) and stage not in allowed:
        raise MlciError(
            f"stage '{stage}' is not one of the stages .gto allows: {', '.join(map(str, allowed))}",
            "pass --stage with one of them, or add it to `stages` in .gto",
        )


@dataclass(frozen=True)
class NewTag:
    name: str
    commit: str
    message: str


def create_tags(root: Path | str, tags: Sequence[NewTag], after: datetime | None) -> datetime:
    """Annotated tags, dated strictly after the model's last event so their order is never a tie;
    returns their date (whole seconds, UTC, as git records it)."""
    env = dict(os.environ)
    if not (env.get("GIT_COMMITTER_EMAIL") or git(root, "config", "user.email", check=False)):
        env.update(GIT_COMMITTER_NAME=BOT_NAME, GIT_COMMITTER_EMAIL=BOT_EMAIL)  # a CI runner has no identity
    now = datetime.now(timezone.utc).timestamp()
    stamp = max(now, after.timestamp() + 1) if after else now
    env["GIT_COMMITTER_DATE"] = f"@{int(stamp)} +0000"
    made: list[str] = []
    try:
        for tag in tags:
            _git_env(root, env, "tag", "-a", tag.name, tag.commit, "-m", tag.message)
            made.append(tag.name)
    except GitError:
        delete_local(root, made)
        raise
    return datetime.fromtimestamp(int(stamp), tz=timezone.utc)


def delete_local(root: Path | str, names: Sequence[str]) -> None:
    for name in names:
        git(root, "tag", "-d", name, check=False)


def push_tags(root: Path | str, names: Sequence[str], remote: str) -> str:
    """Push all the tags or none (`--atomic`); the remote's refusal as text, "" when pushed."""
    refs = [f"refs/tags/{n}" for n in names]
    try:
        git(root, "push", "--quiet", "--atomic", remote, *refs)
    except GitError as exc:
        return exc.message
    return ""


def remote_has_tags(root: Path | str, names: Sequence[str], remote: str) -> bool:
    refs = [f"refs/tags/{n}" for n in names]
    return bool(git(root, "ls-remote", "--tags", remote, *refs, check=False))


def has_remote(root: Path | str, remote: str) -> bool:
    return remote in git(root, "remote").split()


def _git_env(root: Path | str, env: dict[str, str], *args: str) -> None:
    proc = git_run(root, *args, env=env)
    if proc.returncode != 0:
        raise failed(args, proc)
