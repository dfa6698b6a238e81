"""Saving fitted estimators without pickle: a zip (numpy .npz) of one JSON document and arrays.

Loading uses ``np.load(allow_pickle=False)`` and ``json``; nothing in the file can run code.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from vaetools._files import write_atomically
from vaetools.tabular import ColumnSpec, TableEncoder

FORMAT = "vaetools.estimator"
# 2: ColumnSpec.zero_mass (version 1 files read as without it); 3: the model's linear paths
# (weights "encoder_skip.weight", "decoder_skip.weight"; older files read as without them)
VERSION = 3


def _jsonable_params(est) -> dict:
    params = est.get_params(deep=False)
    rs = params.get("random_state")
    if rs is not None and not isinstance(rs, int):
        params["random_state"] = None  # a RandomState instance: the fitted seed is kept separately
    params["hidden_sizes"] = [int(h) for h in params["hidden_sizes"]]
    mv = params.get("missing_values")
    if mv is not None and not isinstance(mv, (int, float, str)):
        params["missing_values"] = None  # pd.NA: same meaning as NaN here
    return params


def save_estimator(est, path, overwrite: bool = False) -> None:
    path = Path(path)
    meta = {
        "format": FORMAT, "version": VERSION, "class": type(est).__name__,
        "params": _jsonable_params(est),
        "schema": [s.to_dict() for s in est.schema_],
        "fit_columns": list(est.fit_columns_),
        "feature_names_in": list(getattr(est, "feature_names_in_", [])) or None,
        "n_features_in": int(est.n_features_in_),
        "empty_features": [bool(e) for e in est.empty_features_],
        "random_seed": int(est.random_seed_),
        "history": est.history_,
        "indicator_features": [int(f) for f in est.indicator_features_],
    }
    try:
        blob = json.dumps(meta).encode()
    except TypeError as exc:
        raise ValueError(f"cannot save: column names and parameters must be JSON-serializable ({exc})") from None
    arrays = {"__meta__": np.frombuffer(blob, dtype=np.uint8)}
    for name, tensor in est.model_.state_dict().items():
        arrays[f"w/{name}"] = tensor.detach().cpu().numpy()

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    write_atomically(path, write, overwrite)


def load_estimator(cls, path):
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["__meta__"].tobytes().decode())
            weights = {k[2:]: torch.from_numpy(np.array(z[k])) for k in z.files if k.startswith("w/")}
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path} is not a saved vaetools estimator ({exc})") from None
    if meta.get("format") != FORMAT or meta.get("class") != cls.__name__:
        raise ValueError(f"{path} holds {meta.get('class')!r} ({meta.get('format')}), not a {cls.__name__}")
    if meta["version"] > VERSION:
        raise ValueError(f"{path} was written by a newer vaetools (format version {meta['version']}); "
                         f"this one reads up to {VERSION}: upgrade vaetools")
    est = cls(**meta["params"])
    est.schema_ = [ColumnSpec.from_dict(d) for d in meta["schema"]]
    est.encoder_ = TableEncoder(est.schema_)
    est.fit_columns_ = meta["fit_columns"]
    if meta["feature_names_in"]:
        est.feature_names_in_ = np.array(meta["feature_names_in"], dtype=object)
    est.n_features_in_ = meta["n_features_in"]
    est.empty_features_ = np.array(meta["empty_features"], dtype=bool)
    est.random_seed_ = meta["random_seed"]
    est.history_ = meta["history"]
    # files written before the linear paths (vaetools.model.MaskedVAE) have no weights for them
    est.model_ = est._build_model(est._hidden(0), linear_skip="decoder_skip.weight" in weights)
    est.model_.load_state_dict(weights)
    est.model_.eval()
    est.indicator_features_ = np.array(meta["indicator_features"], dtype=np.int64)
    return est
