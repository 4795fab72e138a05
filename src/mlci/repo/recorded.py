"""What DVC recorded at a revision: `dvc.lock` and the `.dvc` files, read once per commit.

The report, the data checks and the deploy's model card all ask "which content hash did DVC record
for this path at that commit?". The answer lives in git, so it is read with two git processes per
commit (a tree listing, then one `cat-file --batch` for every file) and kept for the life of the run.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mlci.readers import load_yaml
from mlci.repo.git import git, git_paths

Entry = Mapping[str, Any]


@dataclass(frozen=True)
class Recorded:
    """`dvc.lock` (parsed, `{}` when absent) and every `.dvc` file (path → parsed) at commit `commit`."""

    commit: str
    lock: Mapping[str, Any] = field(default_factory=dict)
    dvc_files: Mapping[str, Entry] = field(default_factory=dict)

    def stages(self) -> Mapping[str, Entry]:
        stages = self.lock.get("stages")
        return stages if isinstance(stages, Mapping) else {}

    def lock_entries(self) -> list[Entry]:
        """Every dep and out of every stage, in dvc.lock's order."""
        return [item for s in self.stages().values() for key in ("deps", "outs") for item in s.get(key) or []]

    def hash_of(self, path: str) -> str | None:
        """The md5 DVC recorded for `path` (repo-relative, POSIX), or for the tracked folder holding it
        (then `md5/inside/path`); None when DVC tracks neither."""
        parts = PurePosixPath(path).parts
        entries = self.lock_entries()
        for end in range(len(parts), 0, -1):
            prefix, inside = "/".join(parts[:end]), "/".join(parts[end:])
            outs = (self.dvc_files.get(prefix + ".dvc") or {}).get("outs") or [{}]
            md5 = outs[0].get("md5")
            if not md5:
                md5 = next((e.get("md5") for e in entries if e.get("path") == prefix and e.get("md5")), None)
            if md5:
                return f"{md5}/{inside}" if inside else str(md5)
        return None


def recorded(root: Path | str, rev: str) -> Recorded:
    """What DVC recorded at `rev` (any name git resolves); read once per commit and run."""
    commit = git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    return _read(str(Path(root).resolve()), commit) if commit else Recorded(rev)


@functools.lru_cache(maxsize=32)
def _read(root: str, commit: str) -> Recorded:

    listing = git_paths(root, "ls-tree", "-r", "--name-only", commit)
    wanted = [p for p in listing if p == "dvc.lock" or p.endswith(".dvc")]
    texts = _cat(root, commit, wanted)
    parsed = {path: load_yaml(text, f"{path} at {commit[:12]}") or {} for path, text in texts.items()}
    lock = parsed.pop("dvc.lock", {})
    files = {path: data for path, data in parsed.items() if isinstance(data, Mapping)}
    return Recorded(commit, lock if isinstance(lock, Mapping) else {}, files)


def _cat(root: str, commit: str, paths: list[str]) -> dict[str, str]:
    """The text of each path at `commit`, in one `git cat-file --batch` process."""
    if not paths:
        return {}
    import subprocess

    request = "".join(f"{commit}:./{path}\n" for path in paths).encode()
    out = subprocess.run(
        ["git", "cat-file", "--batch"], cwd=root, input=request, capture_output=True, check=True
    ).stdout
    texts: dict[str, str] = {}
    pos = 0
    for path in paths:
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].split()
        if len(header) != 3:  # "<name> missing"
            pos = header_end + 1
            continue
        size = int(header[2])
        body = out[header_end + 1 : header_end + 1 + size]
        texts[path] = body.decode("utf-8", errors="replace")
        pos = header_end + 1 + size + 1
    return texts
