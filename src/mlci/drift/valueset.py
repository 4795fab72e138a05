"""The distinct values of a reference column as a set of 64-bit hashes, bounded in memory.

"Unseen" (a value the reference never had) is decided against this set, never by which values a
profile happened to count by name. Up to `limit` distinct values (`ProfileSettings.hash_limit`,
1,000,000: 8 MB) the set is exact (a false "seen" needs a 64-bit hash collision, about n²/2⁶⁵).
Beyond that it becomes a sample *by value*: at level k only hashes whose top k bits are zero are
kept (1 value in 2^k, the same values whichever side looks), the level rising until the set fits.
A current value is then decided exactly when its hash is in the sampled range, and the share of
rows with unseen values is measured on those rows: an unbiased estimate from about 1/2^k of the
distinct values.

Hashes are of the value's UTF-8 text (the text a profile keys categories by; `hash_strings`), so
they are the same in every process and on every machine, and a saved profile can be compared later.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


def hash_values(keys: Iterable[str]) -> np.ndarray:
    """One uint64 per key (stable across processes): `hash_strings` of their UTF-8 text."""
    import numpy as np
    import pyarrow as pa

    # built from buffers: `pa.array` of a list imports pandas (0.4-1 s of a monitor run)
    encoded = [key.encode("utf-8") for key in keys]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    array = pa.Array.from_buffers(
        pa.large_string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    )
    return hash_strings(array)


def hash_strings(array: pa.Array) -> np.ndarray:
    """One uint64 per value of an Arrow string array without nulls, computed on its buffers.

    Each byte is mixed with its position in the value (SplitMix64's finaliser), the terms are summed,
    and the sum is mixed with the length: no Python loop per value (a million values in ~0.1 s), the
    same hash in every process. Collisions of distinct values: about n²/2⁶⁵ for n values."""
    import numpy as np
    import pyarrow as pa

    n = len(array)
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    wide = pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
    width = 8 if wide else 4
    buffers = array.buffers()
    offsets = np.frombuffer(
        buffers[1], dtype=np.int64 if wide else np.int32, count=n + 1, offset=array.offset * width
    ).astype(np.int64)
    first = int(offsets[0])
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.empty(0, np.uint8)
    body = data[first : int(offsets[-1])].astype(np.uint64)
    lengths = np.diff(offsets)
    position = np.arange(len(body), dtype=np.int64) - np.repeat(offsets[:-1] - first, lengths)
    terms = _mix((position.astype(np.uint64) << np.uint64(8)) | body)
    summed = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(terms, dtype=np.uint64)])
    ends = offsets - first
    per_value = summed[ends[1:]] - summed[ends[:-1]]
    return _mix(per_value ^ _mix(lengths.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)))


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (wrapping uint64 arithmetic)."""
    import numpy as np

    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return np.asarray(x ^ (x >> np.uint64(31)))


def in_range(hashes: np.ndarray, level: int) -> np.ndarray:
    """Which hashes a set of this level decides (all at level 0)."""
    import numpy as np

    if level <= 0:
        return np.ones(len(hashes), dtype=bool)
    return np.asarray((hashes >> np.uint64(64 - level)) == 0)


def contains(sorted_hashes: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """Which of `hashes` are in `sorted_hashes`: a binary search."""
    import numpy as np

    if not len(sorted_hashes):
        return np.zeros(len(hashes), dtype=bool)
    idx = np.minimum(np.searchsorted(sorted_hashes, hashes), len(sorted_hashes) - 1)
    return np.asarray(sorted_hashes[idx] == hashes)


def encode(sorted_hashes: np.ndarray) -> str:
    return base64.b64encode(sorted_hashes.astype("<u8").tobytes()).decode("ascii")


def decode(text: str) -> np.ndarray:
    import numpy as np

    if not text:
        return np.empty(0, dtype=np.uint64)
    return np.frombuffer(base64.b64decode(text), dtype="<u8").astype(np.uint64)


class HashSet:
    """Distinct-value hashes gathered chunk by chunk: exact up to `limit`, then sampled by value.

    Each hash keeps how often its value occurred, saturating at 3: the counts of values seen once
    and twice (`singletons`) are what Good–Turing estimates the unseen share of a new sample from."""

    def __init__(self, limit: int, level: int = 0) -> None:
        import numpy as np

        self.limit = max(1, limit)
        self.level = level
        self._sorted = np.empty(0, dtype=np.uint64)
        self._counts = np.empty(0, dtype=np.uint8)
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending = 0

    def add(self, hashes: np.ndarray, counts: np.ndarray | None = None) -> None:
        """Add values by hash, each occurring `counts` times (once when not given)."""
        import numpy as np

        keep = in_range(hashes, self.level)
        times = np.ones(len(hashes), dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
        self._parts.append((hashes[keep], times[keep]))
        self._pending += int(keep.sum())
        if self._pending > self.limit:
            self._compact()

    def _compact(self) -> None:
        import numpy as np

        hashes = np.concatenate([self._sorted, *(h for h, _ in self._parts)])
        counts = np.concatenate([self._counts.astype(np.int64), *(c for _, c in self._parts)])
        order = np.argsort(hashes, kind="stable")
        hashes, counts = hashes[order], counts[order]
        first = np.ones(len(hashes), dtype=bool)
        first[1:] = hashes[1:] != hashes[:-1]
        merged = hashes[first]
        summed = np.add.reduceat(counts, np.flatnonzero(first)) if len(hashes) else counts
        while len(merged) > self.limit:
            self.level += 1
            keep = in_range(merged, self.level)
            merged, summed = merged[keep], summed[keep]
        self._sorted, self._counts = merged, np.minimum(summed, 3).astype(np.uint8)
        self._parts, self._pending = [], 0

    def sorted(self) -> np.ndarray:
        if self._parts:
            self._compact()
        return self._sorted

    def singletons(self) -> tuple[int, int]:
        """(values seen once, values seen twice), scaled up by the sampling level."""
        self.sorted()
        return int((self._counts == 1).sum()) << self.level, int((self._counts == 2).sum()) << self.level


def sorted_unique(hashes: np.ndarray) -> np.ndarray:
    """`np.unique` by sorting: numpy 2's default for uint64 hashes them, ~5x slower here."""
    import numpy as np

    ordered = np.sort(hashes)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


def union(a: str, level_a: int, b: str, level_b: int, limit: int) -> tuple[str, int]:
    """Two encoded sets as one (profiles of chunks of one data set merged)."""
    out = HashSet(limit, max(level_a, level_b))
    out.add(decode(a))
    out.add(decode(b))
    return encode(out.sorted()), out.level


def distinct(text: str, level: int) -> int:
    """The number of distinct values a set stands for (estimated when sampled)."""
    return (len(text) * 3 // 4 // 8) << level
