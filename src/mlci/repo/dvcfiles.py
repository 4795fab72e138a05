"""Broken DVC files are the user's to fix, never a bug in mlci: `dvc.yaml`, `dvc.lock` and `.dvc` files
checked against DVC's own schema (DVC is the oracle), and DVC's own file errors turned into one message
— the file, the line and column, what DVC expects, the fix — with exit 2, whichever command met them.

mlci's light readers (`mlci affected` imports no DVC) check the shapes they rely on themselves and ask
DVC's schema only when a shape is wrong, so the message is DVC's.
"""

from __future__ import annotations

import posixpath
from typing import Any

from mlci.errors import MlciError
from mlci.readers import load_yaml
from mlci.safety import one_line

DOCS = "https://dvc.org/doc/user-guide/project-structure"
_SCHEMAS = {"dvc.yaml": "COMPILED_MULTI_STAGE_SCHEMA", "dvc.lock": "COMPILED_LOCKFILE_SCHEMA"}


def kind(path: str) -> str:
    """`dvc.yaml`, `dvc.lock` or `.dvc` for a DVC file's path ("" for any other file)."""
    name = posixpath.basename(path)
    return name if name in _SCHEMAS else ".dvc" if name.endswith(".dvc") else ""


def load(text: str | bytes, path: str) -> Any:
    """A DVC file's content, bounded and parsed; invalid YAML or a shape DVC's schema refuses is an
    MlciError naming the line and column."""
    data = load_yaml(text, path, _hint(path))
    error = schema_error(data, text, path)
    if error is not None:
        raise error
    return data


def schema_error(data: Any, text: str | bytes, path: str) -> MlciError | None:
    """DVC's schema verdict on `data` (parsed from `text`, the file `path`): None when DVC accepts it."""
    from dvc import schema
    from voluptuous import Invalid, MultipleInvalid

    name = _SCHEMAS.get(kind(path), "COMPILED_SINGLE_STAGE_SCHEMA")
    try:
        getattr(schema, name)(data)
    except MultipleInvalid as exc:
        return describe(path, text if isinstance(text, str) else text.decode("utf-8"), exc.errors)
    except Invalid as exc:
        return describe(path, text if isinstance(text, str) else text.decode("utf-8"), [exc])
    return None


def describe(path: str, text: str, errors: list[Any]) -> MlciError:
    """One message for DVC's schema errors: each with its place in the file (line, column)."""
    from dvc.utils.serialize import parse_yaml_for_update
    from dvc.utils.strictyaml import determine_linecol

    try:
        document = parse_yaml_for_update(text, path)
    except Exception:
        document = None
    problems = []
    for error in errors[:3]:
        place = " -> ".join(str(part) for part in error.path) or "the top level"
        line, col = (None, None)
        if document is not None:
            line, col, _ = determine_linecol(document, list(error.path))
        at = f" (line {line}, column {col})" if line else ""
        problems.append(f"{one_line(error.error_message, 120)} at {one_line(place, 120)}{at}")
    more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
    return MlciError(
        f"{one_line(path)} is not valid for DVC: {'; '.join(problems)}{more}",
        _hint(path),
    )


def _hint(path: str) -> str:
    what = {"dvc.yaml": "dvcyaml-files", "dvc.lock": "dvcyaml-files#dvclock-file"}.get(
        kind(path), "dvc-files"
    )
    rerun = (
        "`dvc repro` rewrites dvc.lock" if kind(path) == "dvc.lock" else "`dvc repro --dry` shows the same"
    )
    return f"fix the file as DVC expects it ({DOCS}/{what}); {rerun}"


def in_chain(exc: BaseException) -> MlciError | None:
    """`from_dvc` on the exception or any exception it was raised from (DVC wraps its own)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = from_dvc(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


def raise_user_file_error(exc: BaseException) -> None:
    """Raise DVC's schema message (line, column) when `exc` or its chain is a schema refusal of a user's
    file; else return (the caller's own message, naming the revision, says the rest)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ == "YAMLValidationError":
            found = from_dvc(current)
            if found is not None:
                raise found from None
        current = current.__cause__ or current.__context__


def from_dvc(exc: BaseException) -> MlciError | None:
    """DVC's own error about a user's file (invalid YAML, a schema refusal, not UTF-8, a bad
    parametrization or config) as an MlciError; None for any other exception."""
    from dvc.exceptions import DvcException

    if not isinstance(exc, DvcException):
        return None
    kind_name = type(exc).__name__
    path = str(getattr(exc, "path", "") or "")
    if kind_name == "YAMLValidationError" and hasattr(exc, "exc"):
        return describe(path.lstrip("./") or "dvc.yaml", str(getattr(exc, "text", "")), exc.exc.errors)
    wanted = {"YAMLSyntaxError", "YAMLFileCorruptedError", "EncodingError", "ResolveError", "ConfigError"}
    wanted |= {"ParametrizationError", "StageFileCorruptedError", "LockfileCorruptedError"}
    if kind_name in wanted or "Corrupted" in kind_name or "Parametriz" in kind_name:
        cause = exc.__cause__
        detail = f": {one_line(cause, 200)}" if cause is not None and str(cause) else ""
        return MlciError(f"DVC cannot read a file: {one_line(exc, 300)}{detail}", _hint(path or "dvc.yaml"))
    return None
