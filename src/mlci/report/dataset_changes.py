"""DVC-tracked data and models at two revisions: what changed, by how many bytes and files.

The facts come from the .dvc files and dvc.lock (md5, size, nfiles), so nothing is downloaded.
Metrics and plots outputs are left out: the report shows them in their own sections.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from mlci.repo.revision import TrackedOut

DataStatus = Literal["modified", "added", "removed"]


@dataclass(frozen=True)
class DataRow:
    path: str
    status: DataStatus
    base_md5: str
    head_md5: str
    base_size: int | None
    head_size: int | None
    base_files: int | None  # folders only
    head_files: int | None

    @property
    def size_change(self) -> int | None:
        if self.base_size is None and self.head_size is None:
            return None
        return (self.head_size or 0) - (self.base_size or 0)

    @property
    def files_change(self) -> int | None:
        if self.base_files is None and self.head_files is None:
            return None
        return (self.head_files or 0) - (self.base_files or 0)


def diff_data(base: Mapping[str, TrackedOut], head: Mapping[str, TrackedOut]) -> list[DataRow]:
    """Tracked data whose content differs between the revisions, sorted by path."""
    rows: list[DataRow] = []
    for path in sorted(set(base) | set(head)):
        old, new = _produced(base.get(path)), _produced(head.get(path))
        if old is None and new is None:
            continue
        if (old and old.kind != "data") or (new and new.kind != "data"):
            continue
        if old and new and old.md5 == new.md5:
            continue
        status: DataStatus = "added" if old is None else "removed" if new is None else "modified"
        rows.append(
            DataRow(
                path=path,
                status=status,
                base_md5=old.md5 if old else "",
                head_md5=new.md5 if new else "",
                base_size=old.size if old else None,
                head_size=new.size if new else None,
                base_files=old.nfiles if old else None,
                head_files=new.nfiles if new else None,
            )
        )
    return rows


def _produced(out: TrackedOut | None) -> TrackedOut | None:
    """An output declared in dvc.yaml but never produced (no hash in dvc.lock) counts as absent."""
    return out if out is not None and out.md5 else None


def human_size(size: int | None, signed: bool = False) -> str:
    """12 MB, 3.4 kB, 512 B (decimal units, like GitHub); '+' for growth when signed."""
    if size is None:
        return "—"
    sign = "+" if signed and size > 0 else "-" if size < 0 else ""
    value = float(abs(size))
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            text = f"{value:.0f}" if unit == "B" or value >= 100 else f"{value:.1f}"
            return f"{sign}{text} {unit}"
        value /= 1000
    return f"{sign}{value:.1f} TB"  # pragma: no cover - the loop returns
