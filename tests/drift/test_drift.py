"""The drift engine on generated data with known drift: exactly the drifted columns are flagged."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from mlci.drift.engine import Rule, Thresholds, compare, compare_column
from mlci.drift.profile import ProfileSettings, build_current, build_reference
from mlci.errors import MlciError
from tests.testing.monitor import DRIFTED, table


def profiles(ref: pa.Table, cur: pa.Table, chunk: int = 50_000, **settings: int):  # type: ignore[no-untyped-def]
    reference = build_reference(lambda: ref.to_batches(chunk), ProfileSettings(**settings))
    return reference, build_current(cur.to_batches(chunk), reference)


@pytest.mark.parametrize("rows", [300, 200_000])
def test_exactly_the_drifted_columns_are_flagged(rows: int) -> None:
    reference, current = profiles(table(rows, seed=1), table(rows, seed=2, drift=True))
    result = compare(reference, current)
    assert result.drifted_columns() == DRIFTED
    assert result.drifted_share == pytest.approx(5 / 25)
    assert not result.dataset_drift  # 20% < the default 30%
    tests = {c.test for c in result.columns}
    assert tests == ({"ks-exact", "chi2"} if rows == 300 else {"ks-binned", "chi2"})


@pytest.mark.parametrize("rows", [300, 200_000])
def test_no_drift_flags_nothing(rows: int) -> None:
    reference, current = profiles(table(rows, seed=3), table(rows, seed=4))
    result = compare(reference, current)
    assert result.drifted_columns() == []


def test_dataset_drift_follows_the_share_threshold() -> None:
    reference, current = profiles(table(2000, seed=5), table(2000, seed=6, drift=True))
    assert compare(reference, current, Thresholds(drift_share=0.2)).dataset_drift
    assert not compare(reference, current, Thresholds(drift_share=0.21)).dataset_drift


def test_large_samples_decide_by_effect_size_not_p_value() -> None:
    # a shift of 0.02 std over 200k rows: KS is "significant", the effect is negligible
    rng = np.random.default_rng(7)
    ref = pa.table({"x": rng.normal(0, 1, 200_000)})
    cur = pa.table({"x": rng.normal(0.02, 1, 200_000)})
    reference, current = profiles(ref, cur)
    column = compare(reference, current).columns[0]
    assert column.stats["p_value"] < 0.01
    assert not column.drifted


def test_binned_statistics_match_scipy_on_the_raw_values() -> None:
    rng = np.random.default_rng(8)
    a, b = rng.lognormal(0, 1, 100_000), rng.lognormal(0.3, 1.2, 100_000)
    reference, current = profiles(pa.table({"x": a}), pa.table({"x": b}))
    column = compare(reference, current).columns[0]
    assert column.test == "ks-binned"
    assert column.stats["ks_statistic"] == pytest.approx(stats.ks_2samp(a, b).statistic, abs=0.01)
    assert column.stats["wasserstein"] == pytest.approx(stats.wasserstein_distance(a, b), rel=0.01)
    assert column.reference["mean"] == pytest.approx(a.mean())
    assert column.reference["std"] == pytest.approx(a.std(ddof=1))


def test_small_samples_use_the_exact_test() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.normal(0, 1, 400), rng.normal(0.3, 1, 300)
    reference, current = profiles(pa.table({"x": a}), pa.table({"x": b}))
    column = compare(reference, current).columns[0]
    assert column.test == "ks-exact"
    assert column.stats["ks_p_value"] == pytest.approx(stats.ks_2samp(a, b).pvalue)
    assert column.stats["mean_p_value"] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    spread = stats.levene(a, b, center="median")  # Brown–Forsythe
    assert column.stats["spread_p_value"] == pytest.approx(spread.pvalue)
    assert column.stats["wasserstein"] == pytest.approx(stats.wasserstein_distance(a, b))


def test_a_jump_in_missing_values_is_drift_even_when_the_values_look_the_same() -> None:
    reference, current = profiles(table(20_000, seed=10), table(20_000, seed=11, missing_jump="num05"))
    result = compare(reference, current)
    assert result.drifted_columns() == ["num05"]
    column = next(c for c in result.columns if c.name == "num05")
    assert column.method == "missing"
    assert column.current["missing_share"] == pytest.approx(0.2, abs=0.01)
    assert "missing values 0.0% → 20" in column.reasons[0]


def test_unseen_categories_are_counted_and_flag_drift_on_large_samples() -> None:
    # 1.5% of 200k rows hold a value the model never saw: too little mass for the distance alone
    new = table(200_000, seed=13, new_category="cat3", new_share=0.015)
    reference, current = profiles(table(200_000, seed=12), new)
    result = compare(reference, current)
    assert result.drifted_columns() == ["cat3"]
    column = next(c for c in result.columns if c.name == "cat3")
    assert column.stats["unseen_categories"] == 1
    assert column.stats["unseen_top"] == {"brand-new": pytest.approx(0.015 * 200_000, rel=0.05)}
    assert column.stats["js"] < 0.1  # the distance alone would not have flagged it
    assert column.method == "unseen"


def test_a_constant_reference_column() -> None:
    rng = np.random.default_rng(25)
    ref = pa.table({"const": np.full(1000, 3.0), "other": rng.normal(size=1000)})
    same = pa.table({"const": np.full(800, 3.0), "other": rng.normal(size=800)})
    varies = pa.table({"const": np.r_[np.full(400, 3.0), np.full(400, 4.0)], "other": rng.normal(size=800)})
    reference, current = profiles(ref, same)
    assert compare(reference, current).drifted_columns() == []
    reference, current = profiles(ref, varies)
    column = compare(reference, current).columns[0]
    assert column.drifted
    assert "constant in the reference" in column.notes[0]


def test_nan_values_count_as_missing_and_all_nan_current_is_explained() -> None:
    rng = np.random.default_rng(14)
    ref = pa.table({"x": rng.normal(0, 1, 1000), "y": rng.normal(0, 1, 1000)})
    cur = pa.table({"x": np.full(500, np.nan), "y": rng.normal(0, 1, 500)})
    reference, current = profiles(ref, cur)
    x = compare(reference, current).columns[0]
    assert x.drifted
    assert x.current["missing_share"] == 1.0
    assert x.notes == ["no values in the current data"]
    assert x.reasons == ["missing values 0.0% → 100.0%"]


def test_empty_current_data_is_an_input_error() -> None:
    reference, _ = profiles(table(500, seed=15), table(500, seed=16))
    empty = build_current([], reference)
    with pytest.raises(MlciError, match="no rows"):
        compare(reference, empty)


def test_missing_new_and_retyped_columns_are_listed() -> None:
    ref = table(1000, seed=17)
    cur = (
        table(1000, seed=18).drop_columns(["num10", "num11"]).append_column("extra", pa.array(np.ones(1000)))
    )
    cur = cur.set_column(
        cur.schema.get_field_index("num12"), "num12", pa.array([str(i) for i in range(1000)])
    )
    reference, current = profiles(ref, cur)
    result = compare(reference, current)
    assert result.schema.missing == ["num10", "num11"]
    assert result.schema.new == ["extra"]
    assert [c["name"] for c in result.schema.changed] == ["num12"]
    assert result.drifted_columns() == ["num12"]
    assert "type changed: numeric" in next(c for c in result.columns if c.name == "num12").reasons[0]


def test_a_wholly_different_schema_is_one_clear_error() -> None:
    rng = np.random.default_rng(19)
    reference, current = profiles(table(500, seed=20), pa.table({"a": rng.normal(size=500)}))
    with pytest.raises(MlciError, match="does not look like the reference: 25 of 25") as info:
        compare(reference, current)
    assert info.value.hint and "same column names" in info.value.hint


def test_column_thresholds_and_ignore() -> None:
    reference, current = profiles(table(5000, seed=21), table(5000, seed=22, drift=True))
    thresholds = Thresholds(columns={"num00": Rule(ignore=True), "num01": Rule(wasserstein=50.0, psi=50.0)})
    result = compare(reference, current, thresholds)
    assert result.drifted_columns() == ["num02", "num03", "cat0"]
    assert next(c for c in result.columns if c.name == "num00").test == "ignored"
    assert len(result.compared) == 24


def test_compare_column_on_its_own() -> None:
    reference, current = profiles(table(3000, seed=23), table(3000, seed=24, drift=True))
    column = compare_column(reference.columns["cat0"], current.columns["cat0"], Rule())
    assert column.drifted and column.method == "jensen-shannon"


def test_own_statistics_agree_with_scipy() -> None:
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    from mlci.drift import stats as drift_stats

    r, c = [120, 30, 0, 50], [80, 60, 10, 50]
    p, chi2 = drift_stats.chi2(r, c)
    full = stats.chi2_contingency([r, c], correction=False)
    assert (p, chi2) == pytest.approx((full.pvalue, full.statistic))
    assert drift_stats.chi2([5, 0, 7], [3, 0, 9]) == pytest.approx(
        drift_stats.chi2([5, 7], [3, 9])
    )  # empty bins drop
    assert drift_stats.js(r, c) == pytest.approx(jensenshannon(r, c, base=2))
    rng = np.random.default_rng(26)
    a, b = rng.normal(size=50), rng.normal(1, 2, size=70)
    wa, wb = rng.random(50), rng.random(70)
    assert drift_stats.wasserstein_weighted(a, wa, b, wb) == pytest.approx(
        stats.wasserstein_distance(a, b, wa, wb)
    )
    assert drift_stats.two_proportion_p(30, 1000, 60, 1000) == pytest.approx(
        2 * stats.norm.sf(abs(0.03 - 0.06) / np.sqrt(0.045 * 0.955 * 2 / 1000))
    )


def test_thresholds_come_from_mlci_yaml() -> None:
    from mlci.config import parse_config

    config = parse_config(
        {
            "monitor": {
                "drift_share": 0.2,
                "columns": {"num00": {"ignore": True}, "num01": {"wasserstein": 50, "psi": 50}},
            }
        }
    )
    thresholds = Thresholds.from_config(config.monitor)
    assert thresholds.rule("num01") == Rule(wasserstein=50.0, psi=50.0)
    assert thresholds.rule("other") == Rule()
    reference, current = profiles(table(5000, seed=21), table(5000, seed=22, drift=True))
    result = compare(reference, current, thresholds)
    assert result.drifted_columns() == ["num02", "num03", "cat0"]
    assert result.drifted_share == pytest.approx(3 / 24) and not result.dataset_drift
