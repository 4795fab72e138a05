"""Data contracts: check a dataset against one, chunk by chunk, and infer one from data stats.

Row-level rules (type, nullability, range, allowed values, unique keys) are counted per chunk with
a few example rows; dataset-level rules (columns, row count, label balance) are answered from the
finished `DataStats`, so a contract never needs the whole table in memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from mlci.config import ColumnContract, DatasetContract
from mlci.data.stats import KINDS_NUMERIC, DataStats, contains


@dataclass
class Violation:
    column: str  # "" for a rule about the whole dataset
    rule: str  # the contract key that was broken: type, nullable, min, max, allowed, unique, ...
    message: str
    count: int = 0  # rows that break it (0 for dataset-level rules)
    examples: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "rule": self.rule,
            "message": self.message,
            "count": self.count,
            "examples": list(self.examples),
        }


class ContractChecker:
    """Counts the rows of each chunk that break a contract; `finish` adds the dataset rules.

    Chunks are Arrow record batches. Columns of the common types are checked on their Arrow
    buffers (`mlci.data.arrowcols`); a rule that needs parsing (a number rule on a text column, a
    date or boolean type) or an uncommon column type goes through pandas, that column only."""

    def __init__(self, contract: DatasetContract, max_examples: int = 3) -> None:
        self.contract = contract
        self.max_examples = max_examples
        self._found: dict[tuple[str, str], Violation] = {}
        self._seen_keys: Any = None  # sorted distinct uint64 hashes of the unique key so far

    def update(self, batch: Any, first_row: int, where: str = "") -> None:
        """Check one batch; `first_row` is the 1-based data row number of its first row."""
        from mlci.data import arrowcols

        names = batch.schema.names
        text = arrowcols.text_read(batch)
        for name, rule in self.contract.columns.items():
            if name in names:
                array = batch.column(names.index(name))
                if _on_arrow(rule, array, name in text):
                    self._check_array(name, rule, array, first_row, where)
                else:
                    plain = array.dictionary_decode() if name in text else array
                    self._check_column(name, rule, plain.to_pandas(), first_row, where)
        if self.contract.unique and all(key in names for key in self.contract.unique):
            self._check_unique([batch.column(names.index(k)) for k in self.contract.unique], first_row, where)

    def _check_array(self, name: str, rule: ColumnContract, array: Any, first_row: int, where: str) -> None:
        import numpy as np

        from mlci.data import arrowcols

        def value_at(pos: int) -> str:
            return arrowcols.show(array[pos].as_py())

        # numbers, and booleans as 0/1; text (plain or dictionary-encoded) has no numbers
        values = arrowcols.numbers(array) if arrowcols.is_number(array) or arrowcols.is_bool(array) else None
        # a mask is built only for a rule this chunk breaks: most chunks break none
        missing = np.isnan(values) if values is not None else None
        gaps = int(np.count_nonzero(missing)) if missing is not None else array.null_count
        present = (~missing if missing is not None else arrowcols.valid(array)) if gaps else None
        if not rule.nullable and present is not None:
            self._add(name, "nullable", "missing values", value_at, ~present, first_row, where)
        if values is None:
            if rule.allowed:
                outside = _outside(array, rule.allowed)
                outside = outside & present if present is not None else outside
                self._add(
                    name, "allowed", "values not in the allowed list", value_at, outside, first_row, where
                )
            return
        seen = values[present] if present is not None else values
        low, high = (float(seen.min()), float(seen.max())) if len(seen) else (0.0, 0.0)
        if rule.type == "int" and arrowcols.plain_kind(array) == "float" and len(seen):
            whole = bool(np.isfinite(low) and np.isfinite(high) and (np.floor(seen) == seen).all())
            if not whole:
                with np.errstate(invalid="ignore"):
                    bad = ~np.isfinite(values) | (np.floor(values) != values)
                bad = bad & present if present is not None else bad
                self._add(name, "type", f"values that are not {rule.type}", value_at, bad, first_row, where)
        if rule.min is not None and len(seen) and low < rule.min:
            below = values < rule.min
            self._add(name, "min", f"values below min {rule.min:g}", value_at, below, first_row, where)
        if rule.max is not None and len(seen) and high > rule.max:
            above = values > rule.max
            self._add(name, "max", f"values above max {rule.max:g}", value_at, above, first_row, where)
        if rule.allowed:
            outside = _outside(array, rule.allowed)
            outside = outside & present if present is not None else outside
            self._add(name, "allowed", "values not in the allowed list", value_at, outside, first_row, where)

    def _check_column(self, name: str, rule: ColumnContract, series: Any, first_row: int, where: str) -> None:
        """The rules on a pandas column (parsing text as numbers or dates, uncommon column types)."""
        from mlci.data.pandas_rules import findings, show_value

        def value_at(pos: int) -> str:
            return show_value(series.iloc[pos])

        for key, message, mask in findings(rule, series):
            self._add(name, key, message, value_at, mask, first_row, where)

    def _check_unique(self, keys: list[Any], first_row: int, where: str) -> None:
        import numpy as np

        from mlci.data import arrowcols

        hashes = arrowcols.row_hashes(keys)
        ordered = np.sort(hashes)
        first = np.ones(len(ordered), dtype=bool)
        first[1:] = ordered[1:] != ordered[:-1]
        repeated = np.zeros(len(hashes), dtype=bool)
        if not first.all():  # all but the first row of each key in this chunk
            order = np.argsort(hashes, kind="stable")
            repeated[order[1:][hashes[order[1:]] == hashes[order[:-1]]]] = True
        distinct = ordered[first]
        if self._seen_keys is None:
            self._seen_keys = distinct
        else:  # two sorted runs of distinct keys: the stable sort (timsort) merges them in linear time
            merged = np.sort(np.concatenate([self._seen_keys, distinct]), kind="stable")
            again = merged[1:] == merged[:-1]  # a key of this chunk seen in an earlier one
            if again.any():
                repeated |= contains(merged[1:][again], hashes)
                merged = merged[np.concatenate([[True], ~again])]
            self._seen_keys = merged

        def value_at(pos: int) -> str:
            cells = [k[pos].as_py() for k in keys]
            if len(cells) == 1:
                return arrowcols.show(cells[0])
            return repr(", ".join(arrowcols.cell_text(c) for c in cells))

        label = ", ".join(self.contract.unique)
        self._add(label, "unique", "duplicated key values", value_at, repeated, first_row, where)

    def _add(
        self,
        column: str,
        rule: str,
        message: str,
        value_at: Callable[[int], str],
        mask: Any,
        first_row: int,
        where: str,
    ) -> None:
        """Count the rows `mask` (numpy bool) marks; the first few become examples."""
        import numpy as np

        count = int(np.count_nonzero(mask))
        if not count:
            return
        found = self._found.setdefault((column, rule), Violation(column, rule, message))
        found.count += count
        room = self.max_examples - len(found.examples)
        if room > 0:
            for pos in np.flatnonzero(mask)[:room]:
                row = first_row + int(pos)
                found.examples.append(f"{where + ' ' if where else ''}row {row}: {value_at(int(pos))}")

    def finish(self, stats: DataStats) -> list[Violation]:
        """All violations: the counted row rules, then the rules about the whole dataset."""
        found = list(self._found.values())
        found.extend(dataset_violations(self.contract, stats))
        return found


def _on_arrow(rule: ColumnContract, array: Any, encoded_text: bool) -> bool:
    """Whether `array` can be checked against `rule` on Arrow (else through pandas)."""
    from mlci.data import arrowcols

    if not (encoded_text or arrowcols.is_plain(array)):
        return False
    kind = "str" if encoded_text else arrowcols.plain_kind(array)
    if kind == "str" and (
        rule.type in ("int", "float", "number", "bool", "datetime")
        or rule.min is not None
        or rule.max is not None
    ):
        return False  # text to parse as numbers, booleans or dates
    if rule.type == "datetime":
        return False
    return not (rule.type == "bool" and kind != "bool")


def _outside(array: Any, allowed: tuple[str, ...]) -> Any:
    """Where a value's text is not in `allowed` (missing values included: the caller masks them)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from mlci.data import arrowcols

    if pa.types.is_dictionary(array.type):  # text held as codes: each distinct value looked up once
        known = arrowcols.bools(pc.is_in(array.dictionary, value_set=arrowcols.strings(allowed)))
        if not len(known):
            return np.zeros(len(array), dtype=bool)
        return np.asarray(~known[arrowcols.codes(array).clip(0, len(known) - 1)])
    if arrowcols.is_text(array):
        inside = pc.is_in(array, value_set=arrowcols.strings(allowed))
    else:  # numbers and booleans: the text of each distinct value decides
        distinct = pc.unique(array)
        bad = [
            i
            for i, v in enumerate(distinct.to_pylist())
            if v is not None and v == v and arrowcols.text(v) not in allowed
        ]
        if not bad:
            return np.zeros(len(array), dtype=bool)
        inside = pc.invert(pc.is_in(array, value_set=arrowcols.take(distinct, np.array(bad))))
    return ~arrowcols.bools(inside)


def dataset_violations(contract: DatasetContract, stats: DataStats) -> list[Violation]:
    found: list[Violation] = []
    for name in contract.columns:
        if name not in stats.columns:
            found.append(Violation(name, "columns", "column is missing"))
    if contract.strict_columns and contract.columns:
        for name in stats.columns:
            if name not in contract.columns:
                found.append(Violation(name, "strict_columns", "column is not declared in the contract"))
    if contract.min_rows is not None and stats.rows < contract.min_rows:
        found.append(
            Violation("", "min_rows", f"{stats.rows:,} rows, fewer than min_rows {contract.min_rows:,}")
        )
    if contract.max_rows is not None and stats.rows > contract.max_rows:
        found.append(
            Violation("", "max_rows", f"{stats.rows:,} rows, more than max_rows {contract.max_rows:,}")
        )
    found.extend(_label_balance(contract, stats))
    return found


def _label_balance(contract: DatasetContract, stats: DataStats) -> list[Violation]:
    if not contract.label or contract.min_class_share is None:
        return []
    col = stats.columns.get(contract.label)
    if col is None or not col.values:
        return []  # a missing label is reported as a missing column
    total = sum(col.values.values())
    share, label = min((count / total, value) for value, count in col.values.items())
    if share >= contract.min_class_share:
        return []
    return [
        Violation(
            contract.label,
            "min_class_share",
            f"class {label!r} is {share:.1%} of rows, below min_class_share {contract.min_class_share:g}",
        )
    ]


# --- inference ----------------------------------------------------------------------------------


def infer_contract(
    stats: DataStats, path: str, *, label: str = "", bounds: bool = True, max_categories: int = 20
) -> DatasetContract:
    """A contract the data in `stats` meets. `bounds=False` leaves out ranges and row counts: the
    implicit contract a PR is checked against when none is declared (new extremes are not errors)."""
    columns = {
        name: _infer_column(col_stats, bounds, max_categories) for name, col_stats in stats.columns.items()
    }
    min_share = None
    label_stats = stats.columns.get(label) if label else None
    if bounds and label_stats is not None and label_stats.values:
        total = sum(label_stats.values.values())
        smallest = min(label_stats.values.values()) / total
        min_share = math.floor(smallest * 50) / 100  # half the smallest class share, rounded down
    return DatasetContract(
        path=path,
        columns=columns,
        min_rows=stats.rows // 2 if bounds and stats.rows else None,
        label=label if label_stats is not None else "",
        min_class_share=min_share,
    )


def _infer_column(col: Any, bounds: bool, max_categories: int) -> ColumnContract:
    kind = col.kind
    if kind == "float" and col.whole and col.min is not None:
        kind = "int"  # CSV integers are read as float (pyarrow's reader, or pandas' with missing values)
    numeric = kind in KINDS_NUMERIC
    allowed: tuple[str, ...] = ()
    if kind in ("str", "category") and col.values is not None and 0 < len(col.values) <= max_categories:
        allowed = tuple(sorted(col.values))
    return ColumnContract(
        type=kind,
        nullable=col.nulls > 0,
        min=col.min if bounds and numeric else None,
        max=col.max if bounds and numeric else None,
        allowed=allowed,
    )


def contract_mapping(contract: DatasetContract) -> dict[str, Any]:
    """The contract as mlci.yaml spells it: only the keys that differ from their defaults."""
    out = _non_default(contract, skip=("columns",))
    out["columns"] = {name: _non_default(col) for name, col in contract.columns.items()}
    return out


def _non_default(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.name in skip or value == f.default:
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def contracts_yaml(contracts: dict[str, DatasetContract]) -> str:
    import yaml

    datasets = {name: contract_mapping(contract) for name, contract in contracts.items()}
    body: str = yaml.safe_dump({"data": {"datasets": datasets}}, sort_keys=False, allow_unicode=True)
    return body
