"""Columns a .vtz file stores as they are (``passthrough``): IDs, free text, dates, durations."""

import struct

import numpy as np
import pandas as pd
import pytest

from vaetools import VAECompressor, VAEImputer, compress, decompress, info
from vaetools.compress import VTZError, verbatim
from vaetools.compress.container import Reader
from vaetools.tabular.schema import UnmodelledColumnError

FAST = dict(max_epochs=3, hidden_sizes=(16, 16), latent_dim=2, random_state=0)


def people(n=600, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "id": [f"P{i:06d}" for i in range(n)],
        "age": rng.integers(18, 90, n),
        "note": rng.choice(["", "café ☃", "called back", None, "tab\there"], n).astype(object),
        "seen": pd.date_range("2021-03-01", periods=n, freq="37min"),
        "born": pd.date_range("1690-01-01", periods=n, freq="2D", unit="s", tz="Europe/Paris"),
        "wait": pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
        "group": rng.choice(["a", "b", "c"], n),
        "visits": pd.array(rng.integers(0, 100, n), dtype="Int64"),
        "score": rng.normal(size=n).astype(np.float32),
        "vip": rng.random(n) < 0.1,
        "tier": pd.Categorical(rng.choice(["gold", "silver"], n), categories=["silver", "gold"], ordered=True),
    })
    df.loc[3, "seen"] = pd.NaT
    df.loc[5, "born"] = pd.NaT
    df.loc[7, "wait"] = pd.NaT
    df.loc[9, "visits"] = pd.NA
    df.loc[11, "score"] = np.nan
    df.loc[13, "tier"] = np.nan
    df.loc[15, "age"] = None
    return df


AS_IS = ["id", "note", "seen", "born", "wait", "visits", "score", "vip", "tier"]


def test_passthrough_columns_come_back_exactly_in_place(tmp_path):
    df = people()
    report = compress(df, tmp_path / "t.vtz", error_bound=0.01, passthrough=AS_IS, chunk_rows=256, **FAST)
    back = decompress(tmp_path / "t.vtz")
    assert list(back.columns) == list(df.columns)
    for c in AS_IS:  # values, missing cells and dtypes (time zone, unit, nullable, categories)
        pd.testing.assert_series_equal(back[c], df[c])
    assert (back["group"] == df["group"]).all()
    part = decompress(tmp_path / "t.vtz", rows=slice(250, 300))  # across a chunk boundary
    for c in AS_IS:
        pd.testing.assert_series_equal(part[c], df[c].iloc[250:300])
    facts = info(tmp_path / "t.vtz")
    assert set(facts["column_bytes"]) == set(df.columns) and all(facts["column_bytes"][c] > 0 for c in AS_IS)
    assert sum(facts["stream_bytes"].values()) == report["chunks"]
    with Reader(tmp_path / "t.vtz") as r:
        assert r.version >= 6  # the first format with passthrough columns


def test_ids_and_timestamps_in_order_cost_no_more_than_xz_on_their_text(tmp_path):
    import lzma

    df = people(5000)[["id", "seen", "age", "group"]]
    compress(df, tmp_path / "t.vtz", error_bound=0.01, passthrough=["id", "seen"], **FAST)
    by_column = info(tmp_path / "t.vtz")["column_bytes"]
    xz = {c: len(lzma.compress("\n".join(str(v) for v in df[c]).encode())) for c in ("id", "seen")}
    assert by_column["id"] <= xz["id"]  # 1,047 against 1,644 bytes when written
    assert by_column["seen"] < xz["seen"] / 10  # a fixed step: the differences are one value


def test_fitted_compressor_stores_more_columns_and_refuses_what_it_cannot_give_back(tmp_path):
    df = people(300)
    comp = VAECompressor(error_bound=0.01, **FAST).fit(df[["age", "group"]])
    comp.compress(df[["id", "age", "group"]], tmp_path / "a.vtz", passthrough=["id"])
    assert list(decompress(tmp_path / "a.vtz").columns) == ["id", "age", "group"]
    with pytest.raises(ValueError, match=r"not in X: \['nope'\]"):
        comp.compress(df, tmp_path / "b.vtz", passthrough=["nope"])
    with pytest.raises(ValueError, match=r"fitted on: \['age'\]"):
        comp.compress(df, tmp_path / "b.vtz", passthrough=["age", "id"])
    with pytest.raises(ValueError, match="unexpected"):  # an extra column not named
        comp.compress(df[["id", "age", "group"]], tmp_path / "b.vtz")
    with pytest.raises(ValueError, match="must be a DataFrame"):
        comp.compress(df[["age"]].to_numpy(), tmp_path / "b.vtz", passthrough=["id"])
    mixed = df[["id", "age", "group"]].copy()
    mixed["id"] = mixed["id"].astype(object)
    mixed.loc[4, "id"] = 17
    with pytest.raises(ValueError, match=r"column 'id' holds values of type int beside text"):
        comp.compress(mixed, tmp_path / "b.vtz", passthrough=["id"])
    assert not (tmp_path / "b.vtz").exists()


def test_an_id_column_is_refused_with_the_way_to_keep_it():
    df = people(300)[["id", "age", "group"]]
    with pytest.raises(UnmodelledColumnError, match=r"passthrough=\['id'\]"):
        VAECompressor(**FAST).fit(df)
    # dates and durations are modelled (tests/compress/test_dates.py): only the ID is refused
    with pytest.raises(UnmodelledColumnError, match=r"(?s)2 columns cannot.*store them as they are: .*passthrough=\['id', 'note'\]"):
        VAECompressor(**FAST).fit(people(300)[["id", "seen", "age", "wait", "note"]].assign(note=[f"n{i}" for i in range(300)]))
    with pytest.raises(ValueError, match="ID or free text") as info_:  # the imputer has no file to keep it in
        VAEImputer(max_epochs=1).fit(df)
    assert "passthrough" not in str(info_.value)


@pytest.mark.parametrize("damage", ["short", "lengths", "count", "codes", "objects", "size"])
def test_damaged_sections_are_errors_not_wrong_values(damage):
    s = pd.Series(["ab", "c", None, "dé"], dtype=object)
    desc = verbatim.describe(s, "t")
    data = verbatim.encode(s, desc)
    with pytest.raises(verbatim.VerbatimError):
        if damage == "short":
            verbatim.decode(data[:5], desc, 4)
        elif damage == "lengths":
            payload = verbatim._unpack(data, None).tobytes()
            payload = payload[:1] + np.array([9, 1, 3], dtype="<u4").tobytes() + payload[13:]
            verbatim.decode(verbatim._pack(payload), desc, 4)
        elif damage == "count":
            verbatim.decode(data, desc, 9)  # more rows than the section holds
        elif damage == "size":  # a size field past what the values can take is not believed
            x = pd.Series(np.arange(100, dtype=np.int64))
            d = verbatim.describe(x, "x")
            section = verbatim.encode(x, d)
            verbatim.decode(struct.pack("<Q", 1 << 40) + section[8:], d, 100)
        elif damage == "objects":  # a header that asks for Python objects gets none
            x = pd.Series([1.5, 2.5])
            verbatim.decode(verbatim.encode(x, verbatim.describe(x, "x")), {"kind": "number", "dtype": "object",
                                                                            "base": "|O"}, 2)
        else:
            c = pd.Series(pd.Categorical(["x", "y"]))
            d = verbatim.describe(c, "c")
            verbatim.decode(verbatim.encode(c, d), {**d, "categories": ["x"]}, 2)


def test_text_past_the_section_cap_is_refused_when_written_and_when_read(tmp_path, monkeypatch):
    """A stated size past the cap is refused before LZMA inflates anything (its only bound)."""
    df = people(200)[["id", "age", "group"]]
    comp = VAECompressor(error_bound=0.01, **FAST).fit(df[["age", "group"]])
    comp.compress(df, tmp_path / "t.vtz", passthrough=["id"], chunk_rows=100)  # 100 ids: 1,113 bytes
    s = pd.Series(["x" * 1000] * 4, dtype=object, name="note")
    bomb = verbatim.encode(s, verbatim.describe(s, "note"))  # 4,017 bytes stated, 4,017 inflated
    monkeypatch.setattr(verbatim, "MAX_TEXT_SECTION_BYTES", 2000)
    with pytest.raises(verbatim.VerbatimError, match="more than a chunk may hold"):
        verbatim.decode(bomb, verbatim.describe(s, "note"), 4)
    with pytest.raises(ValueError, match=r"column 'id' .*chunk_rows"):
        comp.compress(df, tmp_path / "u.vtz", passthrough=["id"])  # 200 ids: 2,225 bytes
    assert not (tmp_path / "u.vtz").exists()
    assert decompress(tmp_path / "t.vtz")["id"].tolist() == df["id"].tolist()  # under the cap: read


def test_a_damaged_passthrough_section_is_named_as_corruption(tmp_path, monkeypatch):
    df = people(200)[["id", "age", "group"]]
    comp = VAECompressor(error_bound=0.01, **FAST).fit(df[["age", "group"]])
    comp.compress(df, tmp_path / "t.vtz", passthrough=["id"])
    monkeypatch.setattr(verbatim, "_FILTERS", [{"id": verbatim.lzma.FILTER_LZMA1, "preset": 1}])
    with pytest.raises(VTZError, match="corrupted"):
        decompress(tmp_path / "t.vtz")


def test_times_round_trip_at_the_extremes_and_cost_the_same_in_any_unit():
    extreme = pd.Series(pd.to_datetime(["1677-09-22 00:12:44", "2262-04-10 00:00:00", None, "1970-01-01 00:00:00",
                                        "2262-04-11 23:47:16"]))
    extreme = extreme.astype("datetime64[ns]")
    desc = verbatim.describe(extreme, "t")
    pd.testing.assert_series_equal(verbatim.decode(verbatim.encode(extreme, desc), desc, 5), extreme)
    # whole seconds kept as nanoseconds take what the same times take as seconds
    rng = np.random.default_rng(0)
    secs = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 10**7, 4000)), unit="s"))
    sizes = {}
    for unit in ("s", "ns"):
        col = secs.astype(f"datetime64[{unit}]")
        d = verbatim.describe(col, "t")
        data = verbatim.encode(col, d)
        pd.testing.assert_series_equal(verbatim.decode(data, d, len(col)), col)
        sizes[unit] = len(data)
    assert sizes["ns"] <= 1.05 * sizes["s"]


@pytest.mark.parametrize("make_index", [
    lambda n: pd.Index([f"c{i}" for i in range(n)], name="customer"),
    lambda n: pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC", name="at"),
    lambda n: pd.MultiIndex.from_arrays([np.arange(n) % 7, [f"s{i}" for i in range(n)]], names=["shop", "sale"]),
    lambda n: pd.RangeIndex(100, 100 + n),
    lambda n: pd.RangeIndex(n, name="row"),
], ids=["text", "dates", "multi", "shifted", "named"])
def test_a_dataframes_index_comes_back(tmp_path, make_index):
    # before, every file decoded with the rows numbered 0, 1, ...: a table keyed by its index lost its keys
    df = people(300)[["age", "group"]]
    df.index = make_index(len(df))
    compress(df, tmp_path / "t.vtz", error_bound=0.01, chunk_rows=128, **FAST)

    def same(got, want):  # a file keeps the labels, not a date range's frequency
        if isinstance(want, pd.DatetimeIndex):
            want = want.copy()
            want.freq = None
        pd.testing.assert_index_equal(got, want, exact=False, check_exact=True)

    same(decompress(tmp_path / "t.vtz").index, df.index)
    same(decompress(tmp_path / "t.vtz", rows=slice(120, 140)).index, df.index[120:140])
    facts = info(tmp_path / "t.vtz")
    assert sum(facts["stream_bytes"].values()) == facts["bytes"]["chunks"]


def test_a_default_index_costs_nothing_and_stays_a_range(tmp_path):
    df = people(300)[["age", "group"]]
    compress(df, tmp_path / "t.vtz", error_bound=0.01, **FAST)
    back = decompress(tmp_path / "t.vtz", rows=slice(10, 20))
    assert isinstance(back.index, pd.RangeIndex) and list(back.index) == list(range(10, 20))
    assert not any(k.startswith("index/") for k in info(tmp_path / "t.vtz")["stream_bytes"])
    df.index = pd.Index(range(300), name=("a", "tuple"))  # kept: a row number may have a name
    compress(df, tmp_path / "n.vtz", error_bound=0.01, **FAST)
    assert decompress(tmp_path / "n.vtz").index.name == ("a", "tuple")
    df.index = pd.Index(range(300), name=frozenset({"a"}))
    with pytest.raises(ValueError, match="index level named"):
        compress(df, tmp_path / "u.vtz", error_bound=0.01, **FAST)
    assert not (tmp_path / "u.vtz").exists()
