"""VAECompressor and the .vtz file: round trips, guarantees, partial reads, damage, bad input."""

import struct
import zlib
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from vaetools import VAECompressor, VAEImputer, compress, decompress, info
from vaetools.compress import VTZError
from vaetools.compress.container import MAGIC
from vaetools.compress.entropy import Histogram

FAST = dict(max_epochs=40, hidden_sizes=(32, 32), latent_dim=4, random_state=0)


def table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.normal(size=n)
    df = pd.DataFrame({
        "x": t * 10 + 100 + rng.normal(size=n),
        "y": np.exp(t) + 0.1 * rng.normal(size=n),
        "count": np.round(3 * t + 20).astype("int64"),
        "kind": pd.Categorical(np.where(t > 0.5, "a", np.where(t < -0.5, "c", "b"))),
        "label": np.where(rng.random(n) < 0.5, "yes", "no").astype(object),
        "flag": t > 0,
        # zero-inflated, heavily skewed integers (modelled in log1p space), like capital_gain
        "gain": np.where(rng.random(n) < 0.85, 0, rng.lognormal(7, 1, n)).astype("int64"),
    })
    df.loc[df.index[::9], "x"] = np.nan
    df.loc[df.index[3::11], "label"] = None
    return df


@pytest.fixture(scope="module")
def fitted():
    df = table()
    return df, VAECompressor(**FAST).fit(df)


@parametrize_with_checks([VAECompressor(max_epochs=3, hidden_sizes=(16,), random_state=0)])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


def test_codes_and_inverse_transform(fitted):
    df, comp = fitted
    Z = comp.transform(df)
    assert Z.shape == (len(df), 4)
    assert list(comp.get_feature_names_out()) == [f"vaecompressor{i}" for i in range(4)]
    back = comp.inverse_transform(Z)
    assert list(back.columns) == list(df.columns) and back.dtypes.equals(df.dtypes)
    assert set(back["kind"].dropna()) <= {"a", "b", "c"}
    err = comp.reconstruction_error(df)
    assert err["rmse"] < 1.0 and err["accuracy"] > 0.5
    assert comp.score(df) == pytest.approx(-err["rmse"])


def test_sample_gives_plausible_new_rows(fitted):
    df, comp = fitted
    s = comp.sample(50, random_state=1)
    assert s.shape == (50, df.shape[1]) and s.dtypes.equals(df.dtypes)
    assert set(s["label"]) <= {"yes", "no"} and s["x"].between(df["x"].min(), df["x"].max()).all()
    pd.testing.assert_frame_equal(s, comp.sample(50, random_state=1))


def _assert_exact_non_numeric(df, back):
    for c in ["kind", "label", "flag"]:
        pd.testing.assert_series_equal(back[c].astype(object).fillna("NA"), df[c].astype(object).fillna("NA"))
    pd.testing.assert_frame_equal(back.isna(), df.isna())


@pytest.mark.parametrize("bound", [0.01, 0.005])
def test_relative_bound_is_guaranteed_and_categories_exact(tmp_path, fitted, bound):
    df, comp = fitted
    path = tmp_path / "t.vtz"
    report = comp.compress(df, path, error_bound=bound)
    assert report["total"] == path.stat().st_size
    back = decompress(path)
    assert back.dtypes.equals(df.dtypes) and back.index.equals(df.index)
    _assert_exact_non_numeric(df, back)
    for c in ["x", "y", "count", "gain"]:
        limit = bound * (df[c].max() - df[c].min())
        assert (back[c] - df[c]).abs().max() <= limit, c
    assert fitted[1].schema_[list(df.columns).index("gain")].transform == "log1p"
    assert (back["count"] == df["count"]).all()  # bound < 0.5 on an integer column: exact


def test_absolute_and_per_column_bounds(tmp_path, fitted):
    df, comp = fitted
    path = tmp_path / "t.vtz"
    comp.compress(df, path, error_bound={"x": 0.25, "y": 0.01, "gain": 0.4}, error_mode="absolute")
    back = decompress(path)
    assert (back["gain"] == df["gain"]).all()  # integer column, bound < 0.5: exact, even in log1p space
    assert (back["x"] - df["x"]).abs().max() <= 0.25
    assert (back["y"] - df["y"]).abs().max() <= 0.01
    assert info(path)["error_bounds"] == {"x": 0.25, "y": 0.01, "gain": 0.4}


def test_without_bound_numeric_is_lossy_but_close(tmp_path, fitted):
    df, comp = fitted
    path = tmp_path / "t.vtz"
    comp.compress(df, path)
    back = decompress(path)
    _assert_exact_non_numeric(df, back)
    rmse = np.sqrt(((back["x"] - df["x"]) ** 2).mean()) / df["x"].std()
    assert 0 < rmse < 1.0


def test_partial_reads_touch_only_needed_chunks(tmp_path, fitted):
    df, comp = fitted
    path = tmp_path / "t.vtz"
    comp.compress(df, path, error_bound=0.01, chunk_rows=64)
    assert info(path)["chunks"] == 7
    full = decompress(path)
    part = decompress(path, rows=slice(100, 140))
    pd.testing.assert_frame_equal(part, full.iloc[100:140])
    picked = decompress(path, rows=[5, 399, 200])
    pd.testing.assert_frame_equal(picked, full.iloc[[5, 399, 200]])
    # damage a chunk that is not read: reading other rows still works
    data = bytearray(path.read_bytes())
    data[-200] ^= 0xFF  # inside the last chunk
    path.write_bytes(bytes(data))
    pd.testing.assert_frame_equal(decompress(path, rows=slice(0, 10)), full.iloc[:10])
    with pytest.raises(VTZError, match="checksum mismatch in chunk 6"):
        decompress(path)


def test_rows_out_of_range(tmp_path, fitted):
    df, comp = fitted
    path = tmp_path / "t.vtz"
    comp.compress(df, path)
    with pytest.raises(IndexError, match=r"rows \[400\] out of range.*holds 400 rows"):
        decompress(path, rows=[0, 400])
    with pytest.raises(TypeError, match="rows"):
        decompress(path, rows=["a"])
    mask = (df["count"] > 20).to_numpy()  # a boolean mask selects as in NumPy and pandas
    assert decompress(path, rows=mask).index.equals(df.index[mask])
    with pytest.raises(IndexError, match="one entry per row"):
        decompress(path, rows=mask[:-1])


def test_damaged_or_foreign_files(tmp_path, fitted):
    df, comp = fitted
    path = tmp_path / "t.vtz"
    comp.compress(df, path)
    good = path.read_bytes()
    cases = {
        "not a vaetools .vtz file": b"PK\x03\x04 this is a zip" + good[20:],
        "truncated": good[: len(good) // 2],
        "newer than": MAGIC + struct.pack("<HH", 99, 0) + good[12:],
        "header checksum": good[:30] + bytes([good[30] ^ 1]) + good[31:],
    }
    for message, blob in cases.items():
        bad = tmp_path / "bad.vtz"
        bad.write_bytes(blob)
        with pytest.raises(VTZError, match=message):
            decompress(bad)
    (tmp_path / "empty.vtz").write_bytes(b"")
    with pytest.raises(VTZError):
        decompress(tmp_path / "empty.vtz")
    with pytest.raises(FileNotFoundError):
        decompress(tmp_path / "nope.vtz")


def test_header_that_inflates_past_the_cap_is_refused_without_inflating_it(tmp_path, fitted, monkeypatch):
    # deflate expands up to ~1000x: a reader that inflated whatever a file held could be made to
    # allocate gigabytes by a small hostile file, whose checksums are easy to forge
    import json
    import zlib

    from vaetools.compress import container

    df, comp = fitted
    path = tmp_path / "t.vtz"
    comp.compress(df, path)
    good = path.read_bytes()
    (hlen,) = struct.unpack_from("<I", good, 12)
    header = json.loads(zlib.decompress(good[16:16 + hlen]))
    bomb = zlib.compress(b" " * 1_000_000 + json.dumps(header).encode(), 9)  # valid JSON, 1 MB
    assert len(bomb) < 10_000
    blob = good[:12] + struct.pack("<I", len(bomb)) + bomb + struct.pack("<I", zlib.crc32(bomb)) + good[20 + hlen:]
    # the index at the end points at offsets in the original file: fix them up
    shift = len(bomb) - hlen
    (index_offset,) = struct.unpack_from("<Q", blob, len(blob) - 16)
    blob = bytearray(blob)
    start = index_offset + shift
    (n,) = struct.unpack_from("<I", blob, start)
    for i in range(n):
        offset, first, rows = struct.unpack_from("<QQQ", blob, start + 4 + 24 * i)
        struct.pack_into("<QQQ", blob, start + 4 + 24 * i, offset + shift, first, rows)
    body = bytes(blob[start:len(blob) - 20])
    struct.pack_into("<I", blob, len(blob) - 20, zlib.crc32(body))
    struct.pack_into("<Q", blob, len(blob) - 16, start)
    bomb_path = tmp_path / "bomb.vtz"
    bomb_path.write_bytes(bytes(blob))
    pd.testing.assert_frame_equal(decompress(bomb_path), decompress(path))  # under the cap: read
    monkeypatch.setattr(container, "MAX_HEADER_BYTES", 100_000)
    with pytest.raises(VTZError, match="inflates to more than 100,000 bytes"):
        decompress(bomb_path)
    monkeypatch.setattr(container, "MAX_HEADER_BYTES", 100)  # and a writer never writes one
    with pytest.raises(ValueError, match="more than a .vtz header may hold"):
        comp.compress(df, tmp_path / "big.vtz")
    assert not (tmp_path / "big.vtz").exists()


def _with_index(blob: bytes, entries: list[tuple[int, int, int]]) -> bytes:
    """``blob`` with its chunk index replaced by ``entries`` (offset, first row, rows), its
    checksum forged to match, as a hostile writer would."""
    (start,) = struct.unpack_from("<Q", blob, len(blob) - 16)
    body = struct.pack("<I", len(entries)) + b"".join(struct.pack("<QQQ", *e) for e in entries)
    return blob[:start] + body + struct.pack("<I", zlib.crc32(body)) + struct.pack("<Q", start) + blob[-8:]


def test_index_that_states_more_rows_than_a_writer_writes_is_refused_before_allocating(tmp_path, fitted):
    # a chunk's row count is the index's word: a few forged bytes could ask for billions of rows
    df, comp = fitted
    path = tmp_path / "t.vtz"
    comp.compress(df, path, chunk_rows=150)
    good = path.read_bytes()
    (start,) = struct.unpack_from("<Q", good, len(good) - 16)
    (n,) = struct.unpack_from("<I", good, start)
    entries = [struct.unpack_from("<QQQ", good, start + 4 + 24 * i) for i in range(n)]
    assert n == 3 and _with_index(good, entries) == good
    huge = [*entries[:2], (entries[2][0], entries[2][1], 1 << 40)]
    cases = {
        "chunk 2 states 1,099,511,627,776 rows of 7 columns, more than vaetools writes": huge,
        "its chunks hold other than the 400 rows its header states": [*entries[:2], (*entries[2][:2], 99)],
        "chunk 1 of the index is out of place": [entries[0], (entries[1][0], 0, 150), entries[2]],
    }
    for message, index in cases.items():
        bad = tmp_path / "bad.vtz"
        bad.write_bytes(_with_index(good, index))
        with pytest.raises(VTZError, match=message):
            decompress(bad)
        with pytest.raises(VTZError, match=message):
            decompress(bad, rows=[0])
    forged = bytearray(good)  # a chunk's length is not under its checksum: read() would allocate it
    struct.pack_into("<Q", forged, entries[0][0], 1 << 62)
    (tmp_path / "bad.vtz").write_bytes(bytes(forged))
    with pytest.raises(VTZError, match="chunk 0's length 4,611,686,018,427,387,904 exceeds the file size"):
        decompress(tmp_path / "bad.vtz")


def test_wide_tables_get_fewer_rows_per_chunk(tmp_path, fitted, monkeypatch):
    from vaetools.compress import container

    df, comp = fitted
    monkeypatch.setattr(container, "MAX_CHUNK_CELLS", 7 * 40)  # 40 rows of these 7 columns
    path = tmp_path / "t.vtz"
    comp.compress(df, path)
    assert info(path)["chunks"] == 10  # 400 rows in chunks of 40
    whole = decompress(path)
    assert whole.dtypes.equals(df.dtypes) and whole.index.equals(df.index)
    pd.testing.assert_frame_equal(decompress(path, rows=slice(35, 85)), whole.iloc[35:85])
    with pytest.raises(ValueError, match="chunk_rows=41 with 7 columns makes chunks of more cells than a .vtz "
                                         "file holds in one .280.; pass chunk_rows=40 or fewer"):
        comp.compress(df, tmp_path / "u.vtz", chunk_rows=41)
    assert not (tmp_path / "u.vtz").exists()


def _rename_first(layout):
    layout[0][0] = "decoder.extra"


def _weights(layout):  # the tensors' entries, less the entropy-coded integers' (format 6)
    return [e for e in layout if e[0] != "*codes"]


def _shrink_last(layout):
    _weights(layout)[-1][1][-1] -= 1


def _grow_a_matrix(layout):
    _weights(layout)[0][1][0] += 1  # one row more than the model has: refused before its integers run out


@pytest.mark.parametrize("damage, message", [
    (_rename_first, "stores weights 'decoder.extra'"),
    (lambda layout: layout.remove(_weights(layout)[-1]), "are missing"),
    (_shrink_last, "have shape"),
    (_grow_a_matrix, "have shape"),
])
def test_weights_that_do_not_fit_the_described_model_are_refused(tmp_path, fitted, monkeypatch, damage, message):
    """A file with valid checksums whose weights do not match the model its header describes
    (other software, or crafted) gets a clear error, never torch's loader error nor a decoder
    with freshly initialized weights."""
    from vaetools.compress import container

    df, comp = fitted
    write = container.write

    def damaged(path, header, weights, chunks, **options):
        damage(header["weights"])
        return write(path, header, weights, chunks, **options)

    monkeypatch.setattr(container, "write", damaged)
    comp.compress(df, tmp_path / "odd.vtz")
    monkeypatch.undo()
    with pytest.raises(VTZError, match=message):
        decompress(tmp_path / "odd.vtz")


def test_values_that_decode_differently_from_the_writers_are_an_error_not_a_wrong_table(tmp_path, fitted, monkeypatch):
    """Each chunk stores a check of what it decodes to. Arithmetic that differs on the reading
    machine can decode intact bytes to other values; here the decoder's ranking of categories
    is disturbed at decompression (the coded ranks still decode, to other categories), which
    without the check would return a table with wrong categories and no error."""
    from vaetools.compress import codec

    df, comp = fitted
    path = tmp_path / "t.vtz"
    comp.compress(df, path, error_bound=0.01, chunk_rows=200)
    assert info(path)["format_version"] >= 4  # files carry the check from format 4 on
    rank_order = codec._rank_order

    def swapped(probs):  # the two most probable categories trade places
        order = rank_order(probs).copy()
        order[:, [0, 1]] = order[:, [1, 0]]
        return order

    monkeypatch.setattr(codec, "_rank_order", swapped)
    with pytest.raises(VTZError, match="chunk 0 decoded to values that fail the check"):
        decompress(path)


def test_files_without_the_decoded_check_still_read(tmp_path, fitted, monkeypatch):
    """Format 3 files carry no check section; they decode as before."""
    from vaetools.compress import codec, container

    df, comp = fitted
    write = container.write

    def as_format_3(path, header, weights, chunks, **options):
        header.pop("check")
        chunks = [(a, m, container.pack_sections(container.unpack_sections(p, "chunk")[:-1]))
                  for a, m, p in chunks]
        return write(path, header, weights, chunks, **options)

    with monkeypatch.context() as m:
        m.setattr(container, "write", as_format_3)
        m.setattr(container, "FORMAT_VERSION", 3)
        comp.compress(df, tmp_path / "v3.vtz", error_bound=0.01)
    comp.compress(df, tmp_path / "v4.vtz", error_bound=0.01)
    assert info(tmp_path / "v3.vtz")["format_version"] == 3
    pd.testing.assert_frame_equal(decompress(tmp_path / "v3.vtz"), decompress(tmp_path / "v4.vtz"))


def test_columns_missing_together_pay_for_their_marks_once(tmp_path):
    """A skipped survey section: three columns missing in the same rows. The marks of the
    second and third are coded given the first's, and every missing cell comes back."""
    df = table(600, seed=3)
    rng = np.random.default_rng(4)
    skipped = rng.random(len(df)) < 0.25
    df["x"] = df["x"].where(~skipped)
    df["y"] = df["y"].where(~skipped)
    df["kind"] = df["kind"].where(~skipped)
    comp = VAECompressor(**FAST).fit(df)
    path = tmp_path / "t.vtz"
    comp.compress(df, path, error_bound=0.01, chunk_rows=250)
    back = decompress(path)
    pd.testing.assert_frame_equal(back.isna(), df.isna())
    streams = info(path)["stream_bytes"]
    # x (also missing in every 9th row) pays for its marks; y is missing in most rows where x
    # is, and kind exactly where y is: a word a chunk
    assert streams["mask/1"] < 0.5 * streams["mask/0"] and streams["mask/3"] <= 12, streams
    pd.testing.assert_frame_equal(decompress(path, rows=slice(300, 420)), back.iloc[300:420])


def test_marker_of_missing_cells_in_a_text_column_of_numbers(tmp_path):
    # as pd.read_csv reads a column of numbers with "?" in some cells: text
    df = table(300, seed=5)[["x", "count", "kind"]]
    df["x"] = [("?" if pd.isna(v) else str(v)) for v in df["x"]]
    comp = VAECompressor(**FAST, missing_values="?", error_bound=0.01).fit(df)
    path = tmp_path / "t.vtz"
    comp.compress(df, path)
    back = decompress(path)
    truth = pd.to_numeric(df["x"], errors="coerce")
    assert back["x"].dtype == np.float64 and (back["x"].isna() == truth.isna()).all()
    assert ((back["x"] - truth).abs().max()) <= 0.01 * (truth.max() - truth.min())
    assert comp.inverse_transform(comp.transform(df))["x"].dtype == np.float64


def test_categories_that_drift_along_the_rows_are_coded_per_block(tmp_path, monkeypatch):
    """A table made of two sources one after the other (adult's train and test files): which
    source a row came from shows in no column, only in its position. Categories are coded under
    the decoder's probabilities corrected per block of 4,096 rows, and decode exactly from any
    chunk, also where chunks and blocks do not line up."""
    from vaetools.compress import codec

    n = 9000
    df = table(n, seed=6)[["x", "kind"]]
    rng = np.random.default_rng(7)
    late = np.arange(n) >= 4096
    u = rng.random(n)
    df["source"] = np.where(u < np.where(late, 0.8, 0.1), "new", np.where(u < 0.9, "old", "other"))
    df.loc[df.index[::13], "source"] = None
    comp = VAECompressor(**FAST, error_bound=0.01).fit(df)
    path, plain = tmp_path / "t.vtz", tmp_path / "plain.vtz"
    comp.compress(df, path, chunk_rows=1500)
    with monkeypatch.context() as m:
        m.setattr(codec, "fit_calibration", lambda *args, **kwargs: None)
        comp.compress(df, plain, chunk_rows=1500)
    back = decompress(path)
    pd.testing.assert_frame_equal(back[["kind", "source"]], decompress(plain)[["kind", "source"]])
    for c in ["kind", "source"]:
        pd.testing.assert_series_equal(back[c].astype(object).fillna("NA"), df[c].astype(object).fillna("NA"))
    pd.testing.assert_frame_equal(decompress(path, rows=slice(3900, 5300)), back.iloc[3900:5300])
    # the marginal costs ~1.36 bits a row, each block's distribution ~0.92
    assert info(path)["column_bytes"]["source"] < 0.85 * info(plain)["column_bytes"]["source"]


def test_info_accounts_for_every_byte(tmp_path, fitted):
    df, comp = fitted
    path = tmp_path / "t.vtz"
    comp.compress(df, path, error_bound=0.01, chunk_rows=150)
    facts = info(path)
    b, n_chunks = facts["bytes"], facts["chunks"]
    # the documented layout: magic+version+flags, header (with length and CRC), weights (with
    # length and CRC), chunks, index (count, 24 bytes a chunk, CRC), trailer
    framing = 12 + 12 + (4 + 24 * n_chunks + 4) + 16
    assert b["header"] + b["decoder_weights"] + b["chunks"] + framing == b["total"] == path.stat().st_size
    # and the chunks' bytes by stream: latent codes, checks, framing, and each column's streams
    streams, columns = facts["stream_bytes"], facts["column_bytes"]
    assert sum(streams.values()) == b["chunks"] and n_chunks == 3
    assert sum(columns.values()) == b["chunks"] - streams["latents"] - streams["checks"] - streams["framing"]
    assert list(columns) == list(df.columns)
    assert columns["x"] == streams["mask/0"] + streams["resid/0"] and streams["mask/0"] > 0


def test_decoder_weights_are_entropy_coded_and_older_files_still_read(tmp_path, fitted, monkeypatch):
    from vaetools.compress import codec, container

    df, comp = fitted
    n_params = sum(t.numel() for t in codec.decoder_state(comp.model_).values())
    path = tmp_path / "v6.vtz"
    comp.compress(df, path, error_bound=0.01)
    assert info(path)["format_version"] == container.VERSION_WITHOUT_TIMES  # no dates: 7, for older readers
    assert info(path)["bytes"]["decoder_weights"] < 0.7 * 2 * n_params  # fp16 would take 2 bytes each

    def int8(state, masks=None):  # what formats 2 to 5 wrote: int8 entries, a fp16 scale per row
        layout, blobs = [], []
        for k, t in state.items():
            a = t.numpy().astype(np.float64)
            if a.ndim == 2:
                scale = (np.abs(a).max(axis=1) / 127).astype("<f2")
                codes = np.rint(a / np.where(scale > 0, scale, 1).astype(np.float64)[:, None])
                blobs += [scale.tobytes(), np.clip(codes, -127, 127).astype(np.int8).tobytes()]
                layout.append([k, list(a.shape), "i8"])
            else:
                blobs.append(a.astype("<f2").tobytes())
                layout.append([k, list(a.shape), "f2"])
        return b"".join(blobs), layout

    with monkeypatch.context() as m:
        m.setattr(codec, "pack_weights", int8)
        m.setattr(container, "FORMAT_VERSION", 5)
        comp.compress(df, tmp_path / "v5.vtz", error_bound=0.01)
    assert info(tmp_path / "v5.vtz")["format_version"] == 5
    # this decoder is tiny: its integers coded cost about a byte each, so they are stored as int8
    assert info(tmp_path / "v5.vtz")["bytes"]["decoder_weights"] >= info(path)["bytes"]["decoder_weights"]
    back = decompress(tmp_path / "v5.vtz")
    assert back["label"].equals(df["label"]) and back["kind"].equals(df["kind"])

    def fp16_only(state, masks=None):  # what format 1 wrote: [name, shape] and fp16 for every tensor
        return (b"".join(t.numpy().astype("<f2").tobytes() for t in state.values()),
                [[k, list(t.shape)] for k, t in state.items()])

    old = tmp_path / "v1.vtz"
    with monkeypatch.context() as m:
        m.setattr(codec, "pack_weights", fp16_only)
        m.setattr(container, "FORMAT_VERSION", 1)
        comp.compress(df, old, error_bound=0.01)
    assert info(old)["format_version"] == 1
    back = decompress(old)
    span = df["x"].max() - df["x"].min()
    assert (back["x"] - df["x"]).abs().max() <= 0.01 * span * (1 + 1e-9)
    assert back["label"].equals(df["label"]) and back["kind"].equals(df["kind"])


def test_integer_column_declared_continuous_decodes_to_floats_within_its_bound(tmp_path):
    # the way to trade integer output for a smaller file: the bound (0.72 here) is below one
    # unit, so an integer column is stored exactly; declared continuous it gets a 1.44-wide step
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"age": rng.integers(17, 90, 1500), "x": rng.normal(size=1500)})
    comp = VAECompressor(error_bound=0.01, column_types={"age": "continuous"}, **FAST).fit(df)
    comp.compress(df, tmp_path / "t.vtz")
    back = decompress(tmp_path / "t.vtz")
    assert back["age"].dtype == np.float64
    err = (back["age"] - df["age"]).abs()
    assert err.max() <= 0.01 * (df["age"].max() - df["age"].min()) * (1 + 1e-9)
    assert err.max() > 0.5  # it used the bound rather than storing whole numbers


def test_existing_destination_is_refused(tmp_path, fitted):
    df, comp = fitted
    path = tmp_path / "t.vtz"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite"):
        comp.compress(df, path)
    assert path.read_bytes() == b"precious"
    comp.compress(df, path, overwrite=True)
    assert decompress(path).shape == df.shape


@pytest.mark.parametrize("bound,match", [
    (-0.1, "positive"), (0.0, "positive"), ({"nope": 0.1}, "not in the data"),
    ({"label": 0.1}, "categorical values are always stored exactly"), ("big", "positive"),
])
def test_bad_error_bounds(tmp_path, fitted, bound, match):
    df, comp = fitted
    with pytest.raises(ValueError, match=match):
        comp.compress(df, tmp_path / "t.vtz", error_bound=bound)
    assert not (tmp_path / "t.vtz").exists()


def test_unseen_category_at_compress_is_refused(tmp_path, fitted):
    df, comp = fitted
    new = df.copy()
    new["label"] = new["label"].astype(object)
    new.iloc[0, new.columns.get_loc("label")] = "maybe"
    with pytest.raises(ValueError, match="'label' has categories not seen at fit"):
        comp.compress(new, tmp_path / "t.vtz")


def test_one_call_helper_and_determinism(tmp_path):
    df = table(200)
    a, b = tmp_path / "a.vtz", tmp_path / "b.vtz"
    compress(df, a, error_bound=0.01, **FAST)
    compress(df, b, error_bound=0.01, **FAST)
    assert a.read_bytes() == b.read_bytes()
    facts = info(a)
    assert facts["rows"] == 200 and facts["columns"] == 7 and facts["bits_per_value"] > 0


def test_fitted_for_its_bound_beats_per_column_quantization_on_related_columns(tmp_path):
    # five columns driven by one hidden factor: coding them column by column pays for the
    # factor five times, the latent code once
    rng = np.random.default_rng(5)
    t = rng.normal(size=3000)
    df = pd.DataFrame({f"c{i}": (i + 1) * t + 0.01 * rng.normal(size=t.size) for i in range(5)})
    bound = 0.01
    comp = VAECompressor(error_bound=bound, latent_dim=1, max_epochs=60, random_state=0).fit(df)
    path = tmp_path / "t.vtz"
    size = comp.compress(df, path)["total"]
    back = decompress(path)
    per_column = 0
    for c in df.columns:
        v = df[c].to_numpy()
        err = bound * (v.max() - v.min())
        assert np.abs(back[c] - v).max() <= err
        q = np.rint(v / (2 * err)).astype(np.int64)
        per_column += len(Histogram.fit(q).encode(q))  # payload only, no table: a lower bound
    assert size < 0.6 * per_column


@pytest.mark.parametrize("bound,match", [({"nope": 0.1}, "not in the data"), (-1.0, "error_bound"),
                                         ({"label": 0.1}, "categorical values are always stored exactly")])
def test_bad_error_bound_at_fit_is_named_before_training(bound, match):
    with pytest.raises(ValueError, match=match):
        VAECompressor(error_bound=bound, max_epochs=1).fit(table(50))


@pytest.mark.parametrize("autoregressive", [False, True])
def test_a_model_larger_than_a_vtz_file_holds_is_refused_at_fit(autoregressive):
    # ~1.1e8 weights (~1.2e8 with the autoregressive branch): under the imputer's 2**28 cap, over
    # the 2**26 the .vtz reader takes, so it used to train and write a file nothing could read
    with pytest.raises(ValueError, match=r"hidden sizes \[10000, 10000\] make a model .*the most a \.vtz "
                                         r"file holds; choose smaller ones"):
        VAECompressor(hidden_sizes=(10_000, 10_000), autoregressive=autoregressive, max_epochs=1).fit(table(50))


def _arrow(type_name, *args):
    pa = pytest.importorskip("pyarrow")
    return pd.ArrowDtype(getattr(pa, type_name)(*args))


@pytest.mark.parametrize("dtype,bound", [
    ("float16", 0.3), ("float16", 0.7), ("float32", 4e-5), ("float32", 1e-3), ("Float32", 4e-5),
    (("float16",), 0.3), (("float32",), 4e-5), (("decimal128", 10, 2), 0.004), (("decimal128", 10, 2), 0.007),
    (("decimal128", 10, 2), 0.012), (("decimal256", 20, 1), 0.26)])
def test_bounds_hold_in_the_column_dtype_a_file_gives_back(tmp_path, dtype, bound):
    # the decoder's float64 values are cast back to float16, float32 or a decimal, which rounds
    # them to the dtype's grid: a float16 column at 0.3 decoded 0.5 away, a decimal(10, 2) at
    # 0.007 0.01 away. Values near 1000, where float16 steps by 0.5 and float32 by 6.1e-5
    dtype = _arrow(*dtype) if isinstance(dtype, tuple) else dtype
    rng = np.random.default_rng(0)
    t = rng.uniform(1000, 1010, size=600)
    df = pd.DataFrame({"v": pd.Series(np.round(t, 3)).astype(dtype), "w": t + rng.normal(size=600)})
    df.loc[::13, "v"] = None
    comp = VAECompressor(**FAST).fit(df)
    comp.compress(df, tmp_path / "t.vtz", error_bound={"v": bound}, error_mode="absolute")
    back = decompress(tmp_path / "t.vtz")
    assert back["v"].dtype == df["v"].dtype
    seen = df["v"].notna().to_numpy()
    assert back["v"].isna().to_numpy().tolist() == (~seen).tolist()
    err = np.abs(back["v"].to_numpy(dtype=np.float64, na_value=np.nan) - df["v"].to_numpy(dtype=np.float64, na_value=np.nan))
    assert err[seen].max() <= bound


def test_columns_with_no_value_decode_all_missing_in_their_dtypes(tmp_path):
    # an empty Arrow date or dictionary column was ArrowNotImplementedError: they take no NaN
    pa = pytest.importorskip("pyarrow")
    df = table(60)
    n = len(df)
    df["never_float"] = np.nan
    df["never_int"] = pd.array([None] * n, dtype="Int64")
    df["never_date"] = pd.Series([None] * n, dtype="datetime64[s]")
    df["never_text"] = pd.Series([None] * n, dtype="string")
    df["never_arrow_date"] = pd.Series([None] * n, dtype=pd.ArrowDtype(pa.date32()))
    df["never_arrow_dict"] = pd.Series([None] * n, dtype=pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string())))
    with pytest.warns(UserWarning, match="Skipping features"):
        comp = VAECompressor(**{**FAST, "max_epochs": 2}).fit(df)
    comp.compress(df, tmp_path / "t.vtz")
    never = [c for c in df.columns if c.startswith("never")]
    for back in (decompress(tmp_path / "t.vtz"), comp.inverse_transform(comp.transform(df))):
        assert list(back.columns) == list(df.columns)
        assert back[never].dtypes.equals(df[never].dtypes) and back[never].isna().all().all()


def test_a_category_column_with_no_value_keeps_its_categories_in_a_file(tmp_path):
    # the file (and the fitted compressor) kept no categories for a column its model does not
    # take: it came back as a category column with none, so category codes and comparisons broke
    df = table(60)
    df["never"] = pd.Categorical([None] * len(df), categories=["low", "high"], ordered=True)
    with pytest.warns(UserWarning, match="Skipping features"):
        comp = VAECompressor(**{**FAST, "max_epochs": 2}).fit(df)
    comp.compress(df, tmp_path / "t.vtz")
    comp.save(tmp_path / "c.vtm")
    comp = VAECompressor.load(tmp_path / "c.vtm")  # as fitted, saved and loaded
    for back in (decompress(tmp_path / "t.vtz"), comp.inverse_transform(comp.transform(df)), comp.sample(5)):
        assert back["never"].dtype == df["never"].dtype and back["never"].isna().all()
        assert list(back["never"].cat.categories) == ["low", "high"] and back["never"].cat.ordered


def test_autoregressive_file_round_trips_and_conditions_on_earlier_columns(tmp_path):
    # three independent pairs (y_i nearly equals x_i, b is a function of a) and a one-dimensional
    # code: the code can carry one pair's shared value, the autoregressive branch all of them
    rng = np.random.default_rng(3)
    n = 1500
    x = rng.normal(size=(n, 3))
    a = rng.integers(0, 6, n)
    df = pd.DataFrame({**{f"x{i}": x[:, i] for i in range(3)},
                       **{f"y{i}": x[:, i] + 0.01 * rng.normal(size=n) for i in range(3)},
                       "a": pd.Categorical(np.array(list("uvwxyz"))[a]),
                       "b": np.array(["p", "q", "r"], dtype=object)[a % 3]})
    df.loc[df.index[::7], "y0"] = np.nan
    df.loc[df.index[2::13], "b"] = None
    sizes = {}
    for ar in (False, True):
        comp = VAECompressor(error_bound=0.005, latent_dim=1, max_epochs=40, autoregressive=ar,
                             random_state=0).fit(df)
        assert comp.autoregressive_ is ar
        path = tmp_path / f"{ar}.vtz"
        sizes[ar] = comp.compress(df, path, chunk_rows=512)["total"]
        assert info(path)["autoregressive"] is ar
        back = decompress(path)
        for c in df.columns[:6]:
            span = df[c].max() - df[c].min()
            assert (back[c] - df[c]).abs().max() <= 0.005 * span
            assert back[c].isna().equals(df[c].isna())
        assert back["a"].equals(df["a"]) and back["b"].equals(df["b"])
        part = decompress(path, rows=slice(500, 1100))  # chunks decode on their own
        pd.testing.assert_frame_equal(part, back.iloc[500:1100])
        assert list(comp.sample(5, random_state=0).columns) == list(df.columns)
        assert comp.inverse_transform(comp.transform(df)).shape == df.shape
    assert sizes[True] < 0.9 * sizes[False]  # 7.9 kB against 9.3 kB when written


@pytest.mark.parametrize("rows,bound,expected", [(20_000, 0.01, True), (19_999, 0.01, False), (20_000, None, False)])
def test_autoregressive_auto_is_on_for_large_tables_fitted_with_a_bound(rows, bound, expected):
    # its weights are a fixed cost that only pays over many rows; without a bound the numeric
    # columns decode to estimates the later columns cannot lean on
    df = pd.DataFrame({"x": np.arange(rows, dtype=float), "c": np.array(["a", "b"], dtype=object)[np.arange(rows) % 2]})
    comp = VAECompressor(error_bound=bound, max_epochs=1, hidden_sizes=(8,), random_state=0).fit(df)
    assert comp.autoregressive_ is expected
    assert (comp.model_.decoder_ar is not None) is expected


def test_student_t_compressor_round_trips_within_its_bound(tmp_path):
    # its degrees of freedom are a trained parameter the codec reads: reading it once raised
    # inside torch (a tensor that requires grad)
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=300), "y": rng.standard_t(3, size=300)})
    comp = VAECompressor(likelihood="student_t", error_bound=0.01, max_epochs=5, random_state=0).fit(df)
    comp.compress(df, tmp_path / "t.vtz")
    back = decompress(tmp_path / "t.vtz")
    for c in df.columns:
        assert (back[c] - df[c]).abs().max() <= 0.01 * (df[c].max() - df[c].min())


def test_without_a_bound_rate_weight_trades_bytes_for_error_and_the_scale_states_that_error(tmp_path):
    # numeric columns from three factors: what a lossy file should keep
    rng = np.random.default_rng(0)
    factors = rng.normal(size=(1000, 3))
    df = pd.DataFrame(factors @ rng.normal(size=(3, 6)) + 0.2 * rng.normal(size=(1000, 6)),
                      columns=[f"c{j}" for j in range(6)])
    sizes, errors = [], []
    for rate_weight in (1.0, 0.01):
        comp = VAECompressor(**(FAST | dict(rate_weight=rate_weight, max_epochs=60))).fit(df)
        sizes.append(comp.compress(df, tmp_path / f"{rate_weight}.vtz")["total"])
        back = decompress(tmp_path / f"{rate_weight}.vtz")
        errors.append(float(np.sqrt((((back - df) / df.std()) ** 2).to_numpy().mean())))
    assert sizes[1] > sizes[0] and errors[1] < 0.6 * errors[0]
    # the scale the model gives each column (what sample() draws with, and what coding a
    # residual under a bound later costs) is the error its reconstruction actually has
    import torch

    with torch.no_grad():
        scale = comp.model_.decode(torch.zeros(1, 1, comp.latent_dim))["scale"][0, 0].numpy()
    for k, spec in enumerate(comp.schema_):
        assert spec.transform == "none"
        rmse = np.sqrt(np.mean((back[spec.name] - df[spec.name]) ** 2)) / spec.std
        assert 0.8 < scale[k] / rmse < 1.25, (spec.name, scale[k], rmse)


def test_learning_rate_auto_is_higher_for_a_model_fitted_with_a_bound():
    """The documented step sizes: 1e-2 with an error bound (smaller files on every benchmark
    table), 3e-3 without; a number is used as given, anything else is refused by name."""
    assert VAECompressor(error_bound=0.01)._peak_learning_rate(64) == 1e-2
    assert VAECompressor()._peak_learning_rate(64) == 3e-3
    assert VAECompressor(error_bound=0.01, learning_rate=5e-4)._peak_learning_rate(64) == 5e-4
    with pytest.raises(ValueError, match="learning_rate"):
        VAECompressor(learning_rate="fast").fit(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))


def test_saved_compressor_loads_and_writes_the_same_file(tmp_path):
    # "auto" widths and an autoregressive branch are rebuilt from the file, not from the
    # parameters, and a dict bound keeps its keys; the loaded compressor writes the same bytes
    df = table(300)
    comp = VAECompressor(**{**FAST, "hidden_sizes": "auto"}, error_bound={"x": 0.02, "y": 0.01},
                         autoregressive=True).fit(df)
    comp.save(tmp_path / "c.vtm")
    back = VAECompressor.load(tmp_path / "c.vtm")
    assert back.get_params()["error_bound"] == {"x": 0.02, "y": 0.01}
    assert back.model_.hidden == comp.model_.hidden and back.autoregressive_
    np.testing.assert_array_equal(back.transform(df), comp.transform(df))
    pd.testing.assert_frame_equal(back.sample(20, random_state=3), comp.sample(20, random_state=3))
    comp.compress(df, tmp_path / "a.vtz")
    back.compress(df, tmp_path / "b.vtz")
    assert (tmp_path / "a.vtz").read_bytes() == (tmp_path / "b.vtz").read_bytes()
    with pytest.raises(ValueError, match="holds 'VAECompressor'"):
        from vaetools import VAEImputer
        VAEImputer.load(tmp_path / "c.vtm")
    with pytest.raises(FileExistsError, match="--overwrite|overwrite"):
        comp.save(tmp_path / "c.vtm")


def test_saved_compressor_of_an_array_keeps_integer_column_keys(tmp_path):
    X = table(200)[["x", "y"]].to_numpy()
    comp = VAECompressor(**FAST, error_bound={0: 0.05}, column_types={1: "continuous"}).fit(X)
    comp.save(tmp_path / "c.vtm")
    back = VAECompressor.load(tmp_path / "c.vtm")
    assert back.get_params()["error_bound"] == {0: 0.05} and back.get_params()["column_types"] == {1: "continuous"}
    out = back.inverse_transform(back.transform(X))
    assert isinstance(out, np.ndarray) and out.shape == X.shape


def test_weight_integers_are_entropy_coded_where_smaller_with_int8s_rounding():
    import torch

    from vaetools.compress import codec

    gen = torch.Generator().manual_seed(0)
    state = {"decoder.0.weight": torch.randn(64, 300, generator=gen) * torch.rand(64, 1, generator=gen),
             "decoder.0.bias": torch.randn(64, generator=gen)}
    blob, layout = codec.pack_weights(state)
    assert layout[-1][0] == "*codes" and layout[0][2] == "q"
    assert len(blob) < 64 * 300 + 2 * 64 + 2 * 64  # int8 would take a byte an entry
    back = codec.unpack_weights(blob, layout)
    w = state["decoder.0.weight"].double()
    scale = torch.from_numpy((w.abs().amax(1) / 127).numpy().astype("<f2").astype("float64"))
    assert torch.equal(back["decoder.0.weight"], torch.round(w / scale[:, None]).clamp(-127, 127) * scale[:, None])
    tiny = {"decoder.0.weight": torch.randn(3, 4, generator=gen)}
    blob, layout = codec.pack_weights(tiny)  # a table would cost more than it saves
    assert layout == [["decoder.0.weight", [3, 4], "i8"]] and len(blob) == 2 * 3 + 12


def test_latent_codes_under_fitted_models_or_the_prior_decode_alike(tmp_path, fitted, monkeypatch):
    from vaetools.compress import codec
    from vaetools.compress.container import Reader

    df, comp = fitted
    paths = {}
    for choice in ("prior", "fitted"):
        monkeypatch.setattr(codec, "latent_model", lambda prior, y, sample, choice=choice:
                            prior if choice == "prior" else codec.FactorizedLatents.fit(y))
        paths[choice] = tmp_path / f"{choice}.vtz"
        comp.compress(df, paths[choice], error_bound=0.01, chunk_rows=150)
    monkeypatch.undo()
    with Reader(paths["fitted"]) as r:
        assert "models" in r.header["latent"]
    with Reader(paths["prior"]) as r:
        assert "models" not in r.header["latent"]
    pd.testing.assert_frame_equal(decompress(paths["fitted"]), decompress(paths["prior"]))
    pd.testing.assert_frame_equal(decompress(paths["fitted"], rows=slice(140, 160)),
                                  decompress(paths["prior"], rows=slice(140, 160)))


def test_metadata_is_kept_in_the_file_and_checked_before_fitting(tmp_path, fitted, monkeypatch):
    df, comp = fitted
    path = tmp_path / "t.vtz"
    notes = {"source": "survey 2024, wave 2", "units.x": "kg", "ünïcode": "☃"}
    comp.compress(df, path, error_bound=0.01, metadata=notes)
    assert info(path)["metadata"] == notes
    comp.compress(df, tmp_path / "none.vtz", error_bound=0.01)
    assert info(tmp_path / "none.vtz")["metadata"] == {}
    with pytest.raises(ValueError, match=r"metadata must map text to text; 'year': 2024 is str to int"):
        comp.compress(df, tmp_path / "u.vtz", metadata={"year": 2024})
    monkeypatch.setattr(VAECompressor, "fit", lambda *a, **k: pytest.fail("fitted before checking metadata"))
    with pytest.raises(ValueError, match="metadata must be a dict"):
        compress(df, tmp_path / "v.vtz", metadata=["source"])
    assert not (tmp_path / "u.vtz").exists() and not (tmp_path / "v.vtz").exists()


def test_any_flipped_bit_is_a_vtz_error_or_changes_nothing(tmp_path, fitted):
    # every section is under a CRC and every length and offset is checked against the file:
    # a flipped bit anywhere gives VTZError, never another exception or a silently other table
    df, comp = fitted
    path = tmp_path / "t.vtz"
    comp.compress(df.assign(id=[f"r{i}" for i in range(len(df))]), path, passthrough=["id"], chunk_rows=150)
    good, ref = path.read_bytes(), decompress(path)
    rng = np.random.default_rng(0)
    bad = tmp_path / "bad.vtz"
    refused = 0
    for pos in rng.choice(len(good), 300, replace=False):
        blob = bytearray(good)
        blob[pos] ^= 1 << int(rng.integers(0, 8))
        bad.write_bytes(bytes(blob))
        try:
            out = decompress(bad)
        except VTZError:
            refused += 1
            continue
        pd.testing.assert_frame_equal(out, ref)  # a bit no reader uses (the header's flags, say)
    assert refused >= 290


@pytest.mark.parametrize("options", [{"error_bound": 1e-10}, {"quantization": 1e-7}])
def test_near_lossless_settings_compress_and_keep_their_bound(tmp_path, options):
    """A relative bound of 1e-8 or less, or a quantization of 1e-7, makes alphabets wider than
    the entropy coder's 2**24 symbols: compress panicked inside constriction. Now they code."""
    from vaetools.datasets import load

    df = load("abalone").iloc[:600]
    comp = VAECompressor(max_epochs=3, random_state=0, **options).fit(df)
    comp.compress(df, tmp_path / "t.vtz")
    out = decompress(tmp_path / "t.vtz")
    assert out["sex"].equals(df["sex"])
    bound = options.get("error_bound")
    for c in df.columns.drop("sex"):
        span = df[c].max() - df[c].min()
        err = np.abs(out[c].to_numpy(dtype=float) - df[c].to_numpy(dtype=float)).max()
        assert err <= (bound * span if bound else span), c  # without a bound: a reconstruction
    assert info(tmp_path / "t.vtz")["format_version"] == 9  # a reader of 8 would panic on the split codes
    if bound:
        assert info(tmp_path / "t.vtz")["bytes"]["total"] < 8 * df.shape[0] * df.shape[1]  # under float64's
        comp.compress(df, tmp_path / "plain.vtz", error_bound=0.01)
        assert info(tmp_path / "plain.vtz")["format_version"] == 7  # no split codes: what older readers read


def test_bounds_near_float64s_resolution_hold_and_finer_ones_are_refused_with_the_fix(tmp_path):
    """At a relative bound of 1e-14 abalone stopped compress with "This is a bug in vaetools":
    float64's rounding of prediction + residual * step moved values past a bound that close to
    its resolution. Such bounds now leave that room, and ones float64 cannot keep are refused,
    at fit and at compress, with the finest bound it can and the passthrough that stores a
    column exactly."""
    from vaetools.datasets import load

    df = load("abalone").select_dtypes("float64").iloc[:1500]
    comp = VAECompressor(error_bound=1e-12, max_epochs=3, random_state=0).fit(df)
    comp.compress(df, tmp_path / "t.vtz", error_bound=1e-14)
    out = decompress(tmp_path / "t.vtz")
    assert ((out - df).abs().max() <= 1e-14 * (df.max() - df.min())).all()
    fix = r"finer than float64 can decode its values to.*Ask for .* or more.*passthrough=\['length'\]"
    with pytest.raises(ValueError, match=fix):
        comp.compress(df, tmp_path / "fine.vtz", error_bound=1e-16)
    with pytest.raises(ValueError, match=fix):
        VAECompressor(error_bound=1e-16, max_epochs=1).fit(df)
    # values far past the fitted range make a bound that was fine at fit too fine
    with pytest.raises(ValueError, match=r"'length' is 1e-13.*finer than float64"):
        comp.compress(df.assign(length=df["length"] * 1e4), tmp_path / "big.vtz",
                      error_bound={"length": 1e-13}, error_mode="absolute")
    assert not any(tmp_path.glob("[fb]*.vtz"))
    # int64 values past 2**53 (IDs) decoded 256 off under a bound of 0.4, silently
    rng = np.random.default_rng(0)
    ids = pd.DataFrame({"id": rng.integers(2**60, 2**62, 300), "x": rng.normal(size=300)})
    with pytest.raises(ValueError, match=r"'id' is 0.4, finer than float64.*Ask for 8192 or more.*passthrough"):
        VAECompressor(error_bound={"id": 0.4}, error_mode="absolute", max_epochs=1).fit(ids)


def test_columns_with_one_observed_value_sample_and_decode():
    """A boolean column observed only True was a binary column of one category: sampling drew its
    code 1, which named nothing (IndexError). Booleans have both values; a column declared binary
    with one value is a category of one."""
    n = 60
    df = pd.DataFrame({"flag": pd.array([True, None, True] * (n // 3), dtype="boolean"),
                       "x": np.arange(n, dtype=float), "one": np.where(np.arange(n) % 4, 2.0, np.nan)})
    comp = VAECompressor(max_epochs=2, random_state=0, column_types={"one": "binary"}).fit(df)
    assert [(s.kind, s.categories) for s in comp.schema_ if s.name != "x"] == \
        [("binary", [False, True]), ("categorical", [2.0])]
    for out in (comp.sample(200, random_state=0), comp.inverse_transform(comp.transform(df))):
        assert str(out["flag"].dtype) == "boolean" and out["flag"].notna().all()
        assert set(out["one"]) == {2.0}
    filled = VAEImputer(max_epochs=2, random_state=0, column_types={"one": "binary"}).fit_transform(df)
    assert filled["flag"].notna().all() and (filled["one"] == 2.0).all()
