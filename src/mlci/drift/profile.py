"""Column profiles: the bounded-memory summary of a table that drift is computed from.

A profile is built chunk by chunk from Arrow record batches, so memory is bounded by the profile,
not by the data. Per column it keeps the row count, the missing count, and

- numeric: mean/std (Welford, mergeable), min/max, counts on *fine* quantile bins of the reference
  (``fine_bins`` equal-frequency bins, whose every ``fine_bins // bins``-th edge makes the *coarse*
  bins used for PSI and histograms), and the exact values while there are at most ``exact_limit``
  (small samples get exact tests);
- categorical: the count of each value (at most ``max_categories``, the rest counted as "other"),
  and for a reference the 64-bit hashes of its distinct values (`mlci.drift.valueset`: exact up to
  ``hash_limit`` values, then sampled by value). A current profile counts the reference's named
  values by name, pools the other values the reference had as "other", and counts the values it
  never had as unseen: "unseen" is decided against the hashes, never by the pooling.

The reference profile decides the bin edges; a current profile is built with the reference's edges
(`ProfileBuilder(reference=...)`), so two profiles can be compared bin by bin, saved as JSON,
and profiles of the same edges merged (`merge`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from mlci.drift import kinds
from mlci.drift.profile_model import (
    PROFILE_VERSION,
    ColumnProfile,
    Kind,
    Profile,
    ProfileSettings,
    combine,
    merge,
)
from mlci.errors import MlciError
from mlci.repo.tables import dictionary_read

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from mlci.drift import valueset
    from mlci.drift.binning import Binner
    from mlci.drift.entries import Memo

__all__ = [
    "PROFILE_VERSION",
    "BatchSource",
    "ColumnProfile",
    "Kind",
    "Profile",
    "ProfileBuilder",
    "ProfileSettings",
    "build_current",
    "build_reference",
    "column_kind",
    "float64_values",
    "iter_numeric",
    "merge",
]


# --- building ------------------------------------------------------------------------------------


def column_kind(arrow_type: pa.DataType) -> Kind:
    """How drift compares a column of this Arrow type (mlci.drift.kinds, the one classification)."""
    return kinds.drift_kind(kinds.type_kind(arrow_type))


class ProfileBuilder:
    """Feed record batches with `add`, then `finish`.

    Without a reference it gathers a sample per numeric column (pass 1) and `finish(edges=True)`
    places the quantile edges; with a reference it counts straight into the reference's bins.
    """

    def __init__(self, settings: ProfileSettings, reference: Profile | None = None) -> None:
        self.settings = settings
        self.reference = reference
        self.columns: dict[str, ColumnProfile] = {}
        self.rows = 0
        self._samples: dict[str, _Sampler] = {}
        self._binners: dict[str, Binner] = {}
        self._value_sets: dict[str, valueset.HashSet] = {}  # reference: distinct-value hashes
        self._ref_hashes: dict[str, np.ndarray] = {}  # current: the reference's, decoded
        self._named: dict[str, np.ndarray] = {}  # sorted hashes of the values counted by name
        self._memos: dict[str, Memo] = {}  # text columns: per-value results kept across chunks

    def add(self, batch: pa.RecordBatch | pa.Table, *, stats: bool = True, counts: bool = True) -> None:
        if stats:
            self.rows += batch.num_rows
        encoded = dictionary_read(batch)  # text kept dictionary-encoded by the reader: still text
        for name, array in zip(batch.schema.names, batch.columns, strict=True):
            col = self._column(name, array.type.value_type if name in encoded else array.type)
            if stats:
                col.count += len(array)
            if col.kind == "numeric":
                self._add_numeric(col, array, stats=stats, counts=counts)
            elif col.kind == "categorical" and stats:
                self._add_categorical(col, array)
            elif stats:
                col.missing += array.null_count if col.kind != "empty" else len(array)

    def binned_columns(self) -> list[str]:
        """The columns a counting pass (`add(stats=False)`) counts: numeric ones with bins."""
        return [name for name in self.columns if name in self._binners]

    def place_edges(self) -> None:
        """Pass 1 is over: equal-frequency edges from each numeric column's sample."""
        import numpy as np

        fine, coarse = self.settings.fine_bins, self.settings.bins
        levels = np.arange(1, fine) / fine
        for name, sampler in self._samples.items():
            col = self.columns[name]
            sample = sampler.values()
            if not len(sample):
                continue
            raw = np.quantile(sample, levels, method="inverted_cdf")
            col.edges = [float(x) for x in np.unique(raw)]
            step = fine // coarse
            col.coarse_edges = sorted({float(raw[i - 1]) for i in range(step, fine, step)})
            col.counts = [0] * (len(col.edges) + 1)
            col.sums = [0.0] * (len(col.edges) + 1)
            self._binners[name] = _binner(col.edges)
        self._samples.clear()

    def finish(self, source: dict[str, Any] | None = None) -> Profile:
        from mlci.drift import valueset

        for col in self.columns.values():
            if col.values is not None and col.kind != "numeric":
                col.values = None
            values = self._value_sets.get(col.name)
            if values is not None and col.kind == "categorical":
                col.value_hashes, col.hash_level = valueset.encode(values.sorted()), values.level
                col.distinct = valueset.distinct(col.value_hashes, col.hash_level)
        return Profile(dict(self.columns), self.rows, self.settings, dict(source or {}))

    # -- per kind --

    def _column(self, name: str, arrow_type: pa.DataType) -> ColumnProfile:
        col = self.columns.get(name)
        kind = column_kind(arrow_type)
        if col is None:
            ref = self.reference.columns.get(name) if self.reference else None
            col = ColumnProfile(name=name, kind=kind, dtype=str(arrow_type))
            col.type_kind = kinds.type_kind(arrow_type)
            if ref is not None and ref.kind == "numeric" and kind in ("numeric", "empty"):
                col.kind = "numeric"
                col.edges, col.coarse_edges = list(ref.edges), list(ref.coarse_edges)
                col.counts = [0] * (len(ref.edges) + 1) if ref.counts else []
                col.sums = [0.0] * len(col.counts)
                if ref.counts:  # a reference column with no values has no bins to count into
                    self._binners[name] = _binner(ref.edges)
            elif self.reference is None and kind == "numeric":
                self._samples[name] = _Sampler(self.settings.sample_size)
            self.columns[name] = col
        elif col.kind == "empty" and kind not in ("empty", "unsupported"):
            col.kind, col.dtype = kind, str(arrow_type)  # the first chunks were all empty
            col.type_kind = kinds.type_kind(arrow_type)
            if kind == "numeric" and self.reference is None:
                self._samples[name] = _Sampler(self.settings.sample_size)
        elif kind not in ("empty", col.kind):
            raise MlciError(
                f"column {name!r} changes type between chunks or files: {col.dtype} then {arrow_type}",
                "make every file of the data set use the same type for this column",
            )
        return col

    def _add_numeric(self, col: ColumnProfile, array: Any, *, stats: bool, counts: bool) -> None:
        import numpy as np

        values = float64_values(array)
        nan = np.isnan(values)
        present = values[~nan] if nan.any() else values
        if stats:
            col.missing += len(values) - len(present)
            _welford(col, present)
            if col.values is not None:
                col.values = (
                    col.values + present.tolist()
                    if len(col.values) + len(present) <= self.settings.exact_limit
                    else None
                )
            sampler = self._samples.get(col.name)
            if sampler is not None:
                sampler.add(present)
        binner = self._binners.get(col.name)
        if counts and binner is not None and len(present):
            idx = binner(present)
            add = np.bincount(idx, minlength=len(col.counts))
            col.counts = [int(a + b) for a, b in zip(col.counts, add, strict=True)]
            add_sums = np.bincount(idx, weights=present, minlength=len(col.counts))
            col.sums = [float(a + b) for a, b in zip(col.sums, add_sums, strict=True)]

    def _add_categorical(self, col: ColumnProfile, array: Any) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from mlci.drift import valueset

        col.missing += array.null_count
        boolean = pa.types.is_boolean(array.type)
        if boolean:
            array = pc.cast(array, pa.string())
        present = array.drop_null() if array.null_count else array
        # a text column the reader kept dictionary-encoded: counted on its codes, no string decoded
        coded = self._memoised(col.name, present)
        memo: Memo | None = None
        at: np.ndarray | None = None
        if coded is not None:  # per-value results kept across chunks (entries.py)
            memo, at, counts = coded.memo, coded.at, coded.counts
            hashes, lengths, spaced = memo.hashes[at], memo.lengths[at], memo.spaced[at]
            name_of = _memo_namer(memo, at)
        else:
            counted = pc.value_counts(present)
            values = counted.field("values")
            if not len(values):
                return
            counts = np.asarray(float64_values(counted.field("counts")), dtype=np.int64)
            encoded = pa.types.is_dictionary(values.type)
            if encoded:
                values = values.dictionary_decode()
                boolean = pa.types.is_boolean(values.type)
                if boolean:
                    values = pc.cast(values, pa.string())
            hashes = valueset.hash_strings(values)
            if encoded and _repeats(hashes):  # a dictionary may hold a value twice
                values, hashes, counts = _dedupe(values, hashes, counts)
            if not boolean:
                lengths = float64_values(pc.utf8_length(values))
                spaced = float64_values(pc.cast(pc.match_substring(values, " "), pa.int8()))
            name_of = _namer(values, None)
        if not boolean:
            # length and words, per distinct value times its count: what tells free text from categories
            col.length_sum += int((lengths * counts).sum())
            col.spaced += int((spaced * counts).sum())
        everything = np.ones(len(hashes), dtype=bool)
        ref = self.reference.columns.get(col.name) if self.reference is not None else None
        if ref is not None and ref.kind == "categorical" and ref.present:
            self._count_against(col, ref, name_of, counts, hashes, coded)
            return
        room = self.settings.max_categories - len(col.categories)
        col.other += self._tally(col.categories, col.name, room, name_of, hashes, counts, everything, coded)
        seen = self._value_sets.get(col.name)
        if seen is None:
            seen = self._value_sets[col.name] = valueset.HashSet(self.settings.hash_limit)
        if memo is not None and at is not None:  # each value added once, not once per chunk
            added = memo.flag("added", lambda h: np.zeros(len(h), dtype=bool))
            new = ~added[at]
            seen.add(hashes[new])
            added[at[new]] = True
        else:
            seen.add(hashes)

    def _memoised(self, name: str, present: Any) -> _Coded | None:
        """A text column's chunk counted on its dictionary codes, each code's value placed in the
        column's memo; None when the chunk is not dictionary-encoded text or the memo declines it."""
        import numpy as np
        import pyarrow as pa

        from mlci.drift.entries import Memo, int64_values

        if not pa.types.is_dictionary(present.type) or not len(present):
            return None
        value_type = present.type.value_type
        if not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type)):
            return None
        memo = self._memos.get(name)
        if memo is None:
            memo = self._memos[name] = Memo()
        positions = memo.positions(present.dictionary)
        if positions is None:
            return None
        # a bincount of the codes: ~6x cheaper than `value_counts` (which hashes them)
        tally = np.bincount(int64_values(present.indices), minlength=len(present.dictionary))
        codes = np.flatnonzero(tally)
        return _Coded(memo, positions[codes], tally[codes], codes, present)

    def _count_against(
        self,
        col: ColumnProfile,
        ref: ColumnProfile,
        name_of: Callable[[np.ndarray], list[Any]],
        counts: Any,
        hashes: Any,
        coded: _Coded | None,
    ) -> None:
        """Current values counted in the reference's terms: by name where the reference counted the
        value by name, else pooled as "other" when the reference had it, else unseen."""
        import numpy as np

        from mlci.drift import valueset

        known = self._ref_hashes.get(col.name)
        if known is None:
            known = self._ref_hashes[col.name] = valueset.decode(ref.value_hashes)
            self._named[f"ref:{col.name}"] = np.sort(valueset.hash_values(ref.categories))
        col.against_reference = True
        ref_named = self._named[f"ref:{col.name}"]
        tests: dict[str, Callable[[np.ndarray], np.ndarray]] = {
            "decidable": lambda h: valueset.in_range(h, ref.hash_level),
            "named": lambda h: valueset.contains(ref_named, h),
            "seen": lambda h: valueset.contains(known, h),
        }
        if coded is not None:  # per value once, kept in the memo
            decidable, named, seen = (coded.memo.flag(key, test)[coded.at] for key, test in tests.items())
        else:
            decidable, named, seen = (test(hashes) for test in tests.values())
        col.unseen_checked += int(counts[decidable].sum())
        self._tally(col.categories, f"ref:{col.name}", 0, name_of, hashes, counts, named, coded)
        # the reference had it (or, sampled beyond hash_limit, it cannot be told): pooled as "other"
        col.other += int(counts[~named & (seen | ~decidable)].sum())
        unseen = ~named & decidable & ~seen
        col.unseen += int(counts[unseen].sum())
        key = f"unseen:{col.name}"
        room = self.settings.max_categories - len(self._named.get(key, ()))
        col.unseen_other += self._tally(col.categories, key, room, name_of, hashes, counts, unseen, coded)

    def _tally(
        self,
        store: dict[str, int],
        key: str,
        room: int,
        name_of: Callable[[np.ndarray], list[Any]],
        hashes: Any,
        counts: Any,
        mask: Any,
        coded: _Coded | None = None,
    ) -> int:
        """Count the values under `mask` by name in `store`: those named already (by hash, cached
        under `key`), and new names while there is `room`. Returns the rows of values left unnamed.

        Only the named values become Python strings: a batch of 100k distinct ids costs numpy time."""
        import numpy as np

        from mlci.drift import valueset

        idx = np.flatnonzero(mask)
        if not len(idx):
            return 0
        named = self._named.get(key, np.empty(0, dtype=np.uint64))
        if coded is not None:  # whether each memo value is named: once per value until names change
            flag = coded.memo.flag(f"named:{key}", lambda h: valueset.contains(named, h))
            known = flag[coded.at[idx]]
        else:
            known = valueset.contains(named, hashes[idx])
        fresh = idx[~known]
        if coded is not None and room > 0 and len(fresh):  # new names in order of first occurrence
            fresh = fresh[np.argsort(coded.first_seen(fresh), kind="stable")]
        taken = fresh[: max(room, 0)]
        chosen = np.concatenate([idx[known], taken])
        names = name_of(chosen)
        if coded is not None and any(str(name) not in store for name in names):
            # names new to `store` go in in the order they first occur (as the decoded text's do)
            named_before = idx[known]
            named_before = named_before[np.argsort(coded.first_seen(named_before), kind="stable")]
            chosen = np.concatenate([named_before, taken])
            names = name_of(chosen)
        for name, n in zip(names, counts[chosen].tolist(), strict=True):
            store[str(name)] = store.get(str(name), 0) + int(n)
        if len(taken):
            self._named[key] = np.sort(np.concatenate([named, hashes[taken]]))
            for memo in self._memos.values():
                memo.forget(f"named:{key}")
        return int(counts[fresh[max(room, 0) :]].sum())


class _Coded:
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

        from mlci.drift.entries import int64_values

        if self._rank is None:
            order = int64_values(pc.value_counts(self._chunk).field("values").indices)
            self._rank = np.empty(len(self._chunk.dictionary), dtype=np.int64)
            self._rank[order] = np.arange(len(order))
        return np.asarray(self._rank[self.codes[positions]])


def _namer(values: Any, at: np.ndarray | None) -> Callable[[np.ndarray], list[Any]]:
    """The names of the values at some positions (only the named values become Python strings);
    with `at`, `values` is a memo's and position p is the memo's value `at[p]`."""

    def name_of(positions: np.ndarray) -> list[Any]:
        return list(values.take(_indices(positions if at is None else at[positions])).to_pylist())

    return name_of


def _memo_namer(memo: Memo, at: np.ndarray) -> Callable[[np.ndarray], list[Any]]:
    """The names of the values at some positions of a memoised chunk (position p is `at[p]`)."""

    def name_of(positions: np.ndarray) -> list[Any]:
        return memo.names(at[positions])

    return name_of


def _repeats(hashes: np.ndarray) -> bool:
    """Whether a hash occurs twice: by sorting (numpy 2's hash-based `unique` is ~5x slower on uint64)."""
    import numpy as np

    ordered = np.sort(hashes)
    return bool((ordered[1:] == ordered[:-1]).any())


def _dedupe(values: Any, hashes: np.ndarray, counts: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray]:
    """Counts of the same value (the same hash) added up, its first occurrence kept."""
    import numpy as np

    unique, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    summed = np.bincount(inverse, weights=counts).astype(np.int64)
    return values.take(_indices(first)), unique, summed


def _indices(positions: np.ndarray) -> Any:
    """An Arrow int64 array over a numpy array's buffer (`pa.array` of numpy imports pandas)."""
    import numpy as np
    import pyarrow as pa

    data = np.ascontiguousarray(positions, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def _binner(edges: list[float]) -> Binner:
    import numpy as np

    from mlci.drift.binning import Binner

    return Binner(np.array(edges, dtype=np.float64))


def float64_values(array: Any) -> np.ndarray:
    """An Arrow numeric array as float64 with NaN for nulls, straight from its buffers.

    (`Array.to_numpy` and Python scalars make pyarrow import pandas: 0.4 s of start-up.)"""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(array.type):
        array = pc.cast(array, array.type.value_type)
    if pa.types.is_date32(array.type) or pa.types.is_time32(array.type):
        array = pc.cast(array, pa.int32())  # days since the epoch / time of day
    elif pa.types.is_temporal(array.type):
        array = pc.cast(array, pa.int64())  # timestamps, date64, time64, durations in their own unit
    arr = pc.cast(array, pa.float64())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if len(arr) == 0:
        return np.empty(0)
    values = np.frombuffer(arr.buffers()[1], dtype=np.float64, count=len(arr), offset=arr.offset * 8)
    if arr.null_count:
        bits = np.unpackbits(np.frombuffer(arr.buffers()[0], dtype=np.uint8), bitorder="little")
        values = values.copy()
        values[bits[arr.offset : arr.offset + len(arr)] == 0] = np.nan
    return values


class _Sampler:
    """Systematic sample of a stream: every `step`-th value, the step doubling to stay bounded.

    Deterministic (no random seed to record) and spread over the whole stream, so sorted data
    still yields the right quantiles.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.step = 1
        self.seen = 0
        self.parts: list[np.ndarray] = []
        self.kept = 0

    def add(self, values: np.ndarray) -> None:
        import numpy as np

        first = (-self.seen) % self.step
        # a copy: a slice would keep the whole batch's buffer alive (memory growing with the rows)
        taken = values[first :: self.step].copy()
        self.seen += len(values)
        self.parts.append(taken)
        self.kept += len(taken)
        while self.kept > self.limit:
            merged = np.concatenate(self.parts)[::2]
            # positions were multiples of `step`; keeping every other makes them multiples of 2*step
            self.step *= 2
            self.parts, self.kept = [merged], len(merged)

    def values(self) -> np.ndarray:
        import numpy as np

        return np.concatenate(self.parts) if self.parts else np.array([], dtype=float)


def _welford(col: ColumnProfile, present: np.ndarray) -> None:
    n_b = len(present)
    if not n_b:
        return
    n_a = col.count - col.missing - n_b  # count and missing already include this chunk
    import numpy as np

    mean_b = float(present.mean())
    deviation = present - mean_b
    m2_b = float(np.square(deviation, out=deviation).sum())  # not np.dot: BLAS threads spin
    combine(col, n_a, n_b, mean_b, m2_b)
    lo, hi = float(present.min()), float(present.max())
    col.min = lo if col.min is None else min(col.min, lo)
    col.max = hi if col.max is None else max(col.max, hi)


# --- whole sources -------------------------------------------------------------------------------

BatchSource = Callable[[], Iterable["pa.RecordBatch"]]


def build_reference(
    batches: BatchSource,
    settings: ProfileSettings,
    source: dict[str, Any] | None = None,
    *,
    binned: Callable[[list[str]], Iterable[pa.RecordBatch]] | None = None,
) -> Profile:
    """A reference profile: pass 1 for statistics and quantile edges, pass 2 for bin counts.

    Batches of pass 1 are held up to `settings.hold_rows` rows; when the whole source fits, pass 2
    counts the held batches instead of reading the data again. `binned`, when given, reads pass 2
    with only the named columns: pass 2 counts numeric columns into bins and nothing else, so text
    columns (a 50,000-value one decodes a dictionary per row group) are not read twice.
    """
    builder = ProfileBuilder(settings)
    held: list[pa.RecordBatch] | None = []
    held_rows = 0
    for batch in batches():
        builder.add(batch, counts=False)
        if held is not None:
            held.append(batch)
            held_rows += batch.num_rows
            if held_rows > settings.hold_rows:
                held = None
    builder.place_edges()
    again: Iterable[pa.RecordBatch]
    if held is not None:
        again = held
    elif binned is not None:
        wanted = builder.binned_columns()
        again = binned(wanted) if wanted else ()
    else:
        again = batches()
    for batch in again:
        builder.add(batch, stats=False)
    return builder.finish(source)


def build_current(
    batches: Iterable[pa.RecordBatch], reference: Profile, source: dict[str, Any] | None = None
) -> Profile:
    """A profile of `batches` counted in the reference's bins: one pass."""
    builder = ProfileBuilder(reference.settings, reference=reference)
    for batch in batches:
        builder.add(batch)
    return builder.finish(source)


def iter_numeric(profile: Profile) -> Iterator[ColumnProfile]:
    return (c for c in profile.columns.values() if c.kind == "numeric")
