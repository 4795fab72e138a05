"""Read a CSV/Parquet file or folder in chunks, from the workspace or at a git revision via DVC."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from mlci.datasets import is_tabular
from mlci.errors import MlciError
from mlci.safety import one_line


class DataMissing(MlciError):
    """The dataset does not exist at that revision (a PR that adds it has no base)."""


def iter_chunks(root: Path, path: str, rev: str | None, chunk_rows: int) -> Iterator[tuple[str, int, Any]]:
    """(file, first data row number, pandas chunk) for every chunk of every file of `path`."""
    with ExitStack() as stack:
        for name, opener in _files(root, path, rev):
            handle = stack.enter_context(opener())
            first = 1
            for chunk in _read(handle, name, chunk_rows):
                yield name, first, chunk
                first += len(chunk)


def _files(root: Path, path: str, rev: str | None) -> list[tuple[str, Any]]:
    where = f" at {rev[:12]}" if rev else ""
    if rev is None:
        target = root / path
        if target.is_dir():
            files = sorted(p for p in target.rglob("*") if p.is_file() and is_tabular(p.name))
            names = [p.relative_to(root).as_posix() for p in files]
        elif target.is_file():
            names = [path]
        else:
            raise DataMissing(f"{path} does not exist", "run `dvc pull` to get the data, or fix the path")
        return [(name, lambda n=name: open(root / n, "rb")) for name in names]
    from dvc.api import DVCFileSystem

    fs = DVCFileSystem(str(root), rev=rev)
    if not fs.exists(path):
        raise DataMissing(f"{path} does not exist{where}")
    names = sorted(f for f in fs.find(path) if is_tabular(f)) if fs.isdir(path) else [path]
    return [(name.lstrip("/"), lambda n=name: fs.open(n, "rb")) for name in names]


def _read(handle: IO[bytes], name: str, chunk_rows: int) -> Iterator[Any]:
    import pandas as pd

    try:
        if name.lower().endswith(".csv"):
            yield from pd.read_csv(handle, chunksize=chunk_rows)
        else:
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(handle).iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
    except (ValueError, OSError) as exc:  # pandas' ParserError and pyarrow's errors are ValueErrors
        raise MlciError(
            f"cannot read {name}: {one_line(exc)}", "check that the file is valid CSV or Parquet"
        ) from None
