"""Partitioned monitoring: a share of the current data profiled on its own, and shares merged.

A *partition profile* is what one share of the current data's files gives, written as JSON by
`mlci profile` (or by `profile_batches`, e.g. in a Spark task)::

    {"mlci_partition_profile": 1,
     "model": "churn",                       # the model monitored ("" for data alone)
     "reference": "3f2a…",                   # `reference_id` of the reference profile it was counted against
     "current": "s3://bucket/events/",        # what --current named
     "partition": {"index": 2, "count": 4, "files": ["…/part-0003.parquet", …]},
     "data": {…},                            # the share's current profile (Profile.to_json)
     "prediction": {…} | null,               # the model's predictions on it, profiled
     "labels": {"rows": …, "truth": […], "labels": […], "scores": […] | null} | null,
     "notes": […], "model_note": ""}

`mlci monitor --profiles` checks that the shares used one reference and cover 1..N once, merges them in
index order (`mlci.drift.profile.merge`: exact, see its bounds) and decides as one pass over every file
would. Shares are contiguous blocks of the sorted file list, so the merged order is the files' order.
The labels are carried row by row (3 numbers a labelled row): decay's metrics (ROC AUC among them)
need every labelled row; everything else a share carries grows with its columns, not its rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mlci.errors import MlciError

if TYPE_CHECKING:
    import pyarrow as pa

    from mlci.drift.profile import Profile

PARTITION_FORMAT = 1
T = TypeVar("T")


@dataclass(frozen=True)
class Share:
    """Share `index` (1-based) of `count` contiguous blocks of the sorted file list."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_share(text: str) -> Share:
    """`K/N` (1 ≤ K ≤ N) → Share; MlciError (exit 2) otherwise."""
    parts = text.strip().split("/")
    try:
        index, count = (int(p) for p in parts)
    except ValueError:
        index, count = 0, 0
    if len(parts) != 2 or not 1 <= index <= count:
        raise MlciError(
            f"--partition {text!r} is not K/N with 1 ≤ K ≤ N",
            "give this share's place as K/N, e.g. --partition 2/4 (in a matrix: ${{ matrix.partition }}/N)",
        )
    return Share(index, count)


def share_files(files: Sequence[T], share: Share) -> list[T]:
    """The share's contiguous block of `files` (sizes differ by at most one file)."""
    n = len(files)
    start = (share.index - 1) * n // share.count
    end = share.index * n // share.count
    return list(files[start:end])


def reference_id(profile: Profile, prediction: Profile | None) -> str:
    """A content id of a reference (its columns, rows and settings; not where it was read from)."""

    def body(p: Profile) -> dict[str, Any]:
        return {k: v for k, v in p.to_json().items() if k != "source"}

    text = json.dumps([body(profile), body(prediction) if prediction else None], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def document(
    *,
    model: str,
    reference: str,
    current: str,
    share: Share,
    files: Sequence[str],
    data: Profile,
    prediction: Profile | None = None,
    labels: dict[str, Any] | None = None,
    notes: Sequence[str] = (),
    model_note: str = "",
) -> dict[str, Any]:
    """A partition profile (the module's docstring shows its shape)."""
    return {
        "mlci_partition_profile": PARTITION_FORMAT,
        "model": model,
        "reference": reference,
        "current": current,
        "partition": {"index": share.index, "count": share.count, "files": list(files)},
        "data": data.to_json(),
        "prediction": prediction.to_json() if prediction is not None else None,
        "labels": labels,
        "notes": list(notes),
        "model_note": model_note,
    }


def write_partition(path: str | Path, doc: dict[str, Any]) -> Path:
    """Write a partition profile atomically (never half a file for the deciding step to read)."""
    from mlci.fsutil import write_text_atomic

    return write_text_atomic(path, json.dumps(doc, separators=(",", ":"), default=_plain) + "\n")


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_reference(path: str | Path) -> tuple[Profile, Profile | None]:
    """The data and prediction profiles of a reference saved with `mlci monitor --save-profile`."""
    from mlci.monitor.reference import read_saved

    profile, prediction, _ = read_saved(Path(path))
    return profile, prediction


def profile_batches(
    batches: Iterable[pa.RecordBatch],
    reference_path: str | Path,
    *,
    index: int,
    count: int,
    files: Sequence[str] = (),
    model: str = "",
    current: str = "",
) -> dict[str, Any]:
    """The partition profile of `batches` (data drift only: no model) against the reference saved at
    `reference_path`, as share `index` of `count`: for engines other than `mlci profile` (a Spark task)."""
    from mlci.drift.profile import ProfileBuilder

    reference, prediction = read_reference(reference_path)
    builder = ProfileBuilder(reference.settings, reference=reference)
    for batch in batches:
        builder.add(batch)
    return document(
        model=model,
        reference=reference_id(reference, prediction),
        current=current,
        share=Share(index, count),
        files=files,
        data=builder.finish({"spec": current}),
    )


# --- the deciding step ---------------------------------------------------------------------------


@dataclass
class Merged:
    """Every share of the current data, merged in index order."""

    current: str  # what --current named when the shares were profiled
    files: list[str]
    data: Profile
    prediction: Profile | None
    labels: dict[str, Any] | None
    notes: list[str]
    model_note: str


def expand(patterns: Sequence[str]) -> list[Path]:
    """--profiles: files and quoted globs → the partition profile files, sorted, each once."""
    import glob

    found: dict[Path, None] = {}
    for pattern in patterns:
        matches = (
            sorted(glob.glob(pattern, recursive=True)) if any(c in pattern for c in "*?[") else [pattern]
        )
        files = [Path(m) for m in matches if Path(m).is_file()]
        if not files:
            raise MlciError(
                f"--profiles {pattern}: no such file",
                "give the partition profiles `mlci profile --output` wrote (a quoted glob is fine)",
            )
        found.update(dict.fromkeys(files))
    return list(found)


def read_partitions(paths: Sequence[Path], reference: str, model: str) -> list[dict[str, Any]]:
    """The partition profiles, checked: one format, this model, this reference, shares 1..N once each;
    sorted by index. MlciError (exit 2) naming the file or the missing shares."""
    docs = [_read_one(p, reference, model) for p in paths]
    counts = {d["partition"]["count"] for d in docs}
    if len(counts) != 1:
        raise MlciError(
            f"the partition profiles disagree on how many shares there are: {sorted(counts)}",
            "profile every share of one run with the same --partition K/N count",
        )
    (count,) = counts
    seen: dict[int, Path] = {}
    for path, d in zip(paths, docs, strict=True):
        index = d["partition"]["index"]
        if index in seen:
            raise MlciError(f"share {index}/{count} is given twice: {seen[index]} and {path}")
        seen[index] = path
    missing = [str(i) for i in range(1, count + 1) if i not in seen]
    if missing:
        raise MlciError(
            f"shares {', '.join(missing)} of {count} are missing: deciding on part of the data would "
            "report a verdict on data nobody looked at",
            "wait for every `mlci profile --partition K/N` job, and pass all their outputs to --profiles",
        )
    return sorted(docs, key=lambda d: int(d["partition"]["index"]))


def _read_one(path: Path, reference: str, model: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError) as exc:
        raise MlciError(f"{path}: cannot read a partition profile ({exc})") from None
    if not isinstance(doc, dict) or doc.get("mlci_partition_profile") != PARTITION_FORMAT:
        raise MlciError(
            f"{path} is not an mlci partition profile (format {PARTITION_FORMAT})",
            "pass the files `mlci profile --output` wrote, by the same mlci version",
        )
    if doc.get("reference") != reference:
        raise MlciError(
            f"{path} was profiled against another reference ({doc.get('reference')}, here {reference})",
            "give `mlci profile` and this `mlci monitor` the same --reference-profile (or production version)",
        )
    if doc.get("model", "") != model:
        raise MlciError(f"{path} profiles model {doc.get('model')!r}, not {model!r}")
    return doc


def merge_partitions(
    docs: Sequence[dict[str, Any]], reference: Profile, prediction: Profile | None
) -> Merged:
    """Checked shares (`read_partitions`) merged in order: one pass's profiles, labels and notes."""
    from mlci.drift.profile import Profile as P
    from mlci.drift.profile import merge

    data = P.from_json(docs[0]["data"], "partition profile")
    for d in docs[1:]:
        data = merge(data, P.from_json(d["data"], "partition profile"), reference)
    predicted, labels = None, None
    dropped = next((d["model_note"] for d in docs if d.get("model_note")), "")
    if not dropped and all(d.get("prediction") for d in docs):
        predicted = P.from_json(docs[0]["prediction"], "partition profile")
        for d in docs[1:]:
            predicted = merge(predicted, P.from_json(d["prediction"], "partition profile"), prediction)
    labelled = [d["labels"] for d in docs if d.get("labels")]  # shares without the label column add none
    if not dropped and labelled:
        labels = _joined_labels(labelled)
    notes = list(dict.fromkeys(n for d in docs for n in d.get("notes", [])))
    files = [f for d in docs for f in d["partition"]["files"]]
    current = ", ".join(dict.fromkeys(str(d.get("current", "")) for d in docs))  # --files: each share's
    return Merged(current, files, data, predicted, labels, notes, dropped)


def _joined_labels(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    scores = [p["scores"] for p in parts]
    return {
        "rows": sum(int(p["rows"]) for p in parts),
        "truth": [v for p in parts for v in p["truth"]],
        "labels": [v for p in parts for v in p["labels"]],
        "scores": None if any(s is None for s in scores) else [v for s in scores for v in s],
    }
