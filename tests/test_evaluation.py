import numpy as np
import pandas as pd
import pytest

from vaetools.evaluation import hide_cells, score_imputation, score_multiple_imputations


@pytest.fixture
def df():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000),
                         "c": rng.integers(0, 5, 2000), "d": rng.choice(["x", "y"], 2000)})


@pytest.mark.parametrize("mech", ["mcar", "mar", "mnar"])
def test_hide_cells_rate_and_reproducibility(df, mech):
    out = hide_cells(df, 0.3, mech, random_state=1)
    assert abs(out.isna().to_numpy().mean() - 0.3) < 0.05
    pd.testing.assert_frame_equal(out, hide_cells(df, 0.3, mech, random_state=1))
    assert out["c"].dtype == "Int64"  # integer columns stay integer


def test_mnar_hides_large_values(df):
    out = hide_cells(df, 0.3, "mnar", random_state=0)
    hidden = out["a"].isna()
    assert df.loc[hidden, "a"].mean() > df.loc[~hidden, "a"].mean() + 0.5


def test_bad_mechanism_or_rate(df):
    with pytest.raises(ValueError, match="mechanism"):
        hide_cells(df, 0.3, "nmar")
    with pytest.raises(ValueError, match="rate"):
        hide_cells(df, 1.5)


def test_score_imputation_on_known_errors():
    truth = pd.DataFrame({"a": [0.0, 2.0, 4.0], "k": ["x", "y", "x"]})
    holey = pd.DataFrame({"a": [np.nan, 2.0, np.nan], "k": [None, "y", None]})
    imputed = pd.DataFrame({"a": [2.0, 2.0, 4.0], "k": ["x", "y", "y"]})
    sc = score_imputation(truth, holey, imputed)
    assert sc["rmse"] == pytest.approx(np.sqrt((1.0**2 + 0.0) / 2))  # std of a is 2
    assert sc["accuracy"] == 0.5 and sc["hidden_numeric"] == 2


def test_numeric_peer_fitted_once_fills_new_rows_in_the_tables_own_values(df):
    """The transform benchmark fits a peer once and imputes with it: new rows get filled,
    observed cells kept, categories mapped back to the table's own labels."""
    from sklearn.impute import SimpleImputer

    from vaetools.evaluation import AsNumbers

    holey = hide_cells(df, 0.3, "mcar", random_state=0)
    peer = AsNumbers(lambda: SimpleImputer(strategy="median")).fit(holey.iloc[:1500])
    new = holey.iloc[1500:]
    out = peer.transform(new)
    assert out.notna().all().all() and list(out.index) == list(new.index)
    observed = new.notna()
    pd.testing.assert_frame_equal(out[observed].astype(object), new[observed].astype(object))
    assert set(out["d"]) <= {"x", "y"}
    # a label the fit never saw counts as missing rather than as some other category's code
    unseen = new.assign(d=["z"] * len(new))
    assert set(peer.transform(unseen.assign(d=pd.NA))["d"]) <= {"x", "y"}
    codes = peer._to_numbers(unseen)[:, 3]
    assert np.isnan(codes).all()


def test_multiple_imputation_score_is_calibrated_for_draws_from_the_truths_distribution():
    # the truth and 19 draws all come from N(0, 1) per cell: the truth is outside the draws'
    # range 2 times in 20; draws from N(0, 0.3^2) are too narrow; categories drawn with the
    # truth's own probabilities score the Brier of that distribution
    rng = np.random.default_rng(0)
    n = 20000
    truth = pd.DataFrame({"a": rng.normal(size=n), "k": rng.choice(["x", "y"], n, p=[0.8, 0.2])})
    holey = truth.assign(a=np.nan, k=pd.Series([None] * n, dtype=object))
    calibrated = [truth.assign(a=rng.normal(size=n), k=rng.choice(["x", "y"], n, p=[0.8, 0.2])) for _ in range(19)]
    narrow = [truth.assign(a=0.3 * rng.normal(size=n)) for _ in range(19)]
    good = score_multiple_imputations(truth, holey, calibrated)
    assert good["coverage"] == pytest.approx(0.9, abs=0.01) and good["draws"] == 19
    assert good["width"] == pytest.approx(3.7, abs=0.15)  # expected range of 19 standard normals
    assert good["brier"] == pytest.approx(2 * 0.8 * 0.2 * (1 + 1 / 19), abs=0.01)
    assert score_multiple_imputations(truth, holey, narrow)["coverage"] < 0.5
    sure = score_multiple_imputations(truth, holey, [truth] * 19)
    assert sure["coverage"] == 1.0 and sure["width"] == 0.0 and sure["brier"] == 0.0
