"""The one reader of every YAML and JSON file mlci parses, with the same limits for all.

`mlci.yaml`, data contracts, `dvc.yaml`, `dvc.lock`, `.dvc` files, params, metrics, an event payload, a
fork's report bundle, a saved profile: each goes through `load_yaml`/`load_json` (text or bytes already
in hand) or `read_yaml`/`read_json` (a file). Before parsing, the size, nesting depth and YAML alias
expansion are bounded (`mlci.safety.check_data_file`); a file that breaks a bound, is not UTF-8 or does
not parse is an MlciError (exit 2) naming the file, the line and column, and the fix — never a
RecursionError or a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlci.errors import MlciError
from mlci.safety import MAX_DATA_BYTES, check_data_file, one_line, too_big


def decode(data: str | bytes, name: str) -> str:
    """`data` as text; bytes that are not UTF-8 are an MlciError naming the file and the byte."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MlciError(
            f"{one_line(name)}: not UTF-8 text ({exc.reason} at byte {exc.start})",
            "save the file as UTF-8",
        ) from None


def read_bytes(path: Path | str, name: str) -> bytes:
    """A file's bytes, refused without reading when larger than the bound."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_DATA_BYTES:
            raise too_big(name, size)
        return file.read_bytes()
    except OSError as exc:
        raise MlciError(f"{one_line(name)}: cannot be read ({exc.strerror or exc})") from None


def load_yaml(data: str | bytes, name: str, hint: str | None = None) -> Any:
    """Parse YAML text (libyaml when present) after the bounds; errors name line and column."""
    import yaml

    raw = data.encode("utf-8") if isinstance(data, str) else data
    check_data_file(name, raw)
    text = decode(data, name)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        error = _pure_python_error(text, exc)  # its words are clearer than libyaml's
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise MlciError(
            f"{one_line(name)}: invalid YAML{where}: {one_line(problem)}",
            hint or "check the indentation and quoting on that line (a YAML linter shows it too)",
        ) from None
    except RecursionError:  # pragma: no cover - the depth bound comes first
        raise MlciError(f"{one_line(name)}: nested too deeply to read", hint) from None


def _pure_python_error(text: str, fast: Exception) -> Exception:
    """The same text's error from PyYAML's own parser (only on failure: it is ~10x slower)."""
    import yaml

    try:
        yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        return exc
    return fast


def load_json(data: str | bytes, name: str, hint: str | None = None) -> Any:
    """Parse JSON text after the bounds; errors name line and column."""
    import json

    raw = data.encode("utf-8") if isinstance(data, str) else data
    check_data_file(name if name.endswith(".json") else name + ".json", raw)
    text = decode(data, name)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MlciError(
            f"{one_line(name)}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            hint or "fix the JSON on that line",
        ) from None
    except RecursionError:  # pragma: no cover - the depth bound comes first
        raise MlciError(f"{one_line(name)}: nested too deeply to read", hint) from None


def read_yaml(path: Path | str, name: str, hint: str | None = None) -> Any:
    """`load_yaml` of a file (refused unread when too big)."""
    return load_yaml(read_bytes(path, name), name, hint)


def read_json(path: Path | str, name: str, hint: str | None = None) -> Any:
    """`load_json` of a file (refused unread when too big)."""
    return load_json(read_bytes(path, name), name, hint)
