"""The data checks on Arrow batches, as the scan hands them over: chunk boundaries, missing keys,
text held as dictionary codes, a column whose type changes between chunks. pandas is the oracle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from mlci.config import ColumnContract, DatasetContract
from mlci.data.arrowcols import encode_text, row_hashes
from mlci.data.contract import ContractChecker, infer_contract
from mlci.data.stats import DataStats, StatsBuilder

Found = dict[tuple[str, str], tuple[int, list[str]]]


def run(contract: DatasetContract, *batches: pa.RecordBatch, examples: int = 3) -> tuple[Found, DataStats]:
    checker = ContractChecker(contract, max_examples=examples)
    builder = StatsBuilder()
    first = 1
    for batch in batches:
        builder.update(batch)
        checker.update(batch, first)
        first += batch.num_rows
    stats, _ = builder.finish()
    found = checker.finish(stats)
    return {(v.column, v.rule): (v.count, v.examples) for v in found}, stats


def batch(**columns: Any) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(columns)


def test_duplicate_keys_across_a_chunk_boundary_and_within_chunks() -> None:
    ids = [5, 1, 2, 3, 1, 4, 6, 7, 3, 3, 8, 9, 5]
    contract = DatasetContract(unique=("id",))
    chunks = [batch(id=[float(i) for i in ids[a:b]]) for a, b in ((0, 4), (4, 9), (9, 13))]
    found, stats = run(contract, *chunks)
    repeated = pd.Series(ids).duplicated()
    rows = [f"row {i + 1}: {ids[i]}" for i in repeated[repeated].index[:3]]
    assert found[("id", "unique")] == (int(repeated.sum()), rows)
    assert stats.duplicate_rows == int(repeated.sum())  # whole rows: here the key is the row


def test_missing_values_in_the_unique_key_repeat_each_other() -> None:
    contract = DatasetContract(unique=("id",), columns={"id": ColumnContract(type="int")})
    found, stats = run(contract, batch(id=[1.0, None, 2.0]), batch(id=[None, float("nan"), 3.0]))
    # as pandas' duplicated: a missing key equals another missing key (NaN and null alike)
    assert found == {("id", "unique"): (2, ["row 4: (missing)", "row 5: (missing)"])}
    assert stats.columns["id"].nulls == 3


def test_a_composite_key_shows_each_part_as_text() -> None:
    contract = DatasetContract(unique=("a", "b"))
    found, _ = run(contract, batch(a=[1.0, 2.0, 1.0], b=["x", None, "x"]), batch(a=[2.0], b=[None]))
    assert found[("a, b", "unique")] == (2, ["row 3: '1, x'", "row 4: '2, (missing)'"])


@pytest.mark.parametrize("encoded", [False, True], ids=["plain", "dictionary"])
def test_text_outside_the_allowed_values(encoded: bool) -> None:
    contract = DatasetContract(
        columns={"band": ColumnContract(type="str", allowed=("low", "mid", "high"), nullable=False)}
    )
    chunks = [batch(band=["low", "LOW", None]), batch(band=["mid", "x", "high", "x"])]
    if encoded:
        chunks = [encode_text(c) for c in chunks]
    found, stats = run(contract, *chunks)
    assert found == {
        ("band", "allowed"): (3, ["row 2: 'LOW'", "row 5: 'x'", "row 7: 'x'"]),
        ("band", "nullable"): (1, ["row 3: (missing)"]),
    }
    assert stats.columns["band"].kind == "str"
    assert stats.columns["band"].values == {"low": 1, "LOW": 1, "x": 2, "mid": 1, "high": 1}


def test_dictionary_encoded_text_hashes_and_counts_as_plain_text() -> None:
    plain = batch(id=[1.0, 2.0, 3.0, 1.0], band=["a", None, "b", "a"])
    hashes = row_hashes(plain.columns)
    assert (row_hashes(encode_text(plain).columns) == hashes).all()
    assert hashes[0] == hashes[3] and len(set(hashes.tolist())) == 3
    assert run(DatasetContract(), plain)[1] == run(DatasetContract(), encode_text(plain))[1]


def test_an_int_column_read_as_float_in_one_chunk() -> None:
    # a folder of Parquet files: one wrote the column as int64, the next as float64 (it had gaps)
    ints = pa.RecordBatch.from_arrays(
        [pa.array([1, 2, 3], pa.int64()), pa.array(["a", "b", "c"])], ["n", "t"]
    )
    floats = pa.RecordBatch.from_arrays(
        [pa.array([3.0, None, 7.0], pa.float64()), pa.array(["c", "d", "e"])], ["n", "t"]
    )
    contract = DatasetContract(
        unique=("n",), columns={"n": ColumnContract(type="int", min=1, max=5), "t": ColumnContract()}
    )
    found, stats = run(contract, ints, floats)
    col = stats.columns["n"]
    assert (col.kind, col.nulls, col.min, col.max, col.whole) == ("float", 1, 1.0, 7.0, True)
    assert infer_contract(stats, "d").columns["n"].type == "int"  # whole numbers: still an int column
    assert found == {
        ("n", "max"): (1, ["row 6: 7"]),
        ("n", "unique"): (1, ["row 4: 3"]),  # 3 in the int chunk and 3.0 in the float one: the same key
    }
    assert stats.duplicate_rows == 1  # the row (3, "c") in both chunks
    assert stats.columns["n"].values == {"1": 1, "2": 1, "3": 2, "7": 1}


def test_an_int_column_with_missing_values_is_a_float_column_as_pandas_read_it() -> None:
    gaps = pa.RecordBatch.from_arrays([pa.array([1, None, 3], pa.int64())], ["n"])
    found, stats = run(DatasetContract(columns={"n": ColumnContract(type="int", nullable=False)}), gaps)
    assert stats.columns["n"].kind == "float" and stats.columns["n"].whole
    assert found == {("n", "nullable"): (1, ["row 2: (missing)"])}


def test_numbers_that_are_not_whole_or_out_of_range_and_allowed_numbers_as_text() -> None:
    contract = DatasetContract(
        columns={
            "n": ColumnContract(type="int", min=0),
            "label": ColumnContract(allowed=("0", "1")),
            "flag": ColumnContract(type="bool", allowed=("true",)),
        }
    )
    found, _ = run(
        contract,
        batch(n=[1.0, 2.5, -1.0, float("inf")], label=[0.0, 1.0, 2.0, None], flag=[True, True, False, True]),
    )
    assert found == {
        ("n", "type"): (2, ["row 2: 2.5", "row 4: inf"]),
        ("n", "min"): (1, ["row 3: -1"]),
        ("label", "allowed"): (1, ["row 3: 2"]),
        ("flag", "allowed"): (1, ["row 3: False"]),
    }


def test_text_that_must_parse_as_numbers_goes_through_pandas() -> None:
    contract = DatasetContract(columns={"x": ColumnContract(type="float", max=10)})
    found, stats = run(contract, batch(x=["1.5", "abc", "12", None]))
    assert found == {("x", "type"): (1, ["row 2: 'abc'"]), ("x", "max"): (1, ["row 3: '12'"])}
    assert stats.columns["x"].kind == "str" and stats.columns["x"].nulls == 1


CHECK_WITHOUT_PANDAS = """
import sys
from pathlib import Path
from mlci.config import ColumnContract, DatasetContract, load_config
from mlci.data.scan import scan_head
root = Path(sys.argv[1])
contract = DatasetContract(
    unique=("id",),
    columns={
        "id": ColumnContract(type="int"),
        "x": ColumnContract(type="float", min=0, max=1),
        "band": ColumnContract(allowed=("a", "b")),
    },
)
snapshot = scan_head(root, load_config(root), "d.csv", None, contract, None)
print(sorted((v.column, v.rule, v.count) for v in snapshot.violations), "pandas" in sys.modules)
"""


def test_the_check_of_numbers_and_text_does_not_import_pandas(tmp_path: Path) -> None:
    lines = ["id,x,band"] + [f"{i},{(i % 10) / 10},{'ab'[i % 2]}" for i in range(50)] + ["3,2.5,c"]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    proc = subprocess.run(
        [sys.executable, "-c", CHECK_WITHOUT_PANDAS, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = "[('band', 'allowed', 1), ('id', 'unique', 1), ('x', 'max', 1)] False"
    assert proc.stdout.strip() == found  # pandas costs ~0.4 s to import: only uncommon columns need it
