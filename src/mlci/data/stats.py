"""The facts a data contract is checked against and inferred from, gathered chunk by chunk.

`StatsBuilder.update(batch)` folds one Arrow record batch in; `finish()` returns `DataStats`
(JSON-able, cached by content hash) and the row hashes (one uint64 per row, for duplicates and for
rows added or removed versus the base; `mlci.data.arrowcols.row_hashes`). Columns of the common
types are read on their Arrow buffers (no pandas); the others one column at a time through pandas,
with the kinds pandas gives them (an integer column with missing values is a float column).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mlci.drift.kinds import contract_type, merge_type_kinds, type_kind

KINDS_NUMERIC = ("int", "float")
VALUE_LIMIT = 50  # value counts are kept while a column has at most this many distinct values


@dataclass
class ColumnStats:
    kind: str  # int, float, bool, str, datetime, category
    nulls: int = 0
    min: float | None = None
    max: float | None = None
    whole: bool = True  # every non-null number is whole (an int column that has nulls reads as float)
    values: dict[str, int] | None = field(default_factory=dict)  # None once past VALUE_LIMIT


@dataclass
class DataStats:
    rows: int = 0
    duplicate_rows: int = 0
    columns: dict[str, ColumnStats] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DataStats:
        columns = {name: ColumnStats(**col) for name, col in data["columns"].items()}
        return cls(rows=int(data["rows"]), duplicate_rows=int(data["duplicate_rows"]), columns=columns)


def kind_of(series: Any) -> str:
    """The contract type of a pandas column: the one classification (mlci.drift.kinds)."""
    return contract_type(type_kind(series.dtype))


def merge_kind(old: str, new: str) -> str:
    """The kind of a column whose chunks were read as `old` and `new` (pandas infers per chunk)."""
    return merge_type_kinds(old, new)


def as_text(series: Any) -> Any:
    """A pandas column's values as the text a contract's `allowed` list holds: 1.0 read from a CSV int column is "1"."""
    kind = type_kind(series.dtype)
    if kind == "float":
        text = series.astype(str)
        whole = series.notna() & (series % 1 == 0)
        if whole.any():
            text[whole] = series[whole].astype("int64").astype(str)
        return text
    if kind == "bool":
        return series.map({True: "true", False: "false"})
    return series.astype(str)


class StatsBuilder:
    def __init__(self) -> None:
        self.stats = DataStats()
        self._hashes: list[Any] = []

    def update(self, batch: Any) -> Any:
        """Fold an Arrow record batch in; returns its row hashes (uint64)."""
        from mlci.data import arrowcols

        self.stats.rows += batch.num_rows
        text = arrowcols.text_read(batch)
        for name, array in zip(batch.schema.names, batch.columns, strict=True):
            if name in text:
                self._update_text(str(name), array)
            elif arrowcols.is_plain(array):
                self._update_plain(str(name), array)
            else:
                self._update_column(str(name), array.to_pandas())
        hashes = arrowcols.row_hashes(batch.columns)
        self._hashes.append(hashes)
        return hashes

    def _column(self, name: str, kind: str) -> ColumnStats:
        col = self.stats.columns.get(name)
        if col is None:
            col = self.stats.columns[name] = ColumnStats(kind=kind)
        else:
            col.kind = merge_kind(col.kind, kind)
        return col

    def _update_plain(self, name: str, array: Any) -> None:
        import numpy as np
        import pyarrow as pa

        from mlci.data import arrowcols

        kind = arrowcols.plain_kind(array)
        col = self._column(name, kind)
        number = arrowcols.is_number(array)
        values = arrowcols.numbers(array) if number else None
        if values is not None:
            missing = int(np.count_nonzero(np.isnan(values)))
            col.nulls += missing
            seen = values[~np.isnan(values)] if missing else values
            if len(seen):
                low, high = float(seen.min()), float(seen.max())
                col.min = low if col.min is None else min(col.min, low)
                col.max = high if col.max is None else max(col.max, high)
                if col.whole and pa.types.is_floating(array.type):
                    col.whole = _whole(seen)
        else:
            col.nulls += array.null_count
        if col.values is not None:
            self._count_values(col, array)

    def _update_text(self, name: str, array: Any) -> None:
        """A text column held dictionary-encoded: counted on its codes."""
        import numpy as np

        from mlci.data import arrowcols

        col = self._column(name, "str")
        col.nulls += array.null_count
        if col.values is None:
            return
        dictionary = array.dictionary
        codes = arrowcols.codes(array)
        if array.null_count:
            codes = codes[arrowcols.valid(array)]
        counts = np.bincount(codes, minlength=len(dictionary)) if len(codes) else np.zeros(0, np.int64)
        used = np.flatnonzero(counts)
        if len(used) > VALUE_LIMIT:
            col.values = None
            return
        keys = arrowcols.take(dictionary, used).to_pylist()
        pairs = sorted(zip(keys, counts[used].tolist(), strict=True), key=lambda pair: -pair[1])
        _add_counts(col, pairs)

    def _count_values(self, col: ColumnStats, array: Any) -> None:
        if col.values is None:
            return
        import pyarrow.compute as pc

        if len(array) > 4 * VALUE_LIMIT and _distinct(array.slice(0, 4 * VALUE_LIMIT)) > VALUE_LIMIT:
            col.values = None  # already too many in the first rows: no need to count them all
            return
        counts = pc.value_counts(array)
        keys = counts.field("values").to_pylist()
        numbers = counts.field("counts").to_pylist()
        # as pandas' value_counts: missing values left out, most frequent first (ties: first seen)
        pairs = [(k, c) for k, c in zip(keys, numbers, strict=True) if k is not None and k == k]
        if len(pairs) > VALUE_LIMIT:
            col.values = None
            return
        pairs.sort(key=lambda pair: -pair[1])
        _add_counts(col, pairs)

    def _update_column(self, name: str, series: Any) -> None:
        """A column pandas reads for us (dates, timestamps, dictionaries, booleans with missing values)."""
        kind = kind_of(series)
        col = self._column(name, kind)
        col.nulls += int(series.isna().sum())
        if kind in KINDS_NUMERIC:
            present = series.dropna()
            if len(present):
                low, high = float(present.min()), float(present.max())
                col.min = low if col.min is None else min(col.min, low)
                col.max = high if col.max is None else max(col.max, high)
                if kind == "float" and col.whole:
                    col.whole = bool((present % 1 == 0).all())
        if col.values is not None:
            if len(series) > 4 * VALUE_LIMIT and series.iloc[: 4 * VALUE_LIMIT].nunique() > VALUE_LIMIT:
                col.values = None
                return
            counts = series.value_counts()  # on the raw values: text only for the few kept
            if len(counts) > VALUE_LIMIT:
                col.values = None
                return
            keys = as_text(counts.index.to_series())
            for value, count in zip(keys, counts.to_numpy(), strict=True):
                col.values[str(value)] = col.values.get(str(value), 0) + int(count)
            if len(col.values) > VALUE_LIMIT:
                col.values = None

    def finish(self) -> tuple[DataStats, Any]:
        """The stats, and the row hashes sorted (what `contains` needs)."""
        import numpy as np

        hashes = np.sort(np.concatenate(self._hashes)) if self._hashes else np.empty(0, dtype=np.uint64)
        self.stats.duplicate_rows = int((hashes[1:] == hashes[:-1]).sum())
        return self.stats, hashes


def _add_counts(col: ColumnStats, pairs: list[tuple[Any, int]]) -> None:
    """Add a chunk's value counts (most frequent first, as pandas' value_counts orders them)."""
    from mlci.data import arrowcols

    kept = col.values
    if kept is None:
        return
    for value, count in pairs:
        key = arrowcols.text(value)
        kept[key] = kept.get(key, 0) + int(count)
    if len(kept) > VALUE_LIMIT:
        col.values = None


def _whole(seen: Any) -> bool:
    """Every number is whole (finite, no fraction): an int column read as float."""
    import numpy as np

    return bool((np.floor(seen) == seen).all() and np.isfinite(seen).all())


def _distinct(array: Any) -> int:
    """Distinct present values of a few rows (NaN is missing, as pandas' nunique counts)."""
    import pyarrow.compute as pc

    return sum(1 for v in pc.unique(array).to_pylist() if v is not None and v == v)


def contains(sorted_values: Any, values: Any) -> Any:
    """Which of `values` are in `sorted_values` (uint64 arrays): a binary search, O(n log m).

    numpy 2's `isin`/`unique` hash uint64 arrays and are ~20x slower than this at a million rows.
    """
    import numpy as np

    if not len(sorted_values):
        return np.zeros(len(values), dtype=bool)
    idx = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return sorted_values[idx] == values
