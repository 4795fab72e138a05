"""Arrow columns as the data checks read them: numbers, missing values, text, row hashes.

Everything works on the buffers of pyarrow arrays with pyarrow.compute and numpy views, so the
data check's pass over a table never converts a chunk to pandas (nor imports it: 0.4 s). Columns
of the common types take this path (`is_plain`); the others (dates, timestamps, dictionaries,
booleans with missing values) are handed to pandas one column at a time by the callers, which
keeps their results as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

# the hash of a missing cell (any column type), and the step that chains column hashes into a row's
MISSING = 0x6A09E667F3BCC909
CHAIN = 0x9E3779B97F4A7C15


def encode_text(batch: pa.RecordBatch) -> pa.RecordBatch:
    """`batch` with its text columns dictionary-encoded, marked as read so (`dictionary_read`): each
    distinct value is then hashed, counted and looked up once, by the checks and the profile alike."""
    import json

    import pyarrow as pa
    import pyarrow.compute as pc

    from mlci.repo.tables import DICTIONARY_READ, dictionary_read

    names = [n for n, a in zip(batch.schema.names, batch.columns, strict=True) if is_text(a)]
    if not names:
        return batch
    arrays = [pc.dictionary_encode(a) if is_text(a) else a for a in batch.columns]
    marked = sorted(dictionary_read(batch) | set(names))
    meta = {**(batch.schema.metadata or {}), DICTIONARY_READ: json.dumps(marked).encode()}
    fields = [pa.field(f.name, a.type, f.nullable) for f, a in zip(batch.schema, arrays, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields, metadata=meta))


def text_read(batch: pa.RecordBatch) -> set[str]:
    """The text columns `batch` holds dictionary-encoded (`encode_text`, or a Parquet reader's)."""
    import pyarrow as pa

    from mlci.repo.tables import dictionary_read

    marked = dictionary_read(batch)
    return {
        n
        for n, a in zip(batch.schema.names, batch.columns, strict=True)
        if n in marked and pa.types.is_dictionary(a.type) and is_text(a.dictionary)
    }


def codes(array: pa.Array) -> np.ndarray:
    """A dictionary array's codes as numpy (a view; a null's slot holds any code: mask it)."""
    return _codes(array.indices)


def is_plain(array: pa.Array) -> bool:
    """A column this module answers for exactly as pandas did: numbers, text, booleans without nulls."""
    import pyarrow as pa

    t = array.type
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return True
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return True
    return bool(pa.types.is_boolean(t)) and array.null_count == 0


def is_number(array: pa.Array) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(array.type) or pa.types.is_floating(array.type))


def is_bool(array: pa.Array) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_boolean(array.type))


def is_text(array: pa.Array) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(array.type) or pa.types.is_large_string(array.type))


def plain_kind(array: pa.Array) -> str:
    """The contract type pandas gave a plain column: an integer column with missing values was float."""
    import pyarrow as pa

    t = array.type
    if pa.types.is_integer(t):
        return "int" if array.null_count == 0 else "float"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_boolean(t):
        return "bool"
    return "str"


def numbers(array: pa.Array) -> np.ndarray:
    """A numeric or boolean column as float64, NaN where missing (a view when it has no nulls)."""
    import numpy as np
    import pyarrow as pa

    from mlci.drift.profile import float64_values

    if pa.types.is_float64(array.type) and not array.null_count and len(array):
        return np.frombuffer(array.buffers()[1], dtype=np.float64, count=len(array), offset=array.offset * 8)
    return float64_values(array)


def valid(array: pa.Array) -> np.ndarray:
    """True where the cell is not null (Arrow's validity bitmap; NaN is handled by the callers)."""
    import numpy as np

    n = len(array)
    if not array.null_count:
        return np.ones(n, dtype=bool)
    bits = np.unpackbits(np.frombuffer(array.buffers()[0], dtype=np.uint8), bitorder="little")
    return np.asarray(bits[array.offset : array.offset + n] == 1)


def text(value: Any) -> str:
    """A value as the text a contract's `allowed` list holds: 1.0 read from a CSV int column is "1"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def cell_text(value: Any) -> str:
    """`text`, or "(missing)" for a missing value."""
    return "(missing)" if value is None or (isinstance(value, float) and value != value) else text(value)


def show(value: Any) -> str:
    """A cell as a reader wants it in an example: missing, a plain number, or quoted text."""
    if value is None or (isinstance(value, float) and value != value):
        return "(missing)"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def strings(values: Sequence[str]) -> pa.Array:
    """An Arrow string array from Python strings, built from buffers (`pa.array` imports pandas)."""
    import numpy as np
    import pyarrow as pa

    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return pa.Array.from_buffers(
        pa.large_string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    )


def take(array: pa.Array, positions: np.ndarray) -> pa.Array:
    from mlci.drift.entries import _indices

    return array.take(_indices(positions))


# --- row hashes ---------------------------------------------------------------------------------


def row_hashes(columns: Sequence[pa.Array]) -> np.ndarray:
    """One uint64 per row: equal rows hash equal in every chunk, file and process.

    A number hashes by its value (5 read as int and 5.0 read as float are the same), text by its
    UTF-8 bytes, a missing cell (null or NaN) as one constant. Column values are chained in column
    order with a multiply-xorshift step, and the result goes through SplitMix64's finaliser."""
    import numpy as np

    from mlci.drift.valueset import _mix

    n = len(columns[0]) if columns else 0
    out = np.zeros(n, dtype=np.uint64)
    step, shift = np.uint64(CHAIN), np.uint64(29)
    with np.errstate(over="ignore"):
        for array in columns:
            out *= step
            out += column_hashes(array)
            out ^= out >> shift
    return _mix(out)


def column_hashes(array: pa.Array) -> np.ndarray:
    """What each cell of a column stands for in its row's hash (uint64)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from mlci.drift.valueset import hash_strings

    hashes: np.ndarray

    t = array.type
    if pa.types.is_dictionary(t):
        values = array.dictionary
        text = pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
        inner = hash_strings(values) if text or _is_binary(values.type) else column_hashes(values)
        if len(inner):
            codes = _codes(array.indices)
            if array.null_count:  # a null's slot may hold any code: clipped here, masked below
                codes = np.clip(codes, 0, len(inner) - 1)
            hashes = inner[codes]
        else:
            hashes = np.full(len(array), MISSING, dtype=np.uint64)
    elif pa.types.is_string(t) or pa.types.is_large_string(t) or _is_binary(t):
        # each distinct value hashed once: text columns repeat their values
        return column_hashes(pc.dictionary_encode(array))
    elif pa.types.is_integer(t):
        hashes = _int_hashes(_int64(array))
    elif pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t):
        hashes = _float_hashes(numbers(array))
    elif pa.types.is_temporal(t):
        width = pa.int32() if pa.types.is_date32(t) or pa.types.is_time32(t) else pa.int64()
        hashes = _int64(pc.cast(pc.cast(array, width), pa.int64())).view(np.uint64).copy()
    elif pa.types.is_null(t):
        hashes = np.full(len(array), MISSING, dtype=np.uint64)
    else:  # lists, structs, ...: their text
        hashes = hash_strings(pc.cast(array, pa.large_string())).copy()
    if array.null_count and not pa.types.is_null(t):
        hashes = hashes.copy() if not hashes.flags.writeable else hashes
        hashes[~valid(array)] = np.uint64(MISSING)
    return hashes


def _float_hashes(values: np.ndarray) -> np.ndarray:
    """A number stands for its float64 bits; a missing one (NaN) for MISSING."""
    import numpy as np

    missing = np.isnan(values)
    if not missing.any():
        return values.view(np.uint64)
    hashes = values.view(np.uint64).copy()
    hashes[missing] = np.uint64(MISSING)
    return hashes


def _int_hashes(ints: np.ndarray) -> np.ndarray:
    """Integers stand for the float64 bits of the same value (5 read as int or as 5.0 hash equal);
    beyond 2**53, where float64 is not exact, for their own bits."""
    import numpy as np

    hashes = ints.astype(np.float64).view(np.uint64)
    huge = np.abs(ints) > 2**53
    if huge.any():
        hashes[huge] = ints[huge].view(np.uint64)
    return hashes


def _int64(array: pa.Array) -> np.ndarray:
    """An integer column as int64 numpy (nulls as whatever their slot holds: callers mask them)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    # uint64: the same bits viewed as int64 (equal values hash equal); other widths cast
    arr = array.view(pa.int64()) if pa.types.is_uint64(array.type) else pc.cast(array, pa.int64())
    if len(arr) == 0:
        return np.empty(0, dtype=np.int64)
    return np.frombuffer(arr.buffers()[1], dtype=np.int64, count=len(arr), offset=arr.offset * 8)


def _codes(indices: pa.Array) -> np.ndarray:
    """A dictionary's integer codes as a numpy view of their buffer (no cast, no copy)."""
    import numpy as np
    import pyarrow as pa

    dtype = np.dtype(
        f"{'u' if pa.types.is_unsigned_integer(indices.type) else ''}int{indices.type.bit_width}"
    )
    if len(indices) == 0:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(
        indices.buffers()[1], dtype=dtype, count=len(indices), offset=indices.offset * dtype.itemsize
    )


def _is_binary(t: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_binary(t) or pa.types.is_large_binary(t))


def bools(array: pa.Array) -> np.ndarray:
    """A boolean Arrow array (nulls read as False) as numpy bool, from its bitmaps."""
    import numpy as np

    n = len(array)
    if n == 0:
        return np.zeros(0, dtype=bool)
    bits = np.unpackbits(np.frombuffer(array.buffers()[1], dtype=np.uint8), bitorder="little")
    out = np.asarray(bits[array.offset : array.offset + n] == 1)
    return out & valid(array) if array.null_count else out
