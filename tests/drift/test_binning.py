"""The fast paths give exactly what the slow ones gave: the binning `np.searchsorted`'s bins, Parquet
read dictionary-encoded the profile of the decoded strings, distinct hashes by sorting `np.unique`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlci.drift.binning import Binner
from mlci.drift.profile import ProfileSettings, build_current, build_reference
from mlci.repo.tables import DICTIONARY_READ, plain, read_batches


def _cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    normal = rng.normal(3.0, 2.0, 50_000)
    discrete = rng.integers(0, 20, 50_000).astype(float)
    heavy = rng.standard_cauchy(50_000)
    tiny = 1.0 + rng.integers(0, 3, 50_000) * 1e-12  # edges far closer than a cell: crowded cells
    spread = np.concatenate([rng.normal(0, 1e-9, 40_000), rng.normal(1e6, 1, 10_000)])
    cases = []
    for name, values in [
        ("normal", normal),
        ("discrete", discrete),
        ("heavy tails", heavy),
        ("nearly equal", tiny),
        ("two far clusters", spread),
    ]:
        edges = np.unique(np.quantile(values[::7], np.arange(1, 100) / 100, method="inverted_cdf"))
        probe = np.concatenate([values, edges, np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)])
        probe = np.concatenate([probe, [np.inf, -np.inf, 1e308, -1e308, 0.0, -0.0]])
        cases.append((name, edges, probe))
    return cases


@pytest.mark.parametrize(("name", "edges", "values"), _cases(), ids=[c[0] for c in _cases()])
def test_bins_are_exactly_searchsorted(name: str, edges: np.ndarray, values: np.ndarray) -> None:
    assert np.array_equal(Binner(edges)(values), np.searchsorted(edges, values, side="left")), name


def test_one_edge_and_no_edge_fall_back() -> None:
    values = np.array([-1.0, 0.0, 1.0, 2.0])
    for edges in (np.array([1.0]), np.array([], dtype=float)):
        assert np.array_equal(Binner(edges)(values), np.searchsorted(edges, values, side="left"))


def test_parquet_read_dictionary_encoded_profiles_as_text(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 30_000
    city = rng.choice(["Oslo", "Lima", "a long street name with spaces"], n).astype(object)
    city[rng.random(n) < 0.1] = None
    ids = np.array([f"id-{i}" for i in rng.integers(0, 5_000, n)], dtype=object)
    data = pa.table({"city": city, "id": ids, "x": rng.normal(0, 1, n)})
    path = tmp_path / "data.parquet"
    pq.write_table(data, path, row_group_size=7_000)
    settings = ProfileSettings(hold_rows=1_000, max_categories=100)  # a second pass; pooled values

    def batches(dictionary: bool) -> list[pa.RecordBatch]:
        return list(read_batches(path, 4_000, dictionary=dictionary))

    encoded = batches(True)
    assert pa.types.is_dictionary(encoded[0].schema.field("city").type)
    assert plain(encoded[0]).equals(batches(False)[0])
    ref_plain = build_reference(lambda: batches(False), settings)
    ref_encoded = build_reference(lambda: batches(True), settings)
    _same(ref_encoded.to_json(), ref_plain.to_json())
    cur_plain = build_current(batches(False), ref_plain)
    cur_encoded = build_current(batches(True), ref_encoded)
    _same(cur_encoded.to_json(), cur_plain.to_json())
    assert ref_encoded.columns["city"].dtype == "string"
    assert ref_encoded.columns["city"].missing == int(sum(v is None for v in city))


def _same(a: dict[str, object], b: dict[str, object]) -> None:
    """Equal profiles; sums of floats equal to rounding (batches may be cut elsewhere)."""
    sums = ("mean", "m2", "sums")
    for x, y in zip(a.pop("columns"), b.pop("columns"), strict=True):  # type: ignore[call-overload]
        assert {k: v for k, v in x.items() if k not in sums} == {k: v for k, v in y.items() if k not in sums}
        for key in sums:
            assert x[key] == pytest.approx(y[key], rel=1e-12, abs=1e-9)
    assert a == b


def test_a_reader_error_reaches_the_consumer(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    pq.write_table(pa.table({"x": np.arange(100_000.0)}), path)
    data = path.read_bytes()
    path.write_bytes(data[:4] + b"\0" * (len(data) // 2) + data[4 + len(data) // 2 :])
    from mlci.errors import MlciError

    with pytest.raises(MlciError, match=r"broken\.parquet"):
        list(read_batches(path, 10_000, dictionary=True))


def test_a_dictionary_holding_a_value_twice_counts_it_once() -> None:
    dictionary = pa.array(["a", "b", "a", "c"])
    codes = pa.array([0, 1, 2, 2, 3, None, 0], type=pa.int32())
    encoded = pa.DictionaryArray.from_arrays(codes, dictionary)
    settings = ProfileSettings()
    by_code = build_reference(lambda: [pa.record_batch({"v": encoded})], settings)
    decoded = build_reference(lambda: [pa.record_batch({"v": encoded.dictionary_decode()})], settings)
    assert by_code.columns["v"].categories == decoded.columns["v"].categories == {"a": 4, "b": 1, "c": 1}
    assert by_code.columns["v"].value_hashes == decoded.columns["v"].value_hashes


def test_values_named_in_the_order_they_first_occur_not_the_dictionarys() -> None:
    """A chunk counted on its codes names the same values, in the same order, as the decoded text:
    those that occur first, not those first in the dictionary (a slice of a row group starts midway
    through it), when there are more values than names (reference) or new ones (current)."""
    rng = np.random.default_rng(14)
    words = pa.array([f"w{i}" for i in range(300)])
    settings = ProfileSettings(max_categories=40)

    def chunks(first: int, rows: int) -> list[pa.RecordBatch]:
        out = []
        for _ in range(3):
            codes = rng.integers(0, first, rows)
            codes[: first // 2] = np.arange(first - 1, first // 2 - 1, -1)  # the last codes first
            encoded = pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()), words)
            batch = pa.record_batch({"v": encoded})  # as the reader marks a column it kept encoded
            out.append(batch.replace_schema_metadata({DICTIONARY_READ: b'["v"]'}))
        return out

    def decoded(batches: list[pa.RecordBatch]) -> list[pa.RecordBatch]:
        return [pa.record_batch({"v": b.column(0).dictionary_decode()}) for b in batches]

    ref_chunks, cur_chunks = chunks(120, 2_000), chunks(300, 3_000)
    by_code = build_reference(lambda: ref_chunks, settings)
    by_text = build_reference(lambda: decoded(ref_chunks), settings)
    assert list(by_code.columns["v"].categories) == list(by_text.columns["v"].categories)
    assert list(by_code.columns["v"].categories)[:3] == ["w119", "w118", "w117"]
    _same(by_code.to_json(), by_text.to_json())
    current_by_code = build_current(cur_chunks, by_code)
    current_by_text = build_current(decoded(cur_chunks), by_text)
    code_column, text_column = current_by_code.columns["v"], current_by_text.columns["v"]
    assert list(code_column.categories) == list(text_column.categories)
    assert code_column.unseen == text_column.unseen > 0
    _same(current_by_code.to_json(), current_by_text.to_json())


def test_distinct_hashes_by_sorting_equal_numpy_unique() -> None:
    from mlci.drift.valueset import sorted_unique

    rng = np.random.default_rng(5)
    hashes = rng.integers(0, 2**63, 20_000, dtype=np.uint64)
    hashes = np.concatenate([hashes, hashes[:5_000], np.array([0, 2**64 - 1], dtype=np.uint64)])
    assert np.array_equal(sorted_unique(hashes), np.unique(hashes))
    assert len(sorted_unique(np.empty(0, dtype=np.uint64))) == 0


def _profiles_agree(path: Path, current: Path, chunk: int, settings: ProfileSettings) -> None:
    """Text kept dictionary-encoded (per-value results remembered across chunks) profiles exactly as
    the decoded strings do: reference and current, counted, pooled, unseen."""

    def batches(source: Path, dictionary: bool) -> list[pa.RecordBatch]:
        return list(read_batches(source, chunk, dictionary=dictionary))

    ref_plain = build_reference(lambda: batches(path, False), settings)
    ref_encoded = build_reference(lambda: batches(path, True), settings)
    _same(ref_encoded.to_json(), ref_plain.to_json())
    cur_plain = build_current(batches(current, False), ref_plain)
    cur_encoded = build_current(batches(current, True), ref_encoded)
    _same(cur_encoded.to_json(), cur_plain.to_json())


def test_row_groups_with_their_own_dictionaries_profile_as_text(tmp_path: Path) -> None:
    """Every row group carries its own dictionary (the same values in another order, some new):
    values met in an earlier chunk are looked up, new ones added, none counted twice or missed."""
    rng = np.random.default_rng(11)

    def ids(n: int, new_from: int) -> pa.Table:
        drawn = rng.zipf(1.3, n) % 3_000
        values = np.char.add("p", drawn.astype(str)).astype(object)
        values[new_from:] = np.char.add("q", rng.integers(0, 400, n - new_from).astype(str))
        values[rng.random(n) < 0.05] = None
        return pa.table({"product": values, "x": rng.normal(0, 1, n)})

    ref, cur = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    pq.write_table(ids(40_000, 40_000), ref, row_group_size=6_000)
    pq.write_table(ids(30_000, 24_000), cur, row_group_size=5_000)  # the last row groups: new values
    first = pq.ParquetFile(ref, read_dictionary=["product"])
    dictionaries = [first.read_row_group(i).column("product").chunk(0).dictionary for i in range(2)]
    assert not dictionaries[0].equals(dictionaries[1])  # what the lookup is for
    _profiles_agree(ref, cur, 4_000, ProfileSettings(max_categories=50, hold_rows=1_000))
    reference = build_reference(lambda: read_batches(ref, 4_000, dictionary=True), ProfileSettings())
    current = build_current(read_batches(cur, 4_000, dictionary=True), reference).columns["product"]
    had = set(pq.read_table(ref).column("product").to_pylist())
    now = [v for v in pq.read_table(cur).column("product").to_pylist() if v is not None]
    assert current.unseen == sum(1 for v in now if v not in had) > 6_000 * 0.9  # the "q" rows at least


def test_more_distinct_values_than_are_remembered_profile_as_text(tmp_path: Path) -> None:
    """Beyond the values remembered per column, the chunks are worked on one by one: same profile."""
    from mlci.drift.entries import MEMO_LIMIT

    n = MEMO_LIMIT + 30_000
    ids = np.char.add("id", np.random.default_rng(12).permutation(n).astype(str))
    ref, cur = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    pq.write_table(pa.table({"id": ids}), ref, row_group_size=50_000)
    pq.write_table(pa.table({"id": ids[::-1][:60_000]}), cur, row_group_size=20_000)
    _profiles_agree(ref, cur, 50_000, ProfileSettings(max_categories=100, hold_rows=1_000))


def test_profiling_parquet_text_does_not_import_pandas(tmp_path: Path) -> None:
    """pandas costs a monitor run ~0.4 s and 30 MiB; the profile never needs it (a Python scalar
    handed to pyarrow.compute imports it: the lookup of values across row groups must not)."""
    import subprocess
    import sys

    rng = np.random.default_rng(13)
    ref, cur = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    for path, seed in ((ref, 0), (cur, 1)):
        ids = np.char.add("v", (rng.zipf(1.5, 20_000) % 2_000 + seed * 1_500).astype(str))
        pq.write_table(pa.table({"v": ids, "x": rng.normal(0, 1, 20_000)}), path, row_group_size=3_000)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mlci.drift.profile import ProfileSettings, build_current, build_reference\n"
        "from mlci.repo.tables import read_batches\n"
        f"ref, cur = Path({str(ref)!r}), Path({str(cur)!r})\n"
        "p = build_reference(lambda: read_batches(ref, 2_000, dictionary=True), ProfileSettings())\n"
        "c = build_current(read_batches(cur, 2_000, dictionary=True), p)\n"
        "assert c.columns['v'].unseen > 0\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_second_pass_over_the_binned_columns_only_gives_the_same_reference(tmp_path: Path) -> None:
    """Past `hold_rows` the reference is read twice; the second pass reading only the numeric columns
    (`binned`) counts the same bins, and it is asked for no text column."""
    rng = np.random.default_rng(15)
    n = 12_000
    table = pa.table(
        {
            "x": rng.normal(0, 1, n),
            "city": np.char.add("c", (rng.zipf(1.5, n) % 500).astype(str)),
            "y": rng.integers(0, 9, n).astype(float),
        }
    )
    path = tmp_path / "ref.parquet"
    pq.write_table(table, path, row_group_size=2_500)
    settings = ProfileSettings(hold_rows=3_000, max_categories=20)
    asked: list[list[str]] = []

    def binned(columns: list[str]) -> list[pa.RecordBatch]:
        asked.append(columns)
        return list(read_batches(path, 2_000, columns, dictionary=True))

    def everything() -> list[pa.RecordBatch]:
        return list(read_batches(path, 2_000, dictionary=True))

    whole = build_reference(everything, settings)
    numeric_only = build_reference(everything, settings, binned=binned)
    assert asked == [["x", "y"]]
    assert sum(numeric_only.columns["x"].counts) == n
    _same(numeric_only.to_json(), whole.to_json())
