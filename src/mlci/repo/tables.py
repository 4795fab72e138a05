"""Tabular data in chunks: CSV and Parquet files, globs, folders, and DVC-tracked paths at a revision.

    with open_data(root, "data/prepared/train.csv", rev="abc123") as data:   # through DVC
        for batch in data.batches(chunk_rows=200_000): ...                  # pyarrow RecordBatches
    with open_data(root, "incoming/*.parquet") as data: ...                  # local files

Memory stays bounded by one chunk: Parquet is read with `ParquetFile.iter_batches`, CSV with the
streaming reader `pyarrow.csv.open_csv`. Parquet is decoded on pyarrow's threads, one chunk ahead of
the consumer (`prefetched`). With `dictionary=True` (profiling: values are only counted) its text
columns stay dictionary-encoded, as Parquet stores them: no string is decoded; the batch's schema
metadata names them (`dictionary_read`) and `plain` decodes them where a consumer needs the
strings (a model, pandas). A DVC-tracked file at a revision is read straight from
the local DVC cache when it is there, else fetched from the DVC remote into a temporary folder
that is removed afterwards. An object-storage URL (`s3://`, `gs://`, `azure://`, `az://`, `https://`;
mlci.repo.objectstore) is listed up front and each file read in blocks as its batches are consumed.
Hive-style `KEY=VALUE` folders below the path given become text columns, and `where`
(mlci.repo.partitions) keeps the files whose partition values match, before any file is opened.
"""

from __future__ import annotations

import glob
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.errors import MlciError

if TYPE_CHECKING:
    import pyarrow as pa

    from mlci.repo.revision import SharedRepo

SUFFIXES = (".csv", ".parquet", ".pq", ".csv.gz")
# schema metadata key: the JSON list of text columns a batch holds dictionary-encoded
DICTIONARY_READ = b"mlci.dictionary_read"


@dataclass
class Data:
    """Resolved input: local files to read, and where they came from."""

    spec: str  # what the user gave
    files: list[Path | str]  # sorted; URL strings for files in object storage
    rev: str | None = None  # git revision the files were read at (DVC), None for the workspace
    # DVC md5s when read through DVC; for object storage: URL, ETag, size and mtime from the listing
    hashes: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # logical names (a DVC cache file has none)
    _tmp: Path | None = None
    base: str = ""  # KEY=VALUE folders below this path/URL are partition columns ("": none)
    where: tuple[str, ...] = ()  # the --where conditions the files were chosen by
    store: Any = None  # objectstore.Store: opens the URL files

    def __enter__(self) -> Data:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def batches(
        self,
        chunk_rows: int = 200_000,
        columns: list[str] | None = None,
        *,
        dictionary: bool = False,
        text_codes: bool = False,
    ) -> Iterator[pa.RecordBatch]:
        from mlci.repo import partitions

        for i, path in enumerate(self.files):
            name = self.names[i] if i < len(self.names) else str(path)
            values = partitions.values_of(
                Path(name).as_posix() if isinstance(path, Path) else name, self.base
            )
            wanted = partitions.file_columns(columns, values)
            for batch in read_batches(
                path,
                chunk_rows,
                wanted,
                name=name,
                dictionary=dictionary,
                text_codes=text_codes,
                store=self.store,
            ):
                yield partitions.with_columns(batch, values, columns)

    def content_hash(self) -> str:
        """A hash of the bytes (DVC's md5s when known: no need to read the data again)."""
        digest = hashlib.sha256()
        if self.hashes:
            for h in self.hashes:
                digest.update(h.encode())
        else:
            for path in self.files:
                with open(path, "rb") if isinstance(path, Path) else self.store.open(path) as handle:
                    while chunk := handle.read(1 << 20):
                        digest.update(chunk)
        return digest.hexdigest()

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"spec": self.spec, "rev": self.rev, "files": len(self.files)}
        if self.where:
            described["where"] = list(self.where)
        return described


def open_data(
    root: Path,
    spec: str,
    rev: str | None = None,
    *,
    cwd: Path | None = None,
    repo: SharedRepo | None = None,
    where: Sequence[str] = (),
) -> Data:
    """Resolve `spec` (file, glob, folder; local, DVC-tracked at `rev`, or an object-storage URL) to
    files to read; `repo`: the run's one DVC Repo, for a DVC-tracked `spec`; `where`: conditions on the
    partition folders (mlci.repo.partitions), applied before any file is opened. MlciError (exit 2) on
    a bad condition, a condition that keeps no file, or data that cannot be listed."""
    from mlci.repo import partitions

    conditions = partitions.parse(where)
    if rev is None and is_url(spec):
        return _in_storage(root, spec, conditions)
    if rev is None:
        base = cwd or Path.cwd()
        local = local_files(spec, base)
        if local is None and not Path(spec).is_absolute():
            base, local = root, local_files(spec, root)
        if local:
            top = _base(Path(spec) if Path(spec).is_absolute() else base / spec)
            data = Data(spec, list(local), base=top)
            return _chosen(data, [p.as_posix() for p in local], conditions)
    data = _through_dvc(root, spec, rev, repo, conditions)
    data.base, data.where = spec.rstrip("/"), tuple(c.text for c in conditions)
    return data


def _in_storage(root: Path, spec: str, conditions: Sequence[Any]) -> Data:
    from mlci.repo import objectstore

    urls, hashes, store = objectstore.list_tables(root, spec)
    data = Data(spec, list(urls), hashes=hashes, names=list(urls), base=store.location.base(), store=store)
    return _chosen(data, urls, conditions)


def _chosen(data: Data, names: Sequence[str], conditions: Sequence[Any]) -> Data:
    """`data` narrowed to the files whose partition values meet `conditions` (all of them when none)."""
    if not conditions:
        return data
    keep = _kept(names, data.base, conditions, data.spec)
    where = tuple(c.text for c in conditions)
    return replace(
        data,
        files=[data.files[i] for i in keep],
        hashes=[data.hashes[i] for i in keep] if data.hashes else [],
        names=[data.names[i] for i in keep] if data.names else [],
        where=where,
    )


def _kept(names: Sequence[str], base: str, conditions: Sequence[Any], spec: str) -> list[int]:
    """The indexes of `names` `conditions` keep; MlciError (exit 2) when they keep none."""
    from mlci.repo import partitions

    keep = partitions.keep(names, base, conditions, spec)
    if not keep:
        where = " AND ".join(c.text for c in conditions)
        raise MlciError(
            f"{spec}: the filter --where {where} keeps none of its {len(names)} files",
            "widen the window, or check that the data for it has landed",
        )
    return keep


def is_url(spec: str) -> bool:
    from mlci.repo.objectstore import is_url as url

    return url(spec)


def _base(path: Path) -> str:
    """The folder partition folders are read below: a glob's part before its first wildcard, a folder
    itself, a file's own folder."""
    parts = path.as_posix().split("/")
    for i, part in enumerate(parts):
        if any(ch in part for ch in "*?["):
            return "/".join(parts[:i])
    return path.as_posix() if path.is_dir() else path.parent.as_posix()


def local_files(spec: str, base: Path) -> list[Path] | None:
    """Files named by a path, glob or folder; None when nothing of that name exists."""
    path = Path(spec) if Path(spec).is_absolute() else base / spec
    if any(ch in spec for ch in "*?["):  # folders it matches (`date=2026-12-*/`) stand for their tables
        matches = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
        files = _only_tables([p for p in matches if p.is_file()], spec)
        files += [t for p in matches if p.is_dir() for t in p.rglob("*") if t.is_file() and _is_table(t)]
        return sorted(set(files)) or None
    if path.is_file():
        return _only_tables([path], spec)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _is_table(p))
        if not files:
            raise MlciError(f"folder {spec} holds no .csv or .parquet files", "point to the data files")
        return files
    return None


def read_batches(
    path: Path | str,
    chunk_rows: int,
    columns: list[str] | None = None,
    *,
    name: str = "",
    dictionary: bool = False,
    text_codes: bool = False,
    store: Any = None,
) -> Iterator[pa.RecordBatch]:
    """`dictionary`: Parquet text columns stay dictionary-encoded (marked: `dictionary_read`);
    `text_codes`: the text columns of CSV too, converted straight to dictionary codes. A URL `path` is
    read through `store` (an objectstore.Store), in blocks."""
    name = (name or Path(str(path)).name).lower()
    if "://" in name:  # a URL: its path tells the format, not a (pre-signed URL's) query
        from urllib.parse import urlsplit

        name = urlsplit(name).path
    opener = _opener(path, store)
    try:
        if name.endswith((".parquet", ".pq")):
            yield from _parquet(opener, chunk_rows, columns, dictionary or text_codes)
        else:
            yield from _csv(opener, chunk_rows, columns, gzip=name.endswith(".gz"), codes=text_codes)
    except MlciError:
        raise
    except Exception as exc:  # pyarrow's errors name the problem; say which file it was
        decoding = type(exc).__module__.startswith("pyarrow")  # the bytes, not the storage
        if isinstance(path, str) and not decoding:
            from mlci.repo.objectstore import explain, store_for

            raise explain(store or store_for(path), path, exc) from None
        if decoding or isinstance(exc, (OSError, ValueError)):
            raise MlciError(
                f"cannot read {path if isinstance(path, str) else Path(name).name}: {_first_line(exc)}",
                "check that the file is valid CSV (with a header row) or Parquet",
            ) from None
        raise


def _opener(path: Path | str, store: Any) -> Callable[[], Any]:
    """What a reader opens: the local path itself, or a fresh file of the store, read in blocks."""
    if isinstance(path, Path):
        return lambda: path
    from mlci.repo.objectstore import Location, store_for

    location = Location.parse(path)
    if store is None or (store.location.given, store.location.bucket) != (location.given, location.bucket):
        store = store_for(path)
    return lambda: store.open(path)


def _parquet(
    opener: Callable[[], Any], chunk_rows: int, columns: list[str] | None, dictionary: bool
) -> Iterator[pa.RecordBatch]:
    source = opener()  # a path, or a file of an object store (closed here: pyarrow leaves it open)
    try:
        yield from _parquet_from(source, chunk_rows, columns, dictionary)
    finally:
        if not isinstance(source, Path):
            source.close()


def _parquet_from(
    source: Any, chunk_rows: int, columns: list[str] | None, dictionary: bool
) -> Iterator[pa.RecordBatch]:
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    texts: list[str] = []
    if dictionary:
        schema = pq.read_schema(source)
        texts = [
            f.name
            for f in schema
            if (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
            and (columns is None or f.name in columns)
        ]
    # Decoded on pyarrow's threads (both cores), a chunk ahead of the profiling; no pre-buffering
    # (it held whole row groups: ~50-100 MB more at 1M rows, no faster).
    with pq.ParquetFile(
        source, pre_buffer=False, buffer_size=1 << 20, read_dictionary=texts or None
    ) as handle:
        ahead = prefetched(handle.iter_batches(batch_size=chunk_rows, columns=columns, use_threads=True))
        marker = json.dumps(texts).encode()
        try:
            for batch in ahead:
                if texts:
                    meta = {**(batch.schema.metadata or {}), DICTIONARY_READ: marker}
                    batch = batch.replace_schema_metadata(meta)
                yield batch
        finally:
            ahead.close()  # the reading thread ends before the file closes


def dictionary_read(batch: pa.RecordBatch) -> set[str]:
    """The text columns `batch` holds dictionary-encoded only because it was read so (`dictionary=True`)."""
    import json

    meta = batch.schema.metadata or {}
    return set(json.loads(meta[DICTIONARY_READ])) if DICTIONARY_READ in meta else set()


def plain(batch: pa.RecordBatch) -> pa.RecordBatch:
    """`batch` as read without `dictionary=True`: its text columns decoded to strings."""
    import pyarrow as pa

    names = dictionary_read(batch)
    if not names:
        return batch
    arrays = [
        a.dictionary_decode() if n in names else a
        for n, a in zip(batch.schema.names, batch.columns, strict=True)
    ]
    meta = {k: v for k, v in (batch.schema.metadata or {}).items() if k != DICTIONARY_READ}
    fields = [
        pa.field(f.name, a.type, f.nullable, f.metadata) for f, a in zip(batch.schema, arrays, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields, metadata=meta or None))


def prefetched(batches: Iterable[pa.RecordBatch]) -> Generator[pa.RecordBatch, None, None]:
    """`batches`, the next one read on a thread while the consumer works on the current one.

    Reading (pyarrow) and profiling (numpy) both release the GIL: the two overlap on two cores.
    At most two batches are in memory; an error of the reader is raised in the consumer."""
    import queue
    import threading

    ready: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        ready.put(("batch", batch), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            ready.put(("error", exc))

    worker = threading.Thread(target=produce, name="mlci-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue, then let it end
            try:
                ready.get_nowait()
            except queue.Empty:
                worker.join(0.05)


def _csv(
    opener: Callable[[], Any], chunk_rows: int, columns: list[str] | None, gzip: bool, codes: bool = False
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def source() -> Any:
        opened = opener()
        return pa.input_stream(
            str(opened) if isinstance(opened, Path) else opened, compression="gzip" if gzip else None
        )

    # Each column's type is fixed by the first block, as pyarrow's streaming reader fixes it; a later
    # "1.5" in a column that started as integers would fail, so integers are read as float64 (and
    # columns empty so far as text), as the first 1 MB shows them and as the first block does.
    probe = pacsv.open_csv(source(), read_options=pacsv.ReadOptions(block_size=1 << 20))
    types: dict[str, pa.DataType] = {}
    for f in probe.schema:
        if pa.types.is_integer(f.type):
            types[f.name] = pa.float64()
        elif pa.types.is_null(f.type):
            types[f.name] = pa.string()
    names = list(probe.schema.names)
    probe.close()
    # ~100 bytes a row is a fair guess for the block size that gives `chunk_rows` rows
    block = max(1 << 16, min(chunk_rows * 100, 1 << 28))
    ahead = prefetched(
        _csv_blocks(source, block, names, types, columns, codes)
    )  # the next block parsed meanwhile
    try:
        for batch in ahead:
            if batch.num_rows:
                yield batch
    finally:
        ahead.close()  # the reading thread ends before the file closes


def _csv_blocks(
    source: Callable[[], Any],
    block: int,
    header: list[str],
    types: dict[str, pa.DataType],
    columns: list[str] | None,
    codes: bool = False,
) -> Iterator[pa.RecordBatch]:
    """The CSV in blocks of whole lines, each parsed on its own by `pyarrow.csv.read_csv`.

    The same blocks and types as pyarrow's streaming reader (`open_csv`; a block ends at its last
    newline, the first block fixes the types), at ~2/3 of its CPU time: the one-shot parser is
    faster, and one block at a time keeps memory bounded. With `codes`, text columns come as
    dictionary codes (marked as `dictionary_read`), converted so by the parser itself."""
    import json

    import pyarrow as pa
    import pyarrow.csv as pacsv

    names: list[str] | None = None
    texts: list[str] = []
    marker: dict[bytes, bytes] = {}
    with source() as stream:
        for data in _line_blocks(stream, block):
            read = pacsv.ReadOptions(use_threads=False, block_size=len(data) + 1, column_names=names)
            convert = pacsv.ConvertOptions(
                column_types=types, include_columns=columns, strings_can_be_null=True
            )
            table = pacsv.read_csv(pa.py_buffer(data), read_options=read, convert_options=convert)
            if names is None:  # the first block has the header; its types hold from now on
                names = header
                table = _widened(table)
                types = {**types, **{f.name: f.type for f in table.schema}}
                if codes:  # text as dictionary codes from the next block on (this one encoded once)
                    table, texts = _text_codes(table)
                    types.update({n: table.schema.field(n).type for n in texts})
                    marker = {DICTIONARY_READ: json.dumps(texts).encode()}
            if codes and texts:
                table = table.replace_schema_metadata({**(table.schema.metadata or {}), **marker})
            yield from table.to_batches()


def _line_blocks(stream: Any, block: int) -> Iterator[bytes]:
    """`stream` (binary, `read(n)`) in chunks of whole lines of about `block` bytes, read `block` bytes
    at a time; a line longer than a block makes its chunk longer; the last chunk may lack its newline."""
    rest = b""
    while True:
        more = stream.read(block)
        data = rest + more if rest else more
        if more:
            cut = data.rfind(b"\n") + 1
            if not cut:  # a line longer than a block: read on
                rest = data
                continue
            data, rest = data[:cut], data[cut:]
        if data:
            yield data
        if not more:
            return


def _text_codes(table: pa.Table) -> tuple[pa.Table, list[str]]:
    """`table` with its text columns dictionary-encoded, and their names."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts: list[str] = []
    for i, f in enumerate(table.schema):
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            encoded = pc.dictionary_encode(table.column(i))
            table = table.set_column(i, pa.field(f.name, encoded.type), encoded)
            texts.append(f.name)
    return table, texts


def _widened(table: pa.Table) -> pa.Table:
    """The first block's types, made to hold for the blocks after it: integers as float64 (a later
    1.5), a column empty so far as text (later values)."""
    import pyarrow as pa

    for i, f in enumerate(table.schema):
        if pa.types.is_integer(f.type) or pa.types.is_null(f.type):
            wider = pa.float64() if pa.types.is_integer(f.type) else pa.string()
            table = table.set_column(i, pa.field(f.name, wider), table.column(i).cast(wider))
    return table


def _through_dvc(
    root: Path, spec: str, rev: str | None, repo: SharedRepo | None = None, conditions: Sequence[Any] = ()
) -> Data:
    """`spec` read through DVC at `rev`: with the run's `repo` when given, else a DVC file system of its own."""
    if repo is None:
        from dvc.api import DVCFileSystem

        from mlci.repo.remote import offline_config

        # an unreachable remote: the local cache alone, and the probe's error for what it lacks
        return _from_fs(
            root,
            lambda: DVCFileSystem(str(root), rev=rev, config=offline_config(root)),
            spec,
            rev,
            conditions,
        )
    from mlci.repo.revision import at_revision

    with at_revision(repo.get(), rev) as files:
        return _from_fs(root, lambda: files, spec, rev, conditions)


def _from_fs(
    root: Path, make_fs: Callable[[], Any], spec: str, rev: str | None, conditions: Sequence[Any] = ()
) -> Data:
    where = f"{spec} at {rev[:12]}" if rev else spec
    try:
        fs = make_fs()
        # info, not exists: exists() answers False when DVC cannot use the remote (a missing plugin)
        kind = fs.info(spec)["type"]
        names = sorted(p for p in fs.find(spec) if _is_table(Path(p))) if kind == "directory" else [spec]
    except FileNotFoundError:
        _raise_remote_failure(root, spec, rev)
        raise MlciError(
            f"no data at {where}: not a local file, glob or folder, nor a DVC-tracked path",
            "give a CSV/Parquet file, a glob (quoted) or a folder; "
            "a DVC path must be tracked at that revision",
        ) from None
    except Exception as exc:  # DVC's errors (bad revision, broken .dvc files) as user errors
        _raise_remote_failure(root, spec, rev)
        raise _remote_error(root, exc, f"reading {where}") or MlciError(
            f"cannot open {where} through DVC: {exc}"
        ) from None
    if not names:
        raise MlciError(f"{where} holds no .csv or .parquet files")
    if conditions:  # before anything is fetched: only the window's files
        names = [names[i] for i in _kept(names, spec.rstrip("/"), conditions, spec)]
    return _materialise(root, fs, spec, rev, names)


def tracked_tables(root: Path, folder: str, rev: str | None = None) -> list[str]:
    """The CSV/Parquet files DVC records in a tracked folder (pulled or not: from its `.dir` listing,
    the local cache first); [] when DVC cannot list it (not tracked, or its listing is unreachable)."""
    from dvc.api import DVCFileSystem

    from mlci.repo.remote import offline_config

    try:
        fs = DVCFileSystem(str(root), rev=rev, config=offline_config(root))
        if fs.info(folder)["type"] != "directory":
            return []
        return sorted(p for p in fs.find(folder) if _is_table(Path(p)))
    except Exception:  # DVC's errors: a folder it cannot list holds nothing mlci can check
        return []


def _raise_remote_failure(root: Path, path: str, rev: str | None) -> None:
    """A DVC-tracked path DVC could not open: say which remote failed and how (not "no data")."""
    from mlci.repo.remote import read_failure

    failure = read_failure(root, path, rev)
    if failure is not None:
        raise failure


def _materialise(root: Path, fs: Any, spec: str, rev: str | None, names: list[str]) -> Data:
    """Local paths for DVC files: the cache file itself when present, else fetched from the remote."""
    data = Data(spec, [], rev=rev)
    cache = fs.repo.cache.local
    for name in names:
        md5 = str(fs.info(name).get("md5") or "")
        data.hashes.append(md5 or name)
        data.names.append(name)
        cached = Path(cache.oid_to_path(md5)) if md5 else None
        if cached is not None and cached.is_file():
            data.files.append(cached)
            continue
        if data._tmp is None:
            data._tmp = Path(tempfile.mkdtemp(prefix="mlci-data-"))
        target = data._tmp / str(len(data.files)) / Path(name).name
        target.parent.mkdir(parents=True)
        try:
            fs.get_file(name, str(target))
        except Exception as exc:
            data.close()
            _raise_remote_failure(root, name, rev)
            raise _remote_error(root, exc, f"fetching {name}") or MlciError(
                f"cannot fetch {name} from the DVC remote: {exc}",
                "check the DVC remote's credentials (`dvc pull` locally shows the same error)",
            ) from None
        data.files.append(target)
    return data


def _remote_error(root: Path, exc: BaseException, action: str) -> MlciError | None:
    from mlci.repo.remote import explain_exception

    return explain_exception(root, exc, action)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_table(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIXES)


def _only_tables(files: list[Path], spec: str) -> list[Path]:
    bad = [p for p in files if not _is_table(p)]
    if bad:
        raise MlciError(
            f"{spec}: {bad[0].name} is neither CSV nor Parquet",
            "mlci reads .csv, .csv.gz, .parquet and .pq files",
        )
    return files
