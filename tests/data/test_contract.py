"""Contract rules on real Arrow record batches, as the scan hands them over (no repository needed)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from mlci.config import ColumnContract, DatasetContract
from mlci.data.contract import ContractChecker, contracts_yaml, infer_contract
from mlci.data.stats import DataStats, StatsBuilder


def check(contract: DatasetContract, *chunks: pd.DataFrame) -> dict[tuple[str, str], tuple[int, list[str]]]:
    checker = ContractChecker(contract, max_examples=2)
    stats = StatsBuilder()
    first = 1
    for chunk in chunks:
        batch = pa.RecordBatch.from_pandas(chunk, preserve_index=False)
        stats.update(batch)
        checker.update(batch, first)
        first += len(chunk)
    found = checker.finish(stats.finish()[0])
    return {(v.column, v.rule): (v.count, v.examples) for v in found}


def test_types_as_csv_readers_deliver_them() -> None:
    contract = DatasetContract(
        columns={
            "n": ColumnContract(type="int"),
            "x": ColumnContract(type="float", nullable=False),
            "flag": ColumnContract(type="bool"),
            "when": ColumnContract(type="datetime"),
        }
    )
    good = pd.DataFrame(
        {"n": [1.0, 2.0], "x": [0.5, 1.5], "flag": ["true", "0"], "when": ["2024-01-01", "2024-02-03"]}
    )
    bad = pd.DataFrame(
        {"n": [3.0, 2.5], "x": ["abc", None], "flag": ["yes", "1"], "when": ["soon", "2024-03-01"]}
    )
    found = check(contract, good, bad)
    assert found[("n", "type")] == (1, ["row 4: 2.5"])
    assert found[("x", "type")] == (1, ["row 3: 'abc'"])
    assert found[("x", "nullable")] == (1, ["row 4: (missing)"])
    assert found[("flag", "type")] == (1, ["row 3: 'yes'"])
    assert found[("when", "type")] == (1, ["row 3: 'soon'"])
    assert len(found) == 5


def test_allowed_values_compare_as_text_and_ints_read_as_floats_match() -> None:
    contract = DatasetContract(columns={"label": ColumnContract(allowed=("0", "1"))})
    found = check(contract, pd.DataFrame({"label": [0.0, 1.0, None, 2.0]}))
    assert found == {("label", "allowed"): (1, ["row 4: 2"])}


def test_unique_keys_across_chunks() -> None:
    contract = DatasetContract(unique=("a", "b"))
    one = pd.DataFrame({"a": [1, 1, 2], "b": ["x", "y", "x"]})
    two = pd.DataFrame({"a": [1, 3, 3], "b": ["y", "z", "z"]})
    found = check(contract, one, two)
    assert found[("a, b", "unique")] == (2, ["row 4: '1, y'", "row 6: '3, z'"])


def test_inferred_contract_holds_for_its_own_data() -> None:
    frame = pd.DataFrame(
        {
            "id": [1.0, 2.0, 3.0, 4.0],
            "v": [0.1, None, 0.3, 0.2],
            "band": ["a", "b", "a", "a"],
            "y": [0, 1, 0, 0],
        }
    )
    stats, _ = _stats(frame)
    contract = infer_contract(stats, "d.csv", label="y")
    assert contract.columns["id"].type == "int" and contract.columns["v"].nullable
    assert contract.columns["band"].allowed == ("a", "b")
    assert contract.min_class_share == 0.12  # half the smallest class share (25%), rounded down
    assert check(contract, frame) == {}
    assert "min: 0.1" in contracts_yaml({"d": contract})
    implicit = infer_contract(stats, "d.csv", label="y", bounds=False)
    assert implicit.columns["v"].min is None and implicit.min_rows is None


def _stats(frame: pd.DataFrame) -> tuple[DataStats, Any]:
    builder = StatsBuilder()
    builder.update(pa.RecordBatch.from_pandas(frame, preserve_index=False))
    stats, hashes = builder.finish()
    return stats, hashes
