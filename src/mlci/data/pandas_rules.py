"""The contract rules on a pandas column: where the data check needs pandas' parsing.

`mlci.data.contract.ContractChecker` checks columns of the common types on their Arrow buffers; a
rule that parses text (a number rule on a text column, a `bool` or `datetime` type) and the uncommon
column types (dates, timestamps, booleans with missing values, Parquet dictionaries) come here, one
column at a time, so pandas is imported only when such a column is there.
"""

from __future__ import annotations

from typing import Any

from mlci.config import ColumnContract
from mlci.data.stats import as_text
from mlci.drift.kinds import type_kind


def findings(rule: ColumnContract, series: Any) -> list[tuple[str, str, Any]]:
    """(rule key, message, numpy bool mask of the rows that break it) for each rule checked."""
    import pandas as pd

    out: list[tuple[str, str, Any]] = []
    present = series.notna()
    if not rule.nullable:
        out.append(("nullable", "missing values", (~present).to_numpy()))
    numbers = None
    if rule.type in ("int", "float", "number") or rule.min is not None or rule.max is not None:
        numbers = (
            series if pd.api.types.is_numeric_dtype(series.dtype) else pd.to_numeric(series, errors="coerce")
        )
        if pd.api.types.is_bool_dtype(numbers.dtype):
            numbers = numbers.astype("int64")
    bad_type = _bad_type(rule.type, series, numbers, present)
    if bad_type is not None:
        out.append(("type", f"values that are not {rule.type}", bad_type.to_numpy(dtype=bool)))
    if numbers is not None and rule.min is not None:
        out.append(("min", f"values below min {rule.min:g}", (numbers < rule.min).to_numpy(dtype=bool)))
    if numbers is not None and rule.max is not None:
        out.append(("max", f"values above max {rule.max:g}", (numbers > rule.max).to_numpy(dtype=bool)))
    if rule.allowed:
        outside = present & ~as_text(series).isin(list(rule.allowed))
        out.append(("allowed", "values not in the allowed list", outside.to_numpy(dtype=bool)))
    return out


def show_value(value: Any) -> str:
    """A cell as a reader wants it in an example: missing, a plain number, or quoted text."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return "(missing)"
    if isinstance(value, str):
        return repr(value)
    if hasattr(value, "item"):  # numpy scalars print as np.float64(...)
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bad_type(kind: str, series: Any, numbers: Any, present: Any) -> Any:
    import pandas as pd

    if kind in ("float", "number"):
        return present & numbers.isna()
    if kind == "int":
        return present & (numbers.isna() | (numbers % 1 != 0))
    if kind == "bool":
        if type_kind(series.dtype) == "bool":
            return None
        return present & ~as_text(series).str.lower().isin(["true", "false", "0", "1"])
    if kind == "datetime":
        if type_kind(series.dtype) == "datetime":
            return None
        return present & pd.to_datetime(series, errors="coerce", format="mixed").isna()
    return None  # str, category, any: every value reads as text
