"""Retraining data: which DVC-tracked file to update, the fresh data, and the update itself.

Everything here works on plain files in a checkout; git, DVC commands and GitHub live elsewhere
(`retrain_branch`, `commands.retrain`). Pandas is imported inside functions: `mlci --help` stays light.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mlci.config import Config
from mlci.errors import MlciError
from mlci.fsutil import write_bytes_atomic
from mlci.readers import load_yaml, read_yaml
from mlci.safety import one_line

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class DataUpdate:
    """What an update did to the dataset (rows are None where the mode cannot know them)."""

    dataset: str  # repo-relative posix path of the DVC-tracked file
    mode: str
    rows_before: int | None
    rows_after: int | None
    rows_added: int | None
    changed: bool


# --- which dataset ------------------------------------------------------------------------------


def choose_model(config: Config, name: str, report: Mapping[str, Any] | None) -> str:
    """The model to retrain: the argument, else the report's `model`, else the only configured one."""
    chosen = name or str((report or {}).get("model") or "")
    if chosen and config.retrain.dataset:
        return chosen  # `retrain.dataset` names the data: the model need not be configured
    return config.model(chosen, verb="retrain")[0]


def find_dataset(root: Path, config: Config, model: str) -> str:
    """The `.dvc`-tracked file to update: `retrain.dataset`, else the model's data or its DVC source.

    A model's `data` is often a pipeline output (data/prepared/train.csv); its source is then found by
    walking dvc.yaml upstream to the one `.dvc`-tracked input. An explicit `retrain.dataset` that is a
    pipeline output is an error: mlci would change a file `dvc repro` overwrites.
    """
    explicit = config.retrain.dataset
    path = _clean(explicit or (config.models[model].data if model in config.models else ""))
    if not path:
        raise MlciError(
            f"no training data to update for model '{one_line(model)}'",
            "set `retrain.dataset` (a `.dvc`-tracked file) or `models.<name>.data` in mlci.yaml",
        )
    if (root / f"{path}.dvc").is_file():
        return path
    producers = _producers(root)
    if _producer_of(path, producers) is None:
        raise MlciError(
            f"{path} is not tracked by DVC (no {path}.dvc) and no stage in dvc.yaml produces it",
            f"track it with `dvc add {path}` and commit {path}.dvc, or set `retrain.dataset`",
        )
    if explicit:
        stage = _producer_of(path, producers)
        raise MlciError(
            f"retrain.dataset {path} is an output of stage '{stage}' in dvc.yaml: `dvc repro` rewrites it",
            "set `retrain.dataset` to the `.dvc`-tracked source data the pipeline starts from",
        )
    sources = sorted(_tracked_sources(root, path, producers))
    if len(sources) != 1:
        found = ", ".join(sources) or "none"
        raise MlciError(
            f"model data {path} is a pipeline output; its `.dvc`-tracked sources are: {found}",
            "set `retrain.dataset` in mlci.yaml to the one file fresh data goes into",
        )
    return sources[0]


def _clean(path: str) -> str:
    return str(PurePosixPath(path.replace("\\", "/"))).removeprefix("./") if path else ""


def _producers(root: Path) -> dict[str, tuple[str, list[str]]]:
    """stage name → (its outs, its deps), from dvc.yaml (plain YAML: no `dvc` import needed)."""
    dvc_yaml = root / "dvc.yaml"
    if not dvc_yaml.is_file():
        return {}
    from mlci.repo import dvcfiles

    document = dvcfiles.load(dvc_yaml.read_bytes(), "dvc.yaml") or {}
    stages = (document.get("stages") if isinstance(document, dict) else None) or {}
    result: dict[str, tuple[str, list[str]]] = {}
    for name, stage in stages.items():
        if isinstance(stage, dict):
            outs = [_clean(_entry(o)) for key in ("outs", "metrics", "plots") for o in stage.get(key) or []]
            deps = [_clean(_entry(d)) for d in stage.get("deps") or []]
            result[str(name)] = ("\n".join(outs), deps)
    return result


def _entry(item: Any) -> str:
    return str(next(iter(item))) if isinstance(item, dict) else str(item)


def _producer_of(path: str, producers: Mapping[str, tuple[str, list[str]]]) -> str | None:
    for stage, (outs, _) in producers.items():
        if any(path == out or path.startswith(f"{out}/") for out in outs.splitlines()):
            return stage
    return None


def _tracked_sources(root: Path, path: str, producers: Mapping[str, tuple[str, list[str]]]) -> set[str]:
    found: set[str] = set()
    todo, seen = [path], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if (root / f"{current}.dvc").is_file():
            found.add(current)
            continue
        stage = _producer_of(current, producers)
        if stage is not None:
            todo.extend(dep for dep in producers[stage][1] if _is_data(dep))
    return found


def _is_data(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in READERS


# --- pointers and hashes ------------------------------------------------------------------------


def pointer_md5(text: str | None) -> str:
    """The md5 a `.dvc` file records for its one output ("" when absent)."""
    if not text:
        return ""
    data = load_yaml(text, "a .dvc file") or {}
    outs = (data.get("outs") if isinstance(data, dict) else None) or [{}]
    return str(outs[0].get("md5") or "") if isinstance(outs[0], dict) else ""


def plain_md5(pointer: Path) -> bool:
    """Whether a `.dvc` file records the plain md5 of its file's bytes (DVC 3: `hash: md5`)."""
    data = read_yaml(pointer, pointer.name) or {}
    outs = (data.get("outs") if isinstance(data, dict) else None) or [{}]
    if not isinstance(outs[0], dict):
        return False
    return outs[0].get("hash") == "md5" and not outs[0].get("nfiles")


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- fresh data ---------------------------------------------------------------------------------


def read_table(path: Path) -> Any:
    import pandas as pd

    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise MlciError(
            f"{path.name}: cannot read {path.suffix or 'files without a suffix'}", "use .csv or .parquet"
        )
    if not path.is_file():
        raise MlciError(f"fresh data file not found: {path}", "check --data or the report's current.paths")
    try:
        return pd.read_parquet(path) if kind == "parquet" else pd.read_csv(path)
    except (ValueError, OSError) as exc:
        raise MlciError(f"{path.name}: cannot read it as {kind}: {one_line(exc)}") from None


def load_fresh(paths: Sequence[Path], like: Any, dataset: str) -> Any:
    """The fresh files as one frame with the dataset's columns (same order) and dtypes."""
    import pandas as pd

    if not paths:
        raise MlciError(
            "no fresh data to retrain on",
            "pass --data PATH (labelled rows with the dataset's columns) "
            "or a monitor report with current.paths",
        )
    frames = []
    for path in paths:
        frame = read_table(path)
        check_columns(frame, like, path.name, dataset)
        frames.append(_cast(frame[list(like.columns)], like, path.name))
    return pd.concat(frames, ignore_index=True)


def check_columns(frame: Any, like: Any, name: str, dataset: str) -> None:
    missing = [c for c in like.columns if c not in frame.columns]
    extra = [c for c in frame.columns if c not in like.columns]
    if missing or extra:
        parts = [f"missing {', '.join(map(one_line, missing))}" if missing else ""]
        parts.append(f"not in {dataset}: {', '.join(map(one_line, extra))}" if extra else "")
        raise MlciError(
            f"{name} does not have the columns of {dataset}: " + "; ".join(p for p in parts if p),
            "fresh data must be labelled rows with exactly the training data's columns",
        )


def _cast(frame: Any, like: Any, name: str) -> Any:
    try:
        return frame.astype(like.dtypes.to_dict())
    except (ValueError, TypeError) as exc:
        raise MlciError(f"{name}: a value does not fit the dataset's column types: {one_line(exc)}") from None


def content_hash(frame: Any) -> str:
    """md5 of the rows' values: the same data gives the same hash whatever file or format it came in."""
    import pandas as pd

    digest = hashlib.md5(usedforsecurity=False)
    digest.update(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


# --- the update ---------------------------------------------------------------------------------


def append_rows(target: Path, current: Any, fresh: Any, dataset: str) -> DataUpdate:
    """Add the fresh rows the dataset does not already hold; a CSV keeps its bytes and grows at the end."""
    import pandas as pd

    known = set(pd.util.hash_pandas_object(current, index=False).tolist())
    hashes = pd.util.hash_pandas_object(fresh, index=False).tolist()
    new = fresh[[h not in known for h in hashes]]
    if len(new):
        if target.suffix.lower() == ".csv":
            old = target.read_bytes()
            sep = b"" if not old or old.endswith(b"\n") else b"\n"
            write_bytes_atomic(target, old + sep + new.to_csv(index=False, header=False).encode())
        else:
            write_bytes_atomic(target, _parquet_bytes(pd.concat([current, new], ignore_index=True)))
    size = len(current)
    return DataUpdate(dataset, "append", size, size + len(new), len(new), bool(len(new)))


def replace_rows(target: Path, current: Any, fresh: Any, dataset: str) -> DataUpdate:
    before = file_md5(target) if target.exists() else ""
    if target.suffix.lower() == ".csv":
        write_bytes_atomic(target, fresh.to_csv(index=False).encode())
    else:
        write_bytes_atomic(target, _parquet_bytes(fresh))
    changed = file_md5(target) != before
    return DataUpdate(dataset, "replace", len(current), len(fresh), None, changed)


def _parquet_bytes(frame: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
