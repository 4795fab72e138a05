"""Column profiles: the bounded-memory summary of a table that drift is computed from.

A profile is built chunk by chunk from Arrow record batches, so memory is bounded by the profile,
not by the data. Per column it keeps the row count and the missing count, and per family what
`mlci.drift.profile_numeric` (numbers, dates, times: moments, quantile bins, exact values, the steps
of a time index) and `mlci.drift.profile_categorical` (text, booleans: counts by name, the hashes of
the reference's distinct values and its singletons, unseen values) describe.

The reference profile decides the bin edges; a current profile is built with the reference's edges
(`ProfileBuilder(reference=...)`), so two profiles can be compared bin by bin, saved as JSON,
and profiles of the same edges merged (`merge`, mlci.drift.profile_merge).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from mlci.drift import kinds
from mlci.drift.profile_categorical import CategoricalCounter
from mlci.drift.profile_merge import merge
from mlci.drift.profile_model import (
    PROFILE_VERSION,
    ColumnProfile,
    Kind,
    Profile,
    ProfileSettings,
)
from mlci.drift.profile_numeric import NumericCounter, Sampler, float64_values
from mlci.errors import MlciError
from mlci.repo.tables import dictionary_read

if TYPE_CHECKING:
    import pyarrow as pa

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


def column_kind(arrow_type: pa.DataType) -> Kind:
    """How drift compares a column of this Arrow type (mlci.drift.kinds, the one classification)."""
    return kinds.drift_kind(kinds.type_kind(arrow_type))


class ProfileBuilder:
    """Feed record batches with `add`, then `finish`.

    Without a reference it gathers a sample per numeric column (pass 1) and `place_edges` places
    the quantile edges; with a reference it counts straight into the reference's bins.
    """

    def __init__(self, settings: ProfileSettings, reference: Profile | None = None) -> None:
        self.settings = settings
        self.reference = reference
        self.columns: dict[str, ColumnProfile] = {}
        self.rows = 0
        self.numeric = NumericCounter(settings)
        self.categorical = CategoricalCounter(settings, reference)

    def add(self, batch: pa.RecordBatch | pa.Table, *, stats: bool = True, counts: bool = True) -> None:
        if stats:
            self.rows += batch.num_rows
        encoded = dictionary_read(batch)  # text kept dictionary-encoded by the reader: still text
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            array = _readable(column)
            col = self._column(name, array.type.value_type if name in encoded else array.type)
            if stats:
                col.count += len(array)
            if col.kind == "numeric":
                self.numeric.add(col, array, stats=stats, counts=counts)
            elif col.kind == "categorical" and stats:
                self.categorical.add(col, array)
            elif stats:
                col.missing += array.null_count if col.kind != "empty" else len(array)

    def binned_columns(self) -> list[str]:
        """The columns a counting pass (`add(stats=False)`) counts: numeric ones with bins."""
        return [name for name in self.columns if name in self.numeric.binners]

    def place_edges(self) -> None:
        """Pass 1 is over: equal-frequency edges from each numeric column's sample."""
        self.numeric.place_edges(self.columns)

    def finish(self, source: dict[str, Any] | None = None) -> Profile:
        for col in self.columns.values():
            if col.values is not None and col.kind != "numeric":
                col.values = None
            self.categorical.finish(col)
        return Profile(dict(self.columns), self.rows, self.settings, dict(source or {}))

    def _column(self, name: str, arrow_type: pa.DataType) -> ColumnProfile:
        col = self.columns.get(name)
        kind = column_kind(arrow_type)
        if col is None:
            ref = self.reference.columns.get(name) if self.reference else None
            col = ColumnProfile(name=name, kind=kind, dtype=str(arrow_type))
            col.type_kind = kinds.type_kind(arrow_type)
            if kind in ("numeric", "empty") and (
                kind == "numeric" or (ref is not None and ref.kind == "numeric")
            ):
                self.numeric.start(col, ref, reference=self.reference is None)
            self.columns[name] = col
        elif col.kind == "empty" and kind not in ("empty", "unsupported"):
            col.kind, col.dtype = kind, str(arrow_type)  # the first chunks were all empty
            col.type_kind = kinds.type_kind(arrow_type)
            if kind == "numeric" and self.reference is None:
                self.numeric.samples[name] = Sampler(self.settings.sample_size)
        elif kind not in ("empty", col.kind):
            raise MlciError(
                f"column {name!r} changes type between chunks or files: {col.dtype} then {arrow_type}",
                "make every file of the data set use the same type for this column",
            )
        return col


def _readable(array: Any) -> Any:
    """Arrow's string views as large strings: the hashes and lengths read the offsets layout."""
    import pyarrow as pa

    if kinds.type_kind(array.type) == "str" and not (
        pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
    ):
        return array.cast(pa.large_string())
    return array


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
