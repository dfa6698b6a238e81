import numpy as np
import pandas as pd
import pytest

from vaetools.evaluation import hide_cells, score_imputation


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
