"""The DVC steps of a retrain, run in-process (one import instead of a `dvc` start-up per step)."""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlci.errors import MlciError
from mlci.safety import one_line


@contextlib.contextmanager
def _repo(work: Path, doing: str, hint: str, remote: bool = False) -> Iterator[Any]:
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    # DVC logs progress and warnings itself; the command says what happened in its own words
    logging.getLogger("dvc").setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), Repo(str(work)) as repo:
            yield repo
    except DvcException as exc:
        from mlci.repo import dvcfiles

        dvcfiles.raise_user_file_error(exc)
        cause = f": {one_line(exc.__cause__)}" if exc.__cause__ else ""
        raise MlciError(f"{doing} failed: {one_line(exc)}{cause}", hint) from None
    except Exception as exc:
        # A remote's storage backend raises its own errors (OSError, botocore, HTTP …) straight through
        # DVC's API; they are about the remote or its credentials, which the user fixes, not bugs here.
        if not remote and not isinstance(exc, OSError):
            raise
        raise MlciError(f"{doing} failed: {type(exc).__name__}: {one_line(exc)}", hint) from None


def _at(work: Path, relative: str) -> str:
    """DVC resolves targets against the process's working folder, not the repo: give it full paths."""
    return str(work / relative)


def materialize(root: Path, work: Path, dataset: str) -> None:
    """Put the dataset into the scratch checkout: a copy from the repo's own DVC cache when it is there
    (no DVC start-up at all), else `dvc pull` (a fresh CI clone: from the remote)."""
    from mlci.retrain.update import pointer_md5

    md5 = pointer_md5((work / f"{dataset}.dvc").read_text(encoding="utf-8"))
    cached = root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:] if len(md5) == 32 else None
    if cached is not None and cached.is_file() and not _custom_cache(root):
        shutil.copyfile(cached, work / dataset)
        return
    pull(work, dataset)


def _custom_cache(root: Path) -> bool:
    return any(
        "[cache]" in path.read_text(encoding="utf-8")
        for path in (root / ".dvc" / "config", root / ".dvc" / "config.local")
        if path.is_file()
    )


def pull(work: Path, dataset: str) -> None:
    """Bring the dataset into the scratch checkout (from the shared cache, else the remote)."""
    with _repo(
        work, f"dvc pull {dataset}", "check that `dvc pull` works here (remote and credentials)"
    ) as repo:
        repo.pull(targets=[_at(work, f"{dataset}.dvc")])


def add(work: Path, dataset: str) -> None:
    with _repo(work, f"dvc add {dataset}", "check the dataset file and the DVC cache") as repo:
        repo.add([_at(work, dataset)])


def update(work: Path, dataset: str) -> None:
    """`dvc update`: fetch the newest version of imported data."""
    hint = "mode `update` is for data brought in with `dvc import` or `dvc import-url`"
    with _repo(work, f"dvc update {dataset}.dvc", hint, remote=True) as repo:
        repo.update(targets=[_at(work, f"{dataset}.dvc")])


def push(work: Path, dataset: str, remote: str = "") -> None:
    """Upload the new data so the pull request can be reproduced by anyone (CI included)."""
    hint = "check that `dvc push` works in this job: a default DVC remote (`dvc remote list`), its URL and credentials"
    with _repo(work, f"dvc push {dataset}.dvc", hint, remote=True) as repo:
        repo.push(targets=[_at(work, f"{dataset}.dvc")], remote=remote or None)
