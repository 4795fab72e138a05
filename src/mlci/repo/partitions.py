"""Hive-style partition folders (`date=2026-12-07/region=eu/part-0.parquet`) and `--where` filters on them.

A folder named `KEY=VALUE` below the data's base (the folder, or the part of a glob before its first
wildcard) gives each row of the files under it the text column KEY with VALUE (URL-decoded, as Hive and
pyarrow write it). `--where` keeps the files whose partition values satisfy every condition (ANDed),
before any file is opened. The grammar, one condition per expression:

    COLUMN OP VALUE          OP: == (or =), !=, <, <=, >, >=
    COLUMN in (V1, V2, ...)  COLUMN not in (V1, V2, ...)

Values may be quoted ('eu', "eu"). Two values compare as numbers when both read as numbers, else as
text (ISO dates `2026-12-07` order correctly as text). A COLUMN must be a partition column of the data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from mlci.errors import MlciError

if TYPE_CHECKING:
    import pyarrow as pa

_GRAMMAR = (
    "COLUMN OP VALUE with OP one of == = != < <= > >=, or COLUMN in (V1, V2, ...), or COLUMN not in (...); "
    "e.g. --where 'date >= 2026-12-01' --where 'region in (eu, us)'"
)
_CONDITION = re.compile(
    r"^\s*(?P<column>[A-Za-z_][A-Za-z0-9_.\-]*)\s*"
    r"(?:(?P<op>==|!=|<=|>=|=|<|>)\s*(?P<value>[^=<>!\s].*?)|(?P<set>not\s+in|in)\s*\((?P<values>.*)\))\s*$",
    re.IGNORECASE,
)
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Condition:
    """One parsed `--where` expression: `column op values` (one value but for `in`/`not in`)."""

    column: str
    op: str  # ==, !=, <, <=, >, >=, in, not in
    values: tuple[str, ...]
    text: str  # as the user wrote it, for messages

    def holds(self, value: str) -> bool:
        if self.op == "in":
            return any(_compare(value, v) == 0 for v in self.values)
        if self.op == "not in":
            return all(_compare(value, v) != 0 for v in self.values)
        order = _compare(value, self.values[0])
        return {
            "==": order == 0,
            "!=": order != 0,
            "<": order < 0,
            "<=": order <= 0,
            ">": order > 0,
            ">=": order >= 0,
        }[self.op]


def parse(expressions: Iterable[str]) -> tuple[Condition, ...]:
    """The conditions of `--where` expressions; MlciError (exit 2) naming a bad one and the grammar."""
    return tuple(_parse_one(text) for text in expressions)


def _parse_one(text: str) -> Condition:
    match = _CONDITION.match(text)
    if match is None:
        raise MlciError(f"--where/monitor.where {text!r} is not a condition", f"write {_GRAMMAR}")
    column = match.group("column")
    if match.group("op"):
        op = "==" if match.group("op") == "=" else match.group("op")
        values: tuple[str, ...] = (_unquoted(match.group("value")),)
    else:
        op = " ".join(match.group("set").lower().split())
        values = tuple(_unquoted(v) for v in match.group("values").split(",") if v.strip())
    if not values or any(not v for v in values):
        raise MlciError(f"--where/monitor.where {text!r} has an empty value", f"write {_GRAMMAR}")
    return Condition(column, op, values, text.strip())


def values_of(name: str, base: str) -> dict[str, str]:
    """The partition values of the file `name` (a path or URL) below `base`: its `KEY=VALUE` folders
    between `base` and the file's own name; {} when `base` is "" or `name` is not below it."""
    if not base:
        return {}
    prefix = base.rstrip("/") + "/"
    if not name.startswith(prefix):
        return {}
    found: dict[str, str] = {}
    for part in name[len(prefix) :].split("/")[:-1]:
        key, sep, value = part.partition("=")
        if sep and _KEY.match(key):
            found[unquote(key)] = unquote(value)
    return found


def keep(names: Sequence[str], base: str, conditions: Sequence[Condition], spec: str) -> list[int]:
    """The indexes of `names` whose partition values satisfy every condition (a file lacking a
    condition's column fails it). MlciError (exit 2) when a condition names no partition column."""
    values = [values_of(n, base) for n in names]
    known = sorted({k for v in values for k in v})
    for condition in conditions:
        if condition.column not in known:
            raise MlciError(
                f"--where/monitor.where {condition.text!r}: {condition.column!r} is not a partition column of {spec} "
                f"(its partition columns: {', '.join(known) or 'none: no KEY=VALUE folders below it'})",
                "filter on the KEY of a KEY=VALUE folder below the path given, e.g. "
                "--where 'date >= 2026-12-01' for .../date=2026-12-07/ folders",
            )
    return [
        i for i, v in enumerate(values) if all(c.column in v and c.holds(v[c.column]) for c in conditions)
    ]


def with_columns(
    batch: pa.RecordBatch, values: dict[str, str], columns: Sequence[str] | None
) -> pa.RecordBatch:
    """`batch` with a text column per partition value (those in `columns`, when given) that it lacks."""
    import pyarrow as pa

    added = [k for k in values if k not in batch.schema.names and (columns is None or k in columns)]
    if not added:
        return batch
    arrays = list(batch.columns)
    fields = list(batch.schema)
    for key in added:
        codes = pa.array([0] * batch.num_rows, pa.int32())
        arrays.append(pa.DictionaryArray.from_arrays(codes, pa.array([values[key]])).dictionary_decode())
        fields.append(pa.field(key, pa.string()))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields, metadata=batch.schema.metadata))


def file_columns(columns: Sequence[str] | None, values: dict[str, str]) -> list[str] | None:
    """The columns to ask a file for: `columns` without the partition columns it does not hold."""
    return None if columns is None else [c for c in columns if c not in values]


def _compare(left: str, right: str) -> int:
    try:
        a: float | str = float(left)
        b: float | str = float(right)
    except ValueError:
        a, b = left, right
    return (a > b) - (a < b)  # type: ignore[operator]


def _unquoted(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text
