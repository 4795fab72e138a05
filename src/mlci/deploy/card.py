"""The model card: what was deployed, from which commit and PR, on which data, with which results."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlci.render import render
from mlci.repo.git import git
from mlci.repo.recorded import Recorded

TEMPLATE = "model_card.md.j2"
_MERGE = re.compile(r"^Merge pull request #(\d+) from (\S+)")
_SQUASH = re.compile(r"\(#(\d+)\)\s*$")


@dataclass(frozen=True)
class DataVersion:
    path: str
    md5: str
    size: int | None = None
    nfiles: int | None = None


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str = ""
    merged_by: str = ""
    url: str = ""


@dataclass(frozen=True)
class GateLine:
    metric: str
    passed: bool
    value: float | None
    reason: str


@dataclass
class Card:
    name: str
    version: str
    stage: str
    commit: str
    description: str = ""
    repository: str = ""
    run_url: str = ""
    server_url: str = "https://github.com"
    subject: str = ""
    author: str = ""
    pr: PullRequest | None = None
    data: list[DataVersion] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    gates: list[GateLine] = field(default_factory=list)
    rollback_from: str = ""

    def render(self, repo_root: Path | str) -> str:
        return render(TEMPLATE, repo_root=repo_root, card=self)


def commit_facts(root: Path | str, rev: str) -> tuple[str, str]:
    """The commit's subject and author name."""
    out = git(root, "show", "-s", "--format=%s%x00%an", rev)
    subject, _, author = out.partition("\0")
    return subject, author


def pull_request(
    subject: str, event: Mapping[str, Any], server_url: str, repository: str
) -> PullRequest | None:
    """The merged PR, from the merge commit's subject ("Merge pull request #N" or "Title (#N)")."""
    merge, squash = _MERGE.match(subject), _SQUASH.search(subject)
    if not (merge or squash):
        return None
    number = int((merge or squash).group(1))  # type: ignore[union-attr]
    title = _SQUASH.sub("", subject).strip() if squash else ""
    pusher = event.get("pusher") if isinstance(event.get("pusher"), Mapping) else {}
    sender = event.get("sender") if isinstance(event.get("sender"), Mapping) else {}
    merged_by = str((sender or {}).get("login") or (pusher or {}).get("name") or "")
    url = f"{server_url}/{repository}/pull/{number}" if repository else ""
    return PullRequest(number, title, merged_by, url)


def data_versions(recorded: Recorded, exclude: str = "") -> list[DataVersion]:
    """The data the pipeline read: stage inputs that DVC tracks (not code), and `.dvc`-tracked files.

    `exclude` drops the model artifact itself (an input of the evaluation stage).
    """
    stages = recorded.stages()
    tracked = {str(o.get("path")) for s in stages.values() for o in (s.get("outs") or [])}
    entries: dict[str, Mapping[str, Any]] = {}
    for stage in stages.values():
        for item in stage.get("deps") or []:
            entries.setdefault(str(item.get("path")), item)
    for dvcfile, meta in recorded.dvc_files.items():
        folder = Path(dvcfile).parent
        for out in meta.get("outs") or []:
            path = (folder / str(out.get("path"))).as_posix()
            entries[path] = out
            tracked.add(path)
    return [
        DataVersion(path, str(item.get("md5", "")), item.get("size"), item.get("nfiles"))
        for path, item in sorted(entries.items())
        if item.get("md5") and path != exclude and any(_inside(path, t) for t in tracked)
    ]


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def lock_params(lock: Mapping[str, Any], stages: Iterable[str] = ()) -> dict[str, Any]:
    """The params the stages ran with, as dotted keys (`file:key` outside params.yaml)."""
    wanted = set(stages)
    flat: dict[str, Any] = {}
    for name, stage in (lock.get("stages") or {}).items():
        if wanted and name not in wanted:
            continue
        for file, values in (stage.get("params") or {}).items():
            prefix = "" if file == "params.yaml" else f"{file}:"
            _flatten(values, prefix, flat)
    return dict(sorted(flat.items()))


def _flatten(value: Any, prefix: str, into: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            sep = "" if not prefix or prefix.endswith(":") else "."
            _flatten(inner, f"{prefix}{sep}{key}", into)
    else:
        into[prefix] = value
