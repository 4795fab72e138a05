"""The one classification of columns, used by profiles, drift, data checks and contracts.

Two levels:

- `type_kind(dtype)`: what a column's *type* is — ``int``, ``float``, ``bool``, ``datetime``,
  ``duration``, ``str``, ``category``, ``null`` or ``other`` — for an Arrow type (profiles) and a
  numpy/pandas dtype (the data checks' pandas chunks) alike. `drift_kind` maps it to how drift
  compares it (``numeric``, ``categorical``, ``empty``, ``unsupported``), `contract_type` to the
  type a data contract declares (``int``, ``float``, ``bool``, ``datetime``, ``category``, ``str``).
- `column_class(profile)`: what a column *is* once profiled — the kinds docs/monitor.md tabulates
  with their statistics and degenerate cases: ``numeric``, ``datetime``, ``boolean``,
  ``categorical``, ``categorical-high`` (more distinct values than the profile names), ``text``
  (free text: not compared), ``all-null``, ``constant`` and ``unsupported``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mlci.drift.profile_model import ColumnProfile, Kind

TypeKind = Literal["int", "float", "bool", "datetime", "duration", "str", "category", "null", "other"]
ColumnClass = Literal[
    "numeric",
    "datetime",
    "boolean",
    "categorical",
    "categorical-high",
    "text",
    "all-null",
    "constant",
    "unsupported",
]

# free text: most values distinct, long, and made of words (a sentence, an address, a comment)
TEXT_DISTINCT_SHARE = 0.5
TEXT_MEAN_LENGTH = 20.0
TEXT_SPACED_SHARE = 0.5

_NUMPY: dict[str, TypeKind] = {
    "b": "bool",
    "i": "int",
    "u": "int",
    "f": "float",
    "M": "datetime",
    "m": "duration",
    "O": "str",
    "U": "str",
    "S": "str",
}


def type_kind(dtype: Any) -> TypeKind:
    """The kind of an Arrow type, or of a numpy/pandas dtype (without importing pandas)."""
    import pyarrow as pa

    if isinstance(dtype, pa.DataType):
        return _arrow_kind(dtype)
    name = type(dtype).__name__
    if name == "CategoricalDtype":
        return "category"
    if name == "ArrowDtype":
        return _arrow_kind(dtype.pyarrow_dtype)
    if name == "StringDtype":
        return "str"
    return _NUMPY.get(getattr(dtype, "kind", "O"), "other")


def _arrow_kind(t: Any) -> TypeKind:
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        value = _arrow_kind(t.value_type)
        return "category" if value == "str" else value
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float"
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return "datetime"
    if pa.types.is_interval(t):  # months, days and nanoseconds at once: no one unit
        return "other"
    if pa.types.is_temporal(t):  # times of day, durations: numbers in their own unit
        return "duration"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or _is_string_view(t):
        return "str"
    if pa.types.is_null(t):
        return "null"
    return "other"


def _is_string_view(t: Any) -> bool:
    import pyarrow as pa

    return bool(getattr(pa.types, "is_string_view", lambda _: False)(t))


def not_compared(dtype: Any) -> str:
    """Why a column of this Arrow type (or its text) is listed as not compared, and what would compare it."""
    text = str(dtype)
    if text == "null":
        return "no values on either side: only the missing share is known"
    if "binary" in text:
        return f"type {text}: bytes have neither an order nor readable categories; decode them to text to compare"
    if text.startswith(
        ("list", "large_list", "fixed_size_list", "struct", "map", "dense_union", "sparse_union")
    ):
        return f"type {text}: nested values are not compared; flatten them into columns of their own"
    if "interval" in text:
        return (
            f"type {text}: a calendar interval (months, days, nanoseconds) has no one unit; store a duration"
        )
    return f"type {text} is not compared (neither numeric nor text)"


def drift_kind(kind: TypeKind) -> Kind:
    """How drift compares a column of this type: numbers (dates as epoch numbers) or counts of values."""
    if kind in ("int", "float", "datetime", "duration"):
        return "numeric"
    if kind in ("bool", "str", "category"):
        return "categorical"
    if kind == "null":
        return "empty"
    return "unsupported"


def contract_type(kind: TypeKind) -> str:
    """The type a data contract declares for a column of this kind (any other kind reads as text)."""
    return kind if kind in ("int", "float", "bool", "datetime", "category") else "str"


def merge_type_kinds(old: str, new: str) -> str:
    """The contract type of a column whose chunks were read as `old` and `new` (pandas infers per chunk)."""
    if old == new:
        return old
    if {old, new} <= {"int", "float", "bool"}:
        return "float" if "float" in (old, new) else "int"
    return "str"


def is_free_text(col: ColumnProfile) -> bool:
    """Mostly distinct, long values made of words: a value-by-value comparison says nothing there."""
    present = col.present
    if not present or col.kind != "categorical" or col.type_kind == "bool":
        return False
    distinct = col.distinct or len(col.categories) + (1 if col.other else 0)
    return (
        distinct / present >= TEXT_DISTINCT_SHARE
        and col.length_sum / present >= TEXT_MEAN_LENGTH
        and col.spaced / present >= TEXT_SPACED_SHARE
    )


def column_class(col: ColumnProfile) -> ColumnClass:
    """What a profiled column is (docs/monitor.md, "Column kinds")."""
    if col.kind == "unsupported":
        return "unsupported"
    if not col.present:
        return "all-null"
    if col.kind == "numeric":
        if col.min == col.max:
            return "constant"
        return "datetime" if col.type_kind == "datetime" else "numeric"
    if len(col.categories) == 1 and not col.other:
        return "constant"
    if col.type_kind == "bool":
        return "boolean"
    if is_free_text(col):
        return "text"
    if col.other and not col.against_reference:  # values past the named ones were pooled
        return "categorical-high"
    return "categorical"
