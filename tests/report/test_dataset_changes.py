"""Data changes between revisions, from the outputs DVC tracks."""

from __future__ import annotations

from mlci.repo.revision import TrackedOut
from mlci.report.dataset_changes import diff_data, human_size


def out(path: str, md5: str, size: int | None, nfiles: int | None = None, kind: str = "data") -> TrackedOut:
    return TrackedOut(path, md5, size, nfiles, kind)


def test_modified_added_removed_and_skipped_outputs() -> None:
    base = {
        "data/raw.csv": out("data/raw.csv", "a" * 32, 1_000),
        "data/images": out("data/images", "b" * 32 + ".dir", 5_000, 10),
        "old.bin": out("old.bin", "c" * 32, 7),
        "same.bin": out("same.bin", "d" * 32, 9),
        "metrics.json": out("metrics.json", "e" * 32, 1, kind="metric"),
        "never-run.bin": out("never-run.bin", "", None),
    }
    head = {
        "data/raw.csv": out("data/raw.csv", "f" * 32, 13_001_000),
        "data/images": out("data/images", "g" * 32 + ".dir", 6_000, 12),
        "new.bin": out("new.bin", "h" * 32, 3),
        "same.bin": base["same.bin"],
        "metrics.json": out("metrics.json", "i" * 32, 2, kind="metric"),
        "never-run.bin": out("never-run.bin", "", None),
    }
    rows = {r.path: r for r in diff_data(base, head)}
    assert sorted(rows) == ["data/images", "data/raw.csv", "new.bin", "old.bin"]
    assert rows["data/raw.csv"].status == "modified" and rows["data/raw.csv"].size_change == 13_000_000
    assert rows["data/images"].files_change == 2
    assert rows["new.bin"].status == "added" and rows["old.bin"].status == "removed"
    assert human_size(rows["data/raw.csv"].size_change, signed=True) == "+13.0 MB"


def test_human_size() -> None:
    assert [human_size(n) for n in (0, 999, 1_500, 12_000_000, None)] == [
        "0 B",
        "999 B",
        "1.5 kB",
        "12.0 MB",
        "—",
    ]
    assert human_size(-2_500, signed=True) == "-2.5 kB"
