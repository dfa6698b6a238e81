"""Saved estimators (.vtm) that vaetools did not write as they are: a hand-edited or forged JSON
document inside a well-formed zip (so no CRC catches it). Loading, using and describing such a
file either works or raises ValueError saying the file is damaged; never a TypeError, KeyError
or panic from deep inside pandas, torch or the entropy coder."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from vaetools import VAECompressor, VAEImputer
from vaetools.persist import describe_saved

from .json_edits import EDITS, edited, entries



@pytest.fixture(scope="module")
def table():
    df = pd.DataFrame({"x": np.arange(60.0), "c": ["a", "b", "c"] * 20,
                       "d": pd.date_range("2020-01-01", periods=60, freq="D")})
    df.loc[::7, "x"] = np.nan
    return df


def _saved(est, table, tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "m.vtm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(table).save(path)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(arrays["__meta__"].tobytes().decode()), arrays


def _edited(meta, arrays, path, edit, dest):
    doc = edited(meta, path, edit)
    out = dict(arrays, __meta__=np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8))
    with open(dest, "wb") as fh:
        np.savez(fh, **out)
    return dest


def _use(cls, path, table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = cls.load(path)
        if cls is VAEImputer:
            est.transform(table)
            est.multiple_imputations(table, m=1, random_state=0)
        else:
            est.inverse_transform(est.transform(table))
            est.compress(table, path.with_suffix(".vtz"), overwrite=True)
            est.sample(3, random_state=0)


@pytest.mark.parametrize("cls", [VAEImputer, VAECompressor])
def test_every_edited_entry_is_refused_as_damage_or_works(cls, table, tmp_path_factory, tmp_path):
    meta, arrays = _saved(cls(max_epochs=2, random_state=0), table, tmp_path_factory)
    paths = [p for p in entries(meta) if p != ("format",)]
    if cls is VAECompressor:  # the shared entries are the imputer's test; here the compressor's own
        shared = {"class", "version", "params", "schema", "fit_columns", "feature_names_in", "n_features_in",
                  "empty_features", "random_seed", "history", "hidden"}
        paths = [p for p in paths if p[0] not in shared]
    refused = 0
    for path in paths:
        for action in EDITS:
            dest = _edited(meta, arrays, path, action, tmp_path / "edited.vtm")
            for use in (lambda: _use(cls, dest, table), lambda: describe_saved(dest)):
                try:
                    use()
                except ValueError as exc:
                    assert any(w in str(exc) for w in ("damaged", "not a", "newer")), (path, action, str(exc))
                    refused += 1
                except Exception as exc:  # noqa: BLE001 - the point of the test
                    pytest.fail(f"{'/'.join(map(str, path))} {action}: {type(exc).__name__}: {exc}")
    assert refused > len(paths)  # most edits are damage, and are said to be


def test_damage_is_named(table, tmp_path_factory, tmp_path):
    meta, arrays = _saved(VAEImputer(max_epochs=2, random_state=0), table, tmp_path_factory)
    cases = [(("params", "latent_dim"), "negative", "latent_dim"),
             (("schema", 0, "kind"), "text", "column 'x': kind 'zz'"),
             (("schema", 2, "extra", "time", "step"), "negative", "time description"),
             (("empty_features",), "empty list", "column lists"),
             (("hidden", 0), "negative", "hidden widths")]
    for path, action, words in cases:
        dest = _edited(meta, arrays, path, action, tmp_path / "edited.vtm")
        with pytest.raises(ValueError, match="is damaged: .*" + words.replace("(", r"\(")):
            VAEImputer.load(dest)


def test_a_loaded_estimator_has_the_parameters_it_was_saved_with(tmp_path):
    """clone(loaded) must refit as the original would: same seed, same sentinel for missing
    cells (a "?" forgotten at load would be taken for a category), same column types."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=80), "grade": rng.choice(["1", "2", "3", "?"], 80).astype(object)})
    params = dict(random_state=7, missing_values="?", column_types={"grade": "categorical"}, max_epochs=2,
                  hidden_sizes=(8, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imp = VAEImputer(**params).fit(df)
    imp.save(tmp_path / "imp.vtm")
    loaded = VAEImputer.load(tmp_path / "imp.vtm")
    assert _same_params(loaded, imp)
    assert (loaded.transform(df)["grade"] != "?").all()
    comp = VAECompressor(random_state=3, error_bound={"x": 0.5}, error_mode="absolute", max_epochs=2).fit(df.iloc[:, :1])
    comp.save(tmp_path / "comp.vtm")
    assert _same_params(VAECompressor.load(tmp_path / "comp.vtm"), comp)


def test_inference_precision_is_saved_and_only_a_chosen_one_needs_the_newer_format(tmp_path):
    """Older vaetools read a model saved with the default "auto" (the format its table needs); one saved
    with a chosen precision says it needs this vaetools rather than failing on the parameter."""
    from vaetools import persist

    df = pd.DataFrame({"x": np.arange(40.0), "y": np.arange(40.0) % 7})
    df.loc[::5, "y"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imp = VAEImputer(max_epochs=2, hidden_sizes=(8,), random_state=0).fit(df)
    for precision in ("auto", "float32"):
        path = tmp_path / f"{precision}.vtm"
        imp.set_params(inference_precision=precision).save(path)
        saved = describe_saved(path)
        assert (saved["version"] == persist.VERSION) == (precision != "auto")  # else what the table needs
        assert ("inference_precision" in saved["params"]) == (precision != "auto")
        loaded = VAEImputer.load(path)
        assert loaded.inference_precision == precision
        pd.testing.assert_frame_equal(loaded.transform(df), imp.transform(df))


def _same_params(a, b) -> bool:
    pa, pb = a.get_params(), b.get_params()
    return pa.keys() == pb.keys() and all(pa[k] == pb[k] or (pa[k] != pa[k] and pb[k] != pb[k]) for k in pa)  # NaN
