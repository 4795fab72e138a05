"""`type: local`: a versioned store DIR/NAME/VERSION/ with an atomically switched `current` symlink."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from mlci.deploy.targets.base import Delivery, Target, sha256_of
from mlci.errors import MlciError
from mlci.fsutil import write_text_atomic
from mlci.readers import read_json

CARD_FILE = "MODEL_CARD.md"
META_FILE = "metadata.json"


@dataclass(frozen=True)
class LocalConfig:
    """`deploy.targets.<name>` of `type: local`."""

    dir: str = ".mlci/deployments"  # the store; relative to the repository root unless absolute

    def open(self, name: str, root: Path) -> Target:
        return LocalTarget(root / self.dir if not Path(self.dir).is_absolute() else Path(self.dir))


@dataclass(frozen=True)
class LocalTarget:
    store: Path
    splits_traffic: bool = False  # one `current` version: no canary

    def deliver(self, delivery: Delivery) -> str:
        model_dir = self.store / delivery.name
        final = model_dir / delivery.version
        try:
            model_dir.mkdir(parents=True, exist_ok=True)
            if not _holds(final, delivery.sha256):
                self._stage_version(model_dir, final, delivery)
            switch_current(model_dir, delivery.version)
        except OSError as exc:
            if exc.errno not in _FULL:
                raise
            raise _disk_full(model_dir, delivery) from None
        return str(final)

    def activate(self, delivery: Delivery) -> None:
        """Nothing left to switch: `deliver` switched `current` already."""

    @staticmethod
    def _stage_version(model_dir: Path, final: Path, delivery: Delivery) -> None:
        # Build the version folder aside, in a staging folder of this run alone, then rename it in.
        # Several runs may deliver the same version at once: none touches another's staging folder,
        # and whichever renames first wins (the others find the same sha256 in place). A crash leaves
        # only a staging folder, which a later delivery removes once its run is gone.
        _clear_stale_staging(model_dir, delivery.version)
        work = Path(tempfile.mkdtemp(prefix=_staging_prefix(delivery.version), dir=model_dir))
        try:
            dest = work / delivery.artifact.name
            if delivery.artifact.is_dir():
                shutil.copytree(delivery.artifact, dest)
            else:
                shutil.copyfile(delivery.artifact, dest)
            if sha256_of(dest) != delivery.sha256:
                raise MlciError(f"the copy of {delivery.artifact.name} does not match its sha256")
            write_text_atomic(work / CARD_FILE, delivery.card)
            write_text_atomic(work / META_FILE, json.dumps(delivery.metadata(), indent=2) + "\n")
            _readable(work)
            _move_in(work, final, delivery.sha256)
        finally:
            shutil.rmtree(work, ignore_errors=True)  # gone already when it was renamed in


_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _disk_full(model_dir: Path, delivery: Delivery) -> MlciError:
    """The local store's disk is full: an environment error naming the path and the space needed.
    The staging folder is gone and `current` was not switched: the live version is unchanged."""
    artifact = delivery.artifact
    files = [artifact] if artifact.is_file() else [p for p in artifact.rglob("*") if p.is_file()]
    needed = sum(p.stat().st_size for p in files) + len(delivery.card.encode()) + 4096
    top = next((p for p in [model_dir, *model_dir.parents] if p.exists()), Path("/"))
    free = shutil.disk_usage(top).free
    return MlciError(
        f"no space left at the local deploy target {model_dir}: {delivery.name} {delivery.version} needs "
        f"about {needed:,} bytes there, {free:,} are free; nothing was switched, the live version is unchanged",
        "free space on that disk (or point the target's `dir` in mlci.yaml at a larger one), then run the "
        "job again: the rerun delivers this version",
    )


_STAGING = "stage"
_STALE_ELSEWHERE = 24 * 3600.0  # a staging folder of another host (a shared store) this old is debris


def _host() -> str:
    import socket

    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:64] or "host"


def _staging_prefix(version: str, pid: int | None = None) -> str:
    """`.VERSION.stage-HOST-PID-` (mkdtemp adds a random tail without '-'): whose folder it is."""
    return f".{version}.{_STAGING}-{_host()}-{os.getpid() if pid is None else pid}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _clear_stale_staging(model_dir: Path, version: str) -> None:
    """Remove staging folders of `version` whose run is gone: on this host, a process that no longer
    exists; another host's (a shared store), after a day; a folder of an older mlci, after an hour."""
    here, now = _host(), time.time()
    for folder in model_dir.glob(f".{version}.*"):
        tail = folder.name[len(version) + 2 :]
        try:
            age = now - folder.lstat().st_mtime
        except FileNotFoundError:  # its run just moved it in or removed it
            continue
        parts = tail.split("-")
        if parts[0] == _STAGING and len(parts) >= 4 and parts[-2].isdigit():
            host, pid = "-".join(parts[1:-2]), int(parts[-2])
            stale = not _alive(pid) if host == here else age > _STALE_ELSEWHERE
        else:
            stale = age > 3600.0
        if stale:
            shutil.rmtree(folder, ignore_errors=True)


def _move_in(work: Path, final: Path, sha256: str) -> None:
    """Rename the staged `work` to `final`; when another run got there first with the same sha256,
    keep theirs. An earlier, different copy under this version is swapped out by renames, never
    deleted in place (a reader sees the old or the new folder, never a half-deleted one)."""
    for _ in range(3):
        try:
            os.rename(work, final)
            return
        except OSError:  # `final` exists and is not empty
            if _holds(final, sha256):
                return
        aside = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
        with contextlib.suppress(FileNotFoundError):
            os.replace(final, aside / final.name)
        shutil.rmtree(aside, ignore_errors=True)
    raise MlciError(f"{final} keeps being replaced by another delivery of this version with other bytes")


def _readable(folder: Path) -> None:
    """mkdtemp/mkstemp make owner-only entries; a served model must be readable by its server."""
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _holds(folder: Path, sha256: str) -> bool:
    try:
        meta = read_json(folder / META_FILE, META_FILE)
    except (OSError, ValueError, MlciError):
        return False
    return isinstance(meta, dict) and meta.get("sha256") == sha256


def switch_current(model_dir: Path, version: str) -> None:
    """Point `current` at `version`: a new symlink renamed over the old one (atomic on POSIX)."""
    temp = model_dir / f".current.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    os.symlink(version, temp)
    os.replace(temp, model_dir / "current")


def current_version(store: Path, name: str) -> str | None:
    link = store / name / "current"
    return os.readlink(link) if link.is_symlink() else None
