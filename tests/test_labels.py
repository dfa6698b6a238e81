"""Column names and categories that JSON has no value for survive saved models and .vtz files."""

import json

import numpy as np
import pandas as pd
import pytest

from vaetools import VAECompressor, VAEImputer, decompress
from vaetools.tabular import labels

FAST = dict(max_epochs=3, hidden_sizes=(16,), random_state=0)


@pytest.mark.parametrize("value", [
    "text", 3, 2.5, True, None, np.int64(7), ("g", "a"), ("g", (1, "x")), pd.Period("2020-03", "M"),
    pd.Interval(0.5, 1.5, closed="left"), pd.Timestamp("2021-05-01 12:00", tz="Europe/Paris"),
    pd.Timedelta(90, unit="s")])
def test_labels_read_back_as_written(value):
    back = labels.from_json(json.loads(json.dumps(labels.to_json(value))))
    assert back == value and type(back) is type(value.item() if isinstance(value, np.generic) else value)


def test_label_lists_from_older_files_read_as_tuples_and_unknown_values_are_refused():
    assert labels.from_json(["g", "a"]) == ("g", "a")  # json's rendering of a tuple
    with pytest.raises(TypeError, match="object"):
        labels.to_json(object())


def awkward_table(n=80, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    df = pd.DataFrame({
        "x": x,
        "size": pd.Categorical(np.where(x > 0.3, "L", np.where(x < -0.3, "S", "M")),
                               categories=["S", "M", "L"], ordered=True),
        "bucket": pd.cut(x + 0.1 * rng.normal(size=n), [-10, -0.5, 0.5, 10]),
        "month": pd.period_range("2020-01", periods=3, freq="M")[rng.integers(0, 3, n)],
    })
    df.loc[df.index[::7], "x"] = np.nan
    df.loc[df.index[2::9], "size"] = None
    return df


def test_compressed_file_gives_back_ordered_interval_and_period_categories(tmp_path):
    df = awkward_table()
    comp = VAECompressor(error_bound=0.01, **FAST).fit(df)
    comp.compress(df, tmp_path / "t.vtz")
    back = decompress(tmp_path / "t.vtz")
    for c in ("size", "bucket", "month"):
        assert back[c].dtype == df[c].dtype, c  # category lists, and the order of "size"
        assert back[c].astype(object).equals(df[c].astype(object)), c
    assert back["size"].cat.ordered and back["size"].max() == "L"
    again = comp.inverse_transform(comp.transform(df))
    assert again["size"].dtype == df["size"].dtype and again["bucket"].dtype == df["bucket"].dtype
    VAECompressor.load(_saved(comp, tmp_path)).compress(df, tmp_path / "u.vtz")
    assert (tmp_path / "u.vtz").read_bytes() == (tmp_path / "t.vtz").read_bytes()


def _saved(est, tmp_path):
    path = tmp_path / f"{type(est).__name__}.vtm"
    est.save(path)
    return path


def test_multiindex_columns_survive_save_load_and_a_file(tmp_path):
    df = awkward_table()[["x", "size"]]
    df.columns = pd.MultiIndex.from_tuples([("num", "x"), ("cat", "size")])
    imputer = VAEImputer(**FAST).fit(df)
    loaded = VAEImputer.load(_saved(imputer, tmp_path))
    assert loaded.fit_columns_ == [("num", "x"), ("cat", "size")]
    pd.testing.assert_frame_equal(loaded.transform(df), imputer.transform(df))
    comp = VAECompressor(error_bound=0.01, column_types={("num", "x"): "continuous"}, **FAST).fit(df)
    comp.compress(df, tmp_path / "t.vtz", passthrough=None)
    back = decompress(tmp_path / "t.vtz")
    assert back.columns.equals(df.columns)
    assert back[("cat", "size")].equals(df[("cat", "size")])
    assert VAECompressor.load(_saved(comp, tmp_path)).column_types == {("num", "x"): "continuous"}


def test_passthrough_column_of_period_categories_round_trips(tmp_path):
    df = awkward_table().assign(month=lambda d: d["month"].astype("category"))
    comp = VAECompressor(error_bound=0.01, **FAST).fit(df[["x", "size"]])
    comp.compress(df[["x", "size", "month"]], tmp_path / "t.vtz", passthrough=["month"])
    pd.testing.assert_series_equal(decompress(tmp_path / "t.vtz")["month"], df["month"])
