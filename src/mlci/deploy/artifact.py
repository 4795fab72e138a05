"""The model artifact in DVC: make sure the remote has it, and read it back at any commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlci.errors import MlciError
from mlci.repo import dvcfiles
from mlci.safety import one_line


def ensure_pushed(root: Path, path: str, remote: str = "") -> str:
    """Check `dvc status -c` for the output; push it when only the local cache has it.

    Returns "in-remote" or "pushed". A deploy must never point at bytes the remote lacks: a rollback
    or another runner could not fetch them.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    from mlci.repo.remote import diagnose, ensure_reachable, explain_exception, lacks

    ensure_reachable(root, remote)  # in seconds, before DVC's status would retry an unreachable remote
    target = str(root / path)
    try:
        with Repo(str(root)) as repo:
            status = repo.status(targets=[target], cloud=True, remote=remote or None)
            states = set(_states(status))
            if not states or states == {"deleted"}:  # "deleted": only the remote has it
                return "in-remote"
            if "missing" in states:  # DVC says so for a remote it could not reach, too: ask the remote
                raise lacks(root, f"the artifact {path} of this commit", remote)
            repo.push(targets=[target], remote=remote or None)
            return "pushed"
    except MlciError:
        raise
    except Exception as exc:  # DVC's, or the cloud SDK's own (PermissionError, PartialCredentialsError...)
        failure = diagnose(root, remote) or explain_exception(root, exc, "checking the artifact")
        if failure is not None:
            raise failure from None
        if not isinstance(exc, DvcException):
            raise  # not the remote's, not the project's: a bug (exit 3)
        dvcfiles.raise_user_file_error(exc)
        raise MlciError(
            f"DVC could not check {path} against its remote: {one_line(exc)}",
            f"is `{path}` an output in dvc.yaml (or a .dvc file), and is a DVC remote configured?",
        ) from None


def _states(status: Any) -> list[str]:
    found: list[str] = []
    if isinstance(status, dict):
        for value in status.values():
            found.extend(_states(value) if isinstance(value, dict) else [str(value)])
    return found


def fetch(root: Path, path: str, rev: str, dest: Path, remote: str = "") -> Path:
    """Read `path` as it was at commit `rev` (from the cache, else the DVC remote) into `dest`."""
    from dvc.api import DVCFileSystem
    from dvc.exceptions import DvcException

    from mlci.repo.remote import offline_config

    dest.mkdir(parents=True, exist_ok=True)
    local = dest / Path(path).name
    # an unreachable remote: the local cache alone, and the probe's error for what it lacks
    config = offline_config(root, remote) or ({"core": {"remote": remote}} if remote else None)
    try:
        fs = DVCFileSystem(str(root), rev=rev, config=config)
        if not fs.exists(path):
            _raise_remote_failure(root, path, rev, remote)
            raise MlciError(
                f"{path} is not tracked at commit {rev[:12]}",
                "check `models.<name>.path` in mlci.yaml: it must be a DVC output",
            )
        fs.get(path, str(local), recursive=fs.isdir(path))
    except DvcException as exc:
        dvcfiles.raise_user_file_error(exc)
        _raise_remote_failure(root, path, rev, remote)
        raise MlciError(
            f"could not read {path} at commit {rev[:12]} from DVC: {one_line(exc)}",
            "was it pushed to the DVC remote? (`dvc push`), and does the job have the remote's credentials?",
        ) from None
    except FileNotFoundError as exc:
        _raise_remote_failure(root, path, rev, remote)
        raise MlciError(
            f"the DVC remote has no copy of {path} at commit {rev[:12]}: {one_line(exc)}",
            "push it from a checkout of that commit: `dvc push`",
        ) from None
    return local


def _raise_remote_failure(root: Path, path: str, rev: str, remote: str) -> None:
    from mlci.repo.remote import read_failure

    failure = read_failure(root, path, rev, remote)
    if failure is not None:
        raise failure
