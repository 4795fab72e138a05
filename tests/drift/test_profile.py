"""Profiles: the same numbers whatever the chunking, mergeable, JSON round trip, bounded."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from mlci.drift.engine import compare
from mlci.drift.profile import Profile, ProfileSettings, build_current, build_reference, merge
from mlci.errors import MlciError
from tests.testing.monitor import table


def test_chunking_does_not_change_the_profile() -> None:
    data = table(30_000, seed=1, missing_jump="num04")
    settings = ProfileSettings(hold_rows=1000)  # forces the second pass over the data
    whole = build_reference(lambda: data.to_batches(), settings)
    chunked = build_reference(lambda: data.to_batches(777), settings)
    for name, col in whole.columns.items():
        other = chunked.columns[name]
        assert (other.count, other.missing, other.counts, other.categories) == (
            col.count,
            col.missing,
            col.counts,
            col.categories,
        )
        if col.kind == "numeric":
            assert other.mean == pytest.approx(col.mean)
            assert other.std == pytest.approx(col.std)
    values = data.column("num04").to_numpy()
    num04 = whole.columns["num04"]
    assert num04.missing == int(np.isnan(values).sum())
    assert num04.mean == pytest.approx(np.nanmean(values))
    assert (num04.min, num04.max) == (np.nanmin(values), np.nanmax(values))


def test_reference_bins_hold_equal_shares() -> None:
    data = pa.table({"x": np.random.default_rng(2).exponential(size=50_000)})
    profile = build_reference(lambda: data.to_batches(10_000), ProfileSettings())
    coarse = np.array(profile.columns["x"].coarse_counts()) / 50_000
    assert len(coarse) == 10
    assert coarse == pytest.approx(np.full(10, 0.1), abs=0.01)


def test_merged_profiles_equal_one_profile_of_all_the_data() -> None:
    reference = build_reference(lambda: table(5000, seed=3).to_batches(), ProfileSettings())
    a, b = table(4000, seed=4), table(3000, seed=5, drift=True)
    merged = merge(build_current(a.to_batches(), reference), build_current(b.to_batches(), reference))
    both = build_current(pa.concat_tables([a, b]).to_batches(1500), reference)
    for name, col in both.columns.items():
        m = merged.columns[name]
        assert (m.count, m.counts, m.categories) == (col.count, col.counts, col.categories)
        assert m.mean == pytest.approx(col.mean)
        assert m.m2 == pytest.approx(col.m2)
    assert merged.rows == 7000


def test_json_round_trip_gives_the_same_drift() -> None:
    reference = build_reference(lambda: table(20_000, seed=6).to_batches(), ProfileSettings())
    current = build_current(table(20_000, seed=7, drift=True).to_batches(), reference)
    again = Profile.from_json(json.loads(json.dumps(reference.to_json())))
    assert compare(again, current).to_json() == compare(reference, current).to_json()


def test_memory_is_bounded_by_the_profile_not_the_data() -> None:
    big = table(120_000, seed=8)
    profile = build_reference(lambda: big.to_batches(20_000), ProfileSettings(exact_limit=1000))
    text = json.dumps(profile.to_json())
    assert all(c.values is None for c in profile.columns.values())
    assert len(text) < 100_000  # 25 columns: edges, counts and category counts only


def test_a_column_that_changes_type_between_files_is_an_error() -> None:
    batches = [pa.record_batch({"x": pa.array([1.0, 2.0])}), pa.record_batch({"x": pa.array(["a", "b"])})]
    with pytest.raises(MlciError, match="changes type between chunks or files"):
        build_reference(lambda: batches, ProfileSettings())


def test_not_a_profile() -> None:
    with pytest.raises(MlciError, match="profile version"):
        Profile.from_json({"columns": []})


def _ids(seed: int, n: int, distinct: int, new_share: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, distinct, n)
    drawn[:distinct] = np.arange(distinct)  # every value at least once
    ids = np.char.add("id", drawn.astype(str))
    new = rng.random(n) < new_share
    ids[new] = np.char.add("new", rng.integers(0, 10**9, int(new.sum())).astype(str))
    return pa.table({"id": ids})


def test_unseen_values_beyond_the_hash_limit_are_estimated_from_a_sample_of_values() -> None:
    """More distinct reference values than `hash_limit`: a 1-in-2^k sample of values (by hash)
    decides, and the unseen share is measured on the rows whose value is in the sample."""
    settings = ProfileSettings(hash_limit=1000)
    reference = build_reference(lambda: _ids(1, 60_000, 8000).to_batches(7000), settings)
    col = reference.columns["id"]
    assert col.hash_level >= 3  # 8,000 values into at most 1,000 hashes
    assert 4000 <= col.distinct <= 16_000
    again = Profile.from_json(json.loads(json.dumps(reference.to_json())))
    for new_share, low, high in [(0.0, 0.0, 0.0), (0.5, 0.4, 0.6), (1.0, 1.0, 1.0)]:
        current = build_current(_ids(2, 40_000, 8000, new_share).to_batches(5000), again)
        (drift,) = compare(again, current).columns
        assert low <= drift.stats["unseen_share"] <= high, new_share
        assert drift.drifted is (new_share > 0)


def test_merged_reference_profiles_keep_every_value_seen() -> None:
    settings = ProfileSettings()
    a = build_reference(lambda: _ids(3, 5000, 3000).to_batches(), settings)
    b = build_reference(lambda: _ids(4, 5000, 3000).to_batches(), settings)
    both = build_reference(
        lambda: pa.concat_tables([_ids(3, 5000, 3000), _ids(4, 5000, 3000)]).to_batches(), settings
    )
    merged = merge(a, b).columns["id"]
    assert (merged.value_hashes, merged.distinct) == (
        both.columns["id"].value_hashes,
        both.columns["id"].distinct,
    )


def test_value_hashes_are_fixed_and_do_not_depend_on_chunking() -> None:
    """Saved profiles are compared later, by another process: the hash of a value never changes."""
    from mlci.drift.valueset import hash_strings, hash_values

    values = pa.array(["", "a", "ab", "ba", "é", "abc" * 50])
    assert hash_values(["ab", "ba"]).tolist() == [1169690622860434928, 9058429732141055203]
    assert hash_strings(values.slice(2, 2)).tolist() == hash_strings(values).tolist()[2:4]
    assert hash_strings(pa.array(values.to_pylist(), type=pa.large_string())).tolist() == (
        hash_strings(values).tolist()
    )
    assert len(set(hash_strings(values).tolist())) == len(values)
