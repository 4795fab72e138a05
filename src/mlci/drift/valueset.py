"""The distinct values of a reference column as a set of 64-bit hashes, bounded in memory.

"Unseen" (a value the reference never had) is decided against this set, never by which values a
profile happened to count by name. Up to `limit` distinct values (`ProfileSettings.hash_limit`,
1,000,000: 8 MB) the set is exact (a false "seen" needs a 64-bit hash collision, about n²/2⁶⁵).
Beyond that it becomes a sample *by value*: at level k only hashes whose top k bits are zero are
kept (1 value in 2^k, the same values whichever side looks), the level rising until the set fits.
A current value is then decided exactly when its hash is in the sampled range, and the share of
rows with unseen values is measured on those rows: an unbiased estimate from about 1/2^k of the
distinct values.

Hashes are BLAKE2b of the value's UTF-8 text (the text a profile keys categories by), so they are the
same in every process and on every machine, and a saved profile can be compared later.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def hash_values(keys: Iterable[str]) -> np.ndarray:
    """One uint64 per key (stable across processes)."""
    import numpy as np

    blake = hashlib.blake2b
    digest = b"".join(blake(k.encode("utf-8", "surrogatepass"), digest_size=8).digest() for k in keys)
    return np.frombuffer(digest, dtype="<u8").astype(np.uint64)


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
    """Distinct-value hashes gathered chunk by chunk: exact up to `limit`, then sampled by value."""

    def __init__(self, limit: int, level: int = 0) -> None:
        import numpy as np

        self.limit = max(1, limit)
        self.level = level
        self._sorted = np.empty(0, dtype=np.uint64)
        self._parts: list[np.ndarray] = []
        self._pending = 0

    def add(self, hashes: np.ndarray) -> None:
        kept = hashes[in_range(hashes, self.level)]
        self._parts.append(kept)
        self._pending += len(kept)
        if self._pending > self.limit:
            self._compact()

    def _compact(self) -> None:
        import numpy as np

        merged = np.unique(np.concatenate([self._sorted, *self._parts]))
        while len(merged) > self.limit:
            self.level += 1
            merged = merged[in_range(merged, self.level)]
        self._sorted, self._parts, self._pending = merged, [], 0

    def sorted(self) -> np.ndarray:
        if self._parts:
            self._compact()
        return self._sorted


def union(a: str, level_a: int, b: str, level_b: int, limit: int) -> tuple[str, int]:
    """Two encoded sets as one (profiles of chunks of one data set merged)."""
    out = HashSet(limit, max(level_a, level_b))
    out.add(decode(a))
    out.add(decode(b))
    return encode(out.sorted()), out.level


def distinct(text: str, level: int) -> int:
    """The number of distinct values a set stands for (estimated when sampled)."""
    return (len(text) * 3 // 4 // 8) << level
