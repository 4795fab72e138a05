"""Per-value results of a dictionary-encoded text column, computed once per distinct value.

Parquet stores a text column per row group as a dictionary of its distinct values plus indices, and
each row group carries its own dictionary: the same values, in another order. The per-value work of
a categorical column (its hash, length and words; whether the reference had it) is done once per
distinct value of the column and kept in a `Memo`; each chunk's dictionary is mapped onto the memo
with one hash lookup (`pc.index_in`, or nothing when it is the previous chunk's dictionary). A
50,000-value column then costs a lookup per chunk instead of a re-hash and three binary searches.

The memo is bounded (`limit` values); a column with more distinct values, or whose values collide
on their 64-bit hash or repeat within a dictionary, is worked on chunk by chunk as before
(`positions` returns None): reports are the same either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

# distinct values remembered per column: ~40 B each besides the text (hash, length, words, flags)
MEMO_LIMIT = 200_000


class Memo:
    """The distinct values of one column met so far, with their per-value results."""

    def __init__(self, limit: int = MEMO_LIMIT) -> None:
        import numpy as np

        self.limit = limit
        self.disabled = False
        self.universe: pa.Array | None = None
        self.hashes = np.empty(0, dtype=np.uint64)
        self.lengths = np.empty(0, dtype=np.float64)
        self.spaced = np.empty(0, dtype=np.float64)
        self._sorted = np.empty(0, dtype=np.uint64)
        self._flags: dict[str, np.ndarray] = {}
        self._names: dict[int, Any] = {}  # the values named so far as Python strings, by position
        self._last: tuple[pa.Array, np.ndarray] | None = None

    def positions(self, dictionary: pa.Array) -> np.ndarray | None:
        """Each dictionary entry's position in the memo, new values added; None: not memoised."""
        import numpy as np
        import pyarrow.compute as pc

        if self.disabled or dictionary.null_count:
            return None
        last = self._last
        if last is not None and (last[0] is dictionary or last[0].equals(dictionary)):
            return last[1]
        if self.universe is not None and dictionary.type != self.universe.type:
            dictionary = pc.cast(dictionary, self.universe.type)
        if self.universe is None or not len(self.universe):
            pos = np.full(len(dictionary), -1, dtype=np.int64)
        else:
            pos = _positions(pc.index_in(dictionary, value_set=self.universe))
        fresh = np.flatnonzero(pos < 0)
        if len(fresh):
            if len(self.hashes) + len(fresh) > self.limit:
                self._give_up()
                return None
            new = dictionary.take(_indices(fresh))
            if len(pc.unique(new)) < len(new):  # a value twice in this dictionary
                return None
            if not self._append(new):
                self._give_up()
                return None
            pos[fresh] = np.arange(len(self.hashes) - len(fresh), len(self.hashes))
        if len(pos) > 1 and int(np.bincount(pos).max()) > 1:  # a known value twice in it
            return None
        self._last = (_copy(dictionary), pos)  # a copy: the reader's buffers are not kept alive
        return pos

    def flag(self, name: str, compute: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """A per-value array named `name`, computed from the hashes of the values not yet covered."""
        import numpy as np

        have = self._flags.get(name)
        if have is None or len(have) < len(self.hashes):
            start = 0 if have is None else len(have)
            more = np.asarray(compute(self.hashes[start:]))
            have = more if have is None else np.concatenate([have, more])
            self._flags[name] = have
        return have

    def forget(self, name: str) -> None:
        """Drop a per-value array (what it was computed from changed)."""
        self._flags.pop(name, None)

    def names(self, positions: np.ndarray) -> list[Any]:
        """The values at memo positions as Python strings, each made once per column (a chunk names
        up to `max_categories` values: made anew per chunk they cost more than the rest of its work)."""
        import numpy as np

        cache = self._names
        wanted = positions.tolist()
        missing = sorted({p for p in wanted if p not in cache})
        if missing:
            assert self.universe is not None
            made = self.universe.take(_indices(np.asarray(missing, dtype=np.int64))).to_pylist()
            cache.update(zip(missing, made, strict=True))
        return [cache[p] for p in wanted]

    def _append(self, new: pa.Array) -> bool:
        """Add values the memo did not have; False when a hash collides (the memo then stops)."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from mlci.drift import valueset

        hashes = valueset.hash_strings(new)
        merged = np.sort(np.concatenate([self._sorted, hashes]))
        if len(merged) > 1 and bool((merged[1:] == merged[:-1]).any()):
            return False
        self._sorted = merged
        self.universe = new if self.universe is None else pa.concat_arrays([self.universe, new])
        self.hashes = np.concatenate([self.hashes, hashes])
        self.lengths = np.concatenate([self.lengths, _float64(pc.utf8_length(new))])
        spaced = _float64(pc.match_substring(new, " "))
        self.spaced = np.concatenate([self.spaced, spaced])
        return True

    def _give_up(self) -> None:
        """Too many values, or a hash collision: not worth a lookup per chunk any more."""
        self.disabled = True
        self.universe, self._last, self._flags, self._names = None, None, {}, {}


def int64_values(array: Any) -> np.ndarray:
    """An Arrow numeric array without nulls as int64 numpy, from its buffer (no pandas import)."""
    return _numpy(array, "int64")


def _positions(found: Any) -> np.ndarray:
    """`index_in`'s answer as int64, -1 where not found (`fill_null` with a Python -1 would make
    pyarrow import pandas: 0.4 s and 30 MiB)."""
    import numpy as np

    pos = int64_values(found).copy()
    if found.null_count:
        bits = np.unpackbits(np.frombuffer(found.buffers()[0], dtype=np.uint8), bitorder="little")
        pos[bits[found.offset : found.offset + len(found)] == 0] = -1
    return pos


def _copy(array: Any) -> Any:
    import numpy as np

    return array.take(_indices(np.arange(len(array))))


def _float64(array: Any) -> np.ndarray:
    return _numpy(array, "float64")


def _numpy(array: Any, kind: str) -> np.ndarray:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_boolean(array.type):
        array = pc.cast(array, pa.int8())
    arr = pc.cast(array, pa.int64() if kind == "int64" else pa.float64())
    if len(arr) == 0:
        return np.empty(0, dtype=kind)
    return np.frombuffer(arr.buffers()[1], dtype=kind, count=len(arr), offset=arr.offset * 8)


def _indices(positions: np.ndarray) -> Any:
    """An Arrow int64 array over a numpy array's buffer (`pa.array` of numpy imports pandas)."""
    import numpy as np
    import pyarrow as pa

    data = np.ascontiguousarray(positions, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


# --- a chunk counted on its dictionary codes (mlci.drift.profile_categorical) ---------------------------


class Coded:
    """A dictionary-encoded chunk counted on its codes: for each distinct code present (ascending),
    its value's memo position `at` and its count."""

    def __init__(self, memo: Memo, at: np.ndarray, counts: np.ndarray, codes: np.ndarray, chunk: Any) -> None:
        self.memo, self.at, self.counts, self.codes, self._chunk = memo, at, counts, codes, chunk
        self._rank: np.ndarray | None = None

    def first_seen(self, positions: np.ndarray) -> np.ndarray:
        """The order in which the values at `positions` first occur in the chunk (`value_counts`'
        order, the order a decoded chunk names new values in)."""
        import numpy as np
        import pyarrow.compute as pc

        if self._rank is None:
            order = int64_values(pc.value_counts(self._chunk).field("values").indices)
            self._rank = np.empty(len(self._chunk.dictionary), dtype=np.int64)
            self._rank[order] = np.arange(len(order))
        return np.asarray(self._rank[self.codes[positions]])


def namer(values: Any, at: np.ndarray | None) -> Callable[[np.ndarray], list[Any]]:
    """The names of the values at some positions (only the named values become Python strings);
    with `at`, `values` is a memo's and position p is the memo's value `at[p]`."""

    def name_of(positions: np.ndarray) -> list[Any]:
        return list(values.take(_indices(positions if at is None else at[positions])).to_pylist())

    return name_of


def memo_namer(memo: Memo, at: np.ndarray) -> Callable[[np.ndarray], list[Any]]:
    """The names of the values at some positions of a memoised chunk (position p is `at[p]`)."""

    def name_of(positions: np.ndarray) -> list[Any]:
        return memo.names(at[positions])

    return name_of


def repeats(hashes: np.ndarray) -> bool:
    """Whether a hash occurs twice: by sorting (numpy 2's hash-based `unique` is ~5x slower on uint64)."""
    import numpy as np

    ordered = np.sort(hashes)
    return bool((ordered[1:] == ordered[:-1]).any())


def dedupe(values: Any, hashes: np.ndarray, counts: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray]:
    """Counts of the same value (the same hash) added up, its first occurrence kept."""
    import numpy as np

    unique, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    summed = np.bincount(inverse, weights=counts).astype(np.int64)
    return values.take(_indices(first)), unique, summed
