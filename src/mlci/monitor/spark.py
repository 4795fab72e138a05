"""The Spark recipe: partition profiles of a Spark DataFrame, computed on the executors, for
`mlci monitor NAME --profiles 'DIR/*.json' --reference-profile REF.json` (docs/monitor.md, "On Spark").

Each task reads its share as Arrow record batches (`DataFrame.mapInArrow`), casts them back to the
Parquet files' types (Spark hands a `timestamp[ms]` over as `timestamp[us]`, a `uint32` as `int64`),
profiles them against the broadcast reference profile (`mlci.monitor.partition.profile_batches`) and
yields the partition profiles as JSON rows; the driver checks every task answered and writes them.
One profile per file split, not per task: Spark packs files into tasks by size, and a time index's
statistics follow the row order, so the driver numbers the splits in the order one process reads the
files. A DataFrame that is not a file scan under projections and filters gives one profile per task.
pyspark is the caller's (imported for annotations only); every executor needs mlci (`PYSPARK_PYTHON`).
"""

from __future__ import annotations

import functools
import json
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.errors import MlciError
from mlci.monitor.partition import read_reference

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

__all__ = ["ROW_SCHEMA", "file_schema", "profile_partitions"]

ROW_SCHEMA = "task long, file string, start long, rows long, document string"  # a task's rows
FILE, START = "__mlci_file_path", "__mlci_file_block_start"  # Spark's `_metadata`, along with the rows
Key = tuple[str, int]  # (file, byte offset of the split), or ("", task index) without `_metadata`


def profile_partitions(
    df: DataFrame,
    reference_profile: str | Path,
    out_dir: str | Path,
    *,
    model: str = "",
    current: str = "",
    schema: pa.Schema | None = None,
) -> list[Path]:
    """Profile `df` on the executors against `reference_profile`; write the partition profiles.

    `reference_profile`: a file written by `mlci monitor NAME --save-profile REF.json` (read on the
    driver, broadcast to the executors). `out_dir`: a folder with no `*.json` yet (created); it receives
    `part-KKKKK-of-NNNNN.json`, K = 1..N in the order one process reads the files. `model`: the NAME the
    deciding `mlci monitor NAME --profiles` is given ("" for data alone: it checks they agree);
    `current`: what the report names as the current data (e.g. the path read). `schema`: the Arrow
    types to cast each batch back to, column by column (default: `file_schema(df)`, the first input
    file's Parquet schema; `pyarrow.schema([])` keeps Spark's types).
    Returns the written paths, K ascending. Raises MlciError (exit 2) for a missing or foreign reference
    profile, an `out_dir` holding profiles, a schema that cannot be read, a Spark partition that did not answer, or
    a Spark Connect session (the recipe needs a classic one).
    """
    ref_path, out = Path(reference_profile), Path(out_dir)
    _check(df, ref_path, out)
    target = file_schema(df) if schema is None else schema
    spark_types = _arrow_schema(df)
    source, located = _located(df)
    broadcast = df.sparkSession.sparkContext.broadcast(ref_path.read_bytes())
    task = functools.partial(
        _profile_task,
        reference=broadcast,
        name=ref_path.name,
        schema=_conformed(spark_types, target),
        located=located,
        labels={"model": model, "current": current},
    )
    try:
        rows = source.mapInArrow(task, ROW_SCHEMA).collect()
    finally:
        broadcast.unpersist()
    documents = _numbered(rows, df.rdd.getNumPartitions())
    return _write(out, documents)


def _check(df: DataFrame, ref_path: Path, out: Path) -> None:
    """The inputs, before any Spark job: a classic session, a reference profile, an empty folder."""
    if getattr(df, "_jdf", None) is None:  # Spark Connect's DataFrame has no JVM side here
        raise MlciError(
            "profile_partitions needs a classic Spark session: Spark Connect has no broadcast variables "
            "and shows no query plan",
            "run the job with spark-submit or on a cluster with a classic (single-user) session",
        )
    if not ref_path.is_file():
        raise MlciError(
            f"reference profile {ref_path} not found",
            "write one with `mlci monitor NAME --save-profile FILE`",
        )
    read_reference(ref_path)  # a foreign file: exit 2 here, not a PythonException in every task
    if out.is_dir() and any(out.glob("*.json")):
        raise MlciError(f"{out} already holds profiles", "write the partition profiles into an empty folder")


def file_schema(df: DataFrame) -> pa.Schema:
    """The Arrow schema of `df`'s first input file as Parquet stores it (read with pyarrow on the driver).

    Raises MlciError when `df` reads no file or the file's schema cannot be read here (then pass
    `schema=` to `profile_partitions`)."""
    import pyarrow as pa
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    files = sorted(df.inputFiles())
    if not files:
        raise MlciError(
            "the DataFrame reads no file: nothing to profile",
            "check the path given to spark.read.parquet (an empty folder, or a glob that matches nothing)",
        )
    uri = files[0].replace("s3a://", "s3://", 1).replace("s3n://", "s3://", 1)
    try:
        filesystem, path = pafs.FileSystem.from_uri(uri)
        return pq.read_schema(path, filesystem=filesystem)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise MlciError(
            f"cannot read the Parquet schema of {files[0]}: {exc}",
            "pass schema=pyarrow.parquet.read_schema(...) to profile_partitions "
            "(or pyarrow.schema([]) to keep Spark's types)",
        ) from None


# --- on the executors ----------------------------------------------------------------------------


def _profile_task(
    batches: Iterable[pa.RecordBatch],
    *,
    reference: Any,  # a pyspark Broadcast of the reference profile's bytes
    name: str,
    schema: pa.Schema,
    located: bool,
    labels: dict[str, str],
) -> Iterator[pa.RecordBatch]:
    """One Spark task: a row (task, file, start, rows, partition profile) per file split it read; one
    row with no file when it read no row (so the driver sees every task answered)."""
    from pyspark import TaskContext

    from mlci.fsutil import write_bytes_atomic
    from mlci.monitor.partition import profile_batches

    context = TaskContext.get()
    task = context.partitionId() if context is not None else 0
    keyed = _keyed(batches) if located else ((("", task), b) for b in batches)
    answered = False
    with tempfile.TemporaryDirectory(prefix="mlci-ref-") as tmp:
        ref = Path(tmp) / name
        write_bytes_atomic(ref, reference.value)
        for (file, start), run, rows in _runs(keyed):
            stream = _cast(run, schema)
            files = [file] if file else []
            document = profile_batches(stream, str(ref), index=1, count=1, files=files, **labels)
            answered = True
            yield _row(task, file, start, rows[0], document)
        if not answered:
            document = profile_batches(_cast((), schema), str(ref), index=1, count=1, **labels)
            yield _row(task, "", -1, 0, document)


def _keyed(batches: Iterable[pa.RecordBatch]) -> Iterator[tuple[Key, pa.RecordBatch]]:
    """Each batch cut where the file split changes (a batch Spark hands over may span two files)."""
    import numpy as np
    import pyarrow.compute as pc

    for batch in batches:
        if not batch.num_rows:
            continue
        files = pc.dictionary_encode(batch.column(FILE))
        codes = np.asarray(files.indices.to_numpy(zero_copy_only=False))
        starts = np.asarray(batch.column(START).to_numpy(zero_copy_only=False))
        cuts = np.flatnonzero((codes[1:] != codes[:-1]) | (starts[1:] != starts[:-1])) + 1
        data = batch.drop_columns([FILE, START])
        names = files.dictionary.to_pylist()
        for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), batch.num_rows], strict=True):
            yield (str(names[codes[lo]]), int(starts[lo])), data.slice(lo, hi - lo)


def _runs(
    keyed: Iterable[tuple[Key, pa.RecordBatch]],
) -> Iterator[tuple[Key, Iterator[pa.RecordBatch], list[int]]]:
    """Consecutive batches of one key as one stream (consumed before the next run is yielded); the
    list counts the stream's rows as it is read."""
    pieces = iter(keyed)
    head = next(pieces, None)
    while head is not None:
        key, rows = head[0], [0]
        holder: list[tuple[Key, pa.RecordBatch] | None] = [head]

        def run(
            key: Key = key, rows: list[int] = rows, holder: list[Any] = holder
        ) -> Iterator[pa.RecordBatch]:
            while holder[0] is not None and holder[0][0] == key:
                rows[0] += holder[0][1].num_rows
                yield holder[0][1]
                holder[0] = next(pieces, None)

        stream = run()
        yield key, stream, rows
        for _ in stream:  # whatever the consumer left
            pass
        head = holder[0]


def _cast(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """An empty batch first (a share with no rows still has its columns), then each batch in `schema`."""
    import pyarrow as pa

    yield pa.RecordBatch.from_pylist([], schema=schema)
    for batch in batches:
        yield batch.cast(schema)


def _row(task: int, file: str, start: int, rows: int, document: dict[str, Any]) -> pa.RecordBatch:
    import pyarrow as pa

    text = json.dumps(document, separators=(",", ":"))
    row = {"task": [task], "file": [file], "start": [start], "rows": [rows], "document": [text]}
    types = [("task", pa.int64()), ("file", pa.string()), ("start", pa.int64()), ("rows", pa.int64())]
    return pa.RecordBatch.from_pydict(row, schema=pa.schema([*types, ("document", pa.string())]))


# --- on the driver -------------------------------------------------------------------------------


def _located(df: DataFrame) -> tuple[DataFrame, bool]:
    """`df` with each row's file and split (the hidden `_metadata` column of file scans), when its rows
    reach the tasks in the files' order."""
    from pyspark.errors import AnalysisException

    if not _in_file_order(df):  # after a shuffle `_metadata` may still resolve, in no order
        return df, False
    try:
        meta = df["_metadata"]
        return df.select("*", meta["file_path"].alias(FILE), meta["file_block_start"].alias(START)), True
    except AnalysisException:  # not a plain file scan: the profiles name no file
        return df, False


def _in_file_order(df: DataFrame) -> bool:
    """Whether `df` is a file scan under projections and filters only (Spark's optimized plan), so each
    task reads its file splits one after the other, each from its start."""
    plan = str(getattr(df, "_jdf").queryExecution().optimizedPlan().toString())  # noqa: B009 (private)
    nodes = [line.lstrip(" :+-").split(" ", 1)[0] for line in plan.splitlines() if line.strip()]
    return bool(nodes) and nodes[-1] == "Relation" and set(nodes) <= {"Project", "Filter", "Relation"}


def _arrow_schema(df: DataFrame) -> pa.Schema:
    """The Arrow types Spark hands `mapInArrow` for `df`'s columns."""
    from pyspark.sql.pandas.types import to_arrow_schema

    timezone = df.sparkSession.conf.get("spark.sql.session.timeZone")
    return to_arrow_schema(df.schema, timezone=timezone)


def _conformed(spark_types: pa.Schema, files: pa.Schema) -> pa.Schema:
    """Spark's columns in the files' types where the files have the column (partition columns and
    computed ones keep Spark's type)."""
    import pyarrow as pa

    known = {f.name: f for f in files}
    return pa.schema([known.get(f.name, f) for f in spark_types])


def _numbered(rows: list[Any], tasks: int) -> list[dict[str, Any]]:
    """The rows' profiles in the order one process reads the files, numbered 1..N."""
    silent = sorted(set(range(tasks)) - {int(r["task"]) for r in rows})
    if silent:
        raise MlciError(
            f"Spark tasks {silent} of {tasks} returned no profile",
            "run the job again; check the executors' logs",
        )
    kept = [r for r in rows if r["rows"] > 0] or rows[:1]  # a task with no row adds nothing
    # by path part by part, as one process sorts its files (`a/b/c` before `a/b-c`), then by offset
    kept.sort(key=lambda r: (r["file"].split("/"), r["start"], r["task"]))
    documents = [json.loads(r["document"]) for r in kept]
    for index, document in enumerate(documents, start=1):
        document["partition"].update(index=index, count=len(documents))
    return documents


def _write(out: Path, documents: list[dict[str, Any]]) -> list[Path]:
    from mlci.monitor.partition import write_partition

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for document in documents:
        part = document["partition"]
        path = out / f"part-{part['index']:05d}-of-{part['count']:05d}.json"
        write_partition(path, document)
        paths.append(path)
    return paths
