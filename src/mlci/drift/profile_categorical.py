"""Categorical columns of a profile: counts by name, distinct-value hashes, unseen values.

A categorical column (text, booleans, dictionaries) keeps the count of each value (at most
``max_categories``, the rest counted as "other"), and for a reference the 64-bit hashes of its
distinct values with how often each occurred (`mlci.drift.valueset`: exact up to ``hash_limit``
values, then sampled by value), from which the counts of values seen once and twice (Good–Turing's
singletons and doubletons) are kept. A current profile counts the reference's named values by name,
pools the other values the reference had as "other", and counts the values it never had as unseen:
"unseen" is decided against the hashes, never by the pooling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlci.drift.entries import Coded, dedupe, memo_namer, namer, repeats
from mlci.drift.profile_model import ColumnProfile, Profile, ProfileSettings
from mlci.drift.profile_numeric import float64_values

if TYPE_CHECKING:
    import numpy as np

    from mlci.drift import valueset
    from mlci.drift.entries import Memo


class _Values:
    """One chunk's distinct present values: their hashes, counts, names, and (text) length and words."""

    def __init__(
        self, hashes: Any, counts: Any, name_of: Callable[[np.ndarray], list[Any]], coded: Any
    ) -> None:
        self.hashes, self.counts, self.name_of, self.coded = hashes, counts, name_of, coded
        self.lengths: Any = None
        self.spaced: Any = None


class CategoricalCounter:
    """The categorical columns' state while a profile is built."""

    def __init__(self, settings: ProfileSettings, reference: Profile | None) -> None:
        self.settings = settings
        self.reference = reference
        self._value_sets: dict[str, valueset.HashSet] = {}  # reference: distinct-value hashes
        self._ref_hashes: dict[str, np.ndarray] = {}  # current: the reference's, decoded
        self._named: dict[str, np.ndarray] = {}  # sorted hashes of the values counted by name
        self._memos: dict[str, Memo] = {}  # text columns: per-value results kept across chunks
        self._memo_counts: dict[str, np.ndarray] = {}  # reference: rows per memo value

    def add(self, col: ColumnProfile, array: Any) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        col.missing += array.null_count
        boolean = pa.types.is_boolean(array.type)
        if boolean:
            array = pc.cast(array, pa.string())
        present = array.drop_null() if array.null_count else array
        chunk = self._read(col.name, present, boolean)
        if chunk is None:
            return
        if chunk.lengths is not None:
            # length and words, per distinct value times its count: what tells free text from categories
            col.length_sum += int((chunk.lengths * chunk.counts).sum())
            col.spaced += int((chunk.spaced * chunk.counts).sum())
        ref = self.reference.columns.get(col.name) if self.reference is not None else None
        if ref is not None and ref.kind == "categorical" and ref.present:
            self._count_against(col, ref, chunk.name_of, chunk.counts, chunk.hashes, chunk.coded)
            return
        everything = np.ones(len(chunk.hashes), dtype=bool)
        room = self.settings.max_categories - len(col.categories)
        col.other += self._tally(
            col.categories, col.name, room, chunk.name_of, chunk.hashes, chunk.counts, everything, chunk.coded
        )
        self._remember(col.name, chunk)

    def _read(self, name: str, present: Any, boolean: bool) -> _Values | None:
        """The chunk's distinct values: on its dictionary codes (memoised), else by `value_counts`."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from mlci.drift import valueset

        coded = self._memoised(name, present)
        if coded is not None:  # per-value results kept across chunks (entries.py)
            memo, at = coded.memo, coded.at
            out = _Values(memo.hashes[at], coded.counts, memo_namer(memo, at), coded)
            out.lengths, out.spaced = memo.lengths[at], memo.spaced[at]
            return out
        counted = pc.value_counts(present)
        values = counted.field("values")
        if not len(values):
            return None
        counts = np.asarray(float64_values(counted.field("counts")), dtype=np.int64)
        encoded = pa.types.is_dictionary(values.type)
        if encoded:
            values = values.dictionary_decode()
            boolean = pa.types.is_boolean(values.type)
            if boolean:
                values = pc.cast(values, pa.string())
        hashes = valueset.hash_strings(values)
        if encoded and repeats(hashes):  # a dictionary may hold a value twice
            values, hashes, counts = dedupe(values, hashes, counts)
        out = _Values(hashes, counts, namer(values, None), None)
        if not boolean:
            out.lengths = float64_values(pc.utf8_length(values))
            out.spaced = float64_values(pc.cast(pc.match_substring(values, " "), pa.int8()))
        return out

    def _remember(self, name: str, chunk: _Values) -> None:
        """A reference's values into its hash set, with their counts (memoised: per memo value)."""
        import numpy as np

        from mlci.drift import valueset

        coded = chunk.coded
        if coded is not None:
            have = self._memo_counts.get(name, np.zeros(0, dtype=np.int64))
            if len(have) < len(coded.memo.hashes):
                have = np.concatenate([have, np.zeros(len(coded.memo.hashes) - len(have), dtype=np.int64)])
            np.add.at(have, coded.at, chunk.counts)
            self._memo_counts[name] = have
            return
        seen = self._value_sets.get(name)
        if seen is None:
            seen = self._value_sets[name] = valueset.HashSet(self.settings.hash_limit)
        seen.add(chunk.hashes, chunk.counts)

    def finish(self, col: ColumnProfile) -> None:
        """The reference's hash set encoded into the column, with its singletons and doubletons."""
        from mlci.drift import valueset

        counts = self._memo_counts.pop(col.name, None)
        if counts is not None:
            seen = self._value_sets.get(col.name)
            if seen is None:
                seen = self._value_sets[col.name] = valueset.HashSet(self.settings.hash_limit)
            used = counts > 0  # a dictionary names values its chunk may not hold
            seen.add(self._memos[col.name].hashes[: len(counts)][used], counts[used])
        values = self._value_sets.get(col.name)
        if values is not None and col.kind == "categorical":
            col.value_hashes, col.hash_level = valueset.encode(values.sorted()), values.level
            col.distinct = valueset.distinct(col.value_hashes, col.hash_level)
            col.singletons, col.doubletons = values.singletons()

    def _memoised(self, name: str, present: Any) -> Coded | None:
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
        return Coded(memo, positions[codes], tally[codes], codes, present)

    def _count_against(
        self,
        col: ColumnProfile,
        ref: ColumnProfile,
        name_of: Callable[[np.ndarray], list[Any]],
        counts: Any,
        hashes: Any,
        coded: Coded | None,
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
        coded: Coded | None = None,
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
