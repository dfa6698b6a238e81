"""A .vtz file whose header vaetools could not have written, with valid checksums (forged, or
written by other software): reading it either works or raises ValueError (VTZError) saying the
file is corrupted; never a TypeError, a panic inside the entropy coder, or an allocation of the
terabytes a forged width states."""

import json
import random
import warnings

import numpy as np
import pandas as pd
import pytest

from vaetools import VAECompressor, decompress, info
from vaetools.compress import container

from ..json_edits import EDITS, edited, entries



@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    df = pd.DataFrame({"x": np.arange(300.0) % 17, "c": ["a", "b", "c"] * 100, "n": np.arange(300) % 5,
                       "d": pd.date_range("2020", periods=300, freq="h"), "id": [f"r{i}" for i in range(300)]})
    df.loc[::7, "x"] = np.nan
    df.loc[::11, "c"] = None
    path = tmp_path_factory.mktemp("forged") / "t.vtz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comp = VAECompressor(max_epochs=3, random_state=0, error_bound=0.01, autoregressive=True)
        comp.fit(df.drop(columns="id")).compress(df, path, passthrough=["id"], chunk_rows=128)
    with container.Reader(path) as r:
        chunks = [(ch.first_row, ch.rows, container.pack_sections(r.chunk(i))) for i, ch in enumerate(r.chunks)]
        return r.header, r.weights, chunks, r.version


def _check_edits(parts, edits, dest):
    header, weights, chunks, version = parts
    refused = 0
    for path, action in edits:
        container.write(dest, edited(header, path, action), weights, chunks, overwrite=True, version=version)
        for read in (lambda: decompress(dest), lambda: decompress(dest, rows=slice(130, 140)), lambda: info(dest)):
            try:
                read()
            except ValueError:
                refused += 1
            except BaseException as exc:  # noqa: BLE001 - a panic of the Rust coder is a BaseException
                pytest.fail(f"{'/'.join(map(str, path))} {action}: {type(exc).__name__}: {exc}")
    return refused


def test_forged_headers_are_refused_or_read(parts, tmp_path):
    every = [(p, a) for p in entries(parts[0]) if p != ("format",) for a in EDITS]
    edits = random.Random(0).sample(every, 150)
    assert _check_edits(parts, edits, tmp_path / "forged.vtz") > 150  # most edits are refused, and said to be


@pytest.mark.slow
def test_every_forged_header_entry_is_refused_or_read(parts, tmp_path):
    every = [(p, a) for p in entries(parts[0]) if p != ("format",) for a in EDITS]
    assert _check_edits(parts, every, tmp_path / "forged.vtz") > len(every)


def test_a_forged_model_width_is_refused_before_it_is_allocated(parts, tmp_path):
    header, weights, chunks, version = parts
    h = json.loads(json.dumps(header))
    h["model"]["hidden"] = [10**6, 10**6]
    container.write(tmp_path / "wide.vtz", h, weights, chunks, version=version)
    with pytest.raises(ValueError, match="model of .* numbers, more than vaetools writes"):
        decompress(tmp_path / "wide.vtz")



def test_fewer_coded_weights_than_the_matrices_take_are_refused():
    import torch

    from vaetools.compress.codec import pack_weights, unpack_weights

    g = torch.Generator().manual_seed(0)
    state = {"m": torch.randn(40, 30, generator=g) * (torch.rand(40, 30, generator=g) < 0.1)}  # peaked: coded
    blob, layout = pack_weights(state)
    assert layout[-1][0] == "*codes"
    layout[-1][1][0] -= 5
    with pytest.raises(ValueError, match="too few coded weights"):
        unpack_weights(blob, layout)
