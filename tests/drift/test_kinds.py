"""One classification of columns (mlci.drift.kinds): the same answer for Arrow and pandas types, and
the class of every kind of profiled column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlci.data.stats import kind_of
from mlci.drift.engine import compare
from mlci.drift.kinds import type_kind
from mlci.drift.profile import ProfileSettings, build_current, build_reference


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = np.array(["the", "parcel", "arrived", "late", "and", "damaged", "box", "was", "open", "again"])
    return pd.DataFrame(
        {
            "amount": rng.normal(0, 1, n),
            "count": rng.integers(0, 9, n),
            "when": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 86_400 * 30, n), unit="s"),
            "flag": rng.random(n) < 0.3,
            "channel": rng.choice(["web", "app", "shop"], n),
            "product": np.char.add("p", rng.permutation(np.arange(n) % 1500).astype(str)),
            "comment": [" ".join(rng.choice(words, 8)) + f" #{i}" for i in range(n)],
            "nothing": pd.Series([None] * n, dtype=object),
            "version": ["v2"] * n,
            "level": np.full(n, 3.0),
        }
    )


def test_arrow_and_pandas_types_get_the_same_kind() -> None:
    frame = _frame(50, 1)
    frame["cat"] = frame["channel"].astype("category")
    frame["nullable"] = frame["count"].astype("Int64")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name in frame.columns:
        arrow = type_kind(table.schema.field(name).type)
        pandas = type_kind(frame[name].dtype)
        assert arrow == pandas or (arrow, pandas) == ("null", "str"), name  # pandas: object column
    assert kind_of(frame["cat"]) == "category" and kind_of(frame["flag"]) == "bool"
    assert kind_of(frame["when"]) == "datetime" and kind_of(frame["nullable"]) == "int"


def test_every_column_has_its_class_and_free_text_is_skipped_with_a_reason() -> None:
    settings = ProfileSettings()
    reference = build_reference(
        lambda: pa.Table.from_pandas(_frame(6000, 2), preserve_index=False).to_batches(2000), settings
    )
    current = build_current(
        pa.Table.from_pandas(_frame(6000, 3), preserve_index=False).to_batches(), reference
    )
    result = compare(reference, current)
    classes = {c.name: c.column_class for c in result.columns}
    assert classes == {
        "amount": "numeric",
        "count": "numeric",
        "when": "datetime",
        "flag": "boolean",
        "channel": "categorical",
        "product": "categorical-high",
        "comment": "text",
        "nothing": "all-null",
        "version": "constant",
        "level": "constant",
    }
    comment = next(c for c in result.columns if c.name == "comment")
    assert comment.test == "ignored" and "free text" in comment.notes[0]
    assert result.drifted_columns() == []


@pytest.mark.parametrize("dtype", ["timedelta64[ns]", "complex128"])
def test_other_pandas_types_are_text_to_a_contract(dtype: str) -> None:
    assert kind_of(pd.Series(np.zeros(3), dtype=dtype)) == "str"
