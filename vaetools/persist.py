"""Saving fitted estimators without pickle: a zip (numpy .npz) of one JSON document and arrays.

Loading uses ``np.load(allow_pickle=False)`` and ``json``; nothing in the file can run code.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import torch

from vaetools._checks import is_int
from vaetools._files import write_atomically
from vaetools.model import MAX_MODEL_SIZE, model_size
from vaetools.tabular import ColumnSpec, TableEncoder, decimals, labels
from vaetools.tabular.times import step_name

FORMAT = "vaetools.estimator"
# 2: ColumnSpec.zero_mass (version 1 files read as without it); 3: the model's linear paths
# (weights "encoder_skip.weight", "decoder_skip.weight"; older files read as without them);
# 4: the model's hidden widths ("hidden"; older files: the hidden_sizes parameter), each class's
# own fitted state (``_saved_state``), VAECompressor, dict parameters as [key, value] pairs;
# 5: column names and categories that JSON has no value for (tuples, Periods, Intervals, ...)
# as ``tabular.labels`` writes them, ColumnSpec.ordered; 6: the imputer's draw scale (weight
# "draw_scale_log_factor", MaskedVAE.add_draw_scale; older files draw with the decoder's scale);
# 7: dates and durations (ColumnSpec.extra["time"], ``tabular.times``), which a reader of 6
# would take for numbers. A file without them is written as 6, which older vaetools read;
# 8: times of day (kind "timeofday"), which a reader of 7 refuses as damaged; a file without
# them is written as 7 or 6; 9: decimals counted in whole units of their last place
# (ColumnSpec.extra["decimal"], ``tabular.decimals``), which a reader of 8 would give back as
# units (cents for dollars); a file without them is written as 8, 7 or 6; 10: times of day whose
# day starts elsewhere than at midnight (``tabular.times``), which a reader of 9 refuses as damaged;
# 11: the imputer's inference_precision parameter, written only where it is not "auto" (a reader
# of 10 would refuse the unknown parameter as damage), so that other files keep their version
VERSION = 11
_VERSION_WITHOUT_TIMES = 6
_VERSION_WITHOUT_TIME_OF_DAY = 7
_VERSION_WITHOUT_DECIMALS = 8
_VERSION_WITHOUT_DAY_STARTS = 9
_VERSION_WITHOUT_PRECISION = 10
# a saved estimator's first bytes: it is a zip (numpy's .npz)
ZIP_MAGIC = b"PK\x03\x04"


def _pairs(d: dict) -> dict:
    """A dict parameter in JSON: its keys may be column names that are not strings (0, 1, ...
    for an array), which JSON objects would turn into "0", "1"."""
    return {"pairs": [[labels.to_json(k), v] for k, v in d.items()]}


def _unpairs(v):
    if isinstance(v, dict) and set(v) == {"pairs"}:
        return dict((labels.from_json(k), w) for k, w in v["pairs"])
    return v


def _jsonable_params(est) -> dict:
    params = est.get_params(deep=False)
    rs = params.get("random_state")
    if rs is not None and not isinstance(rs, int):
        params["random_state"] = None  # a RandomState instance: the fitted seed is kept separately
    if not isinstance(params["hidden_sizes"], str):  # "auto" stays as it is
        params["hidden_sizes"] = [int(h) for h in params["hidden_sizes"]]
    for name, value in params.items():
        if isinstance(value, dict):  # column_types, error_bound
            params[name] = _pairs(value)
    mv = params.get("missing_values")
    if mv is not None and not isinstance(mv, (int, float, str)):
        params["missing_values"] = None  # pd.NA: same meaning as NaN here
    if params.get("inference_precision") == "auto":
        del params["inference_precision"]  # the default, which files of version 10 and older mean
    return params


def _oldest_version(schema, params: dict) -> int:
    """The oldest format that holds ``schema`` and ``params`` (as ``_jsonable_params`` writes
    them), so that older vaetools load every file they can."""
    if "inference_precision" in params:
        return VERSION
    kinds = {s.time["kind"] for s in schema if s.time}
    if any(s.time and s.time["kind"] == "timeofday" and s.time["origin"] for s in schema):
        return _VERSION_WITHOUT_PRECISION
    if any(s.decimal for s in schema):
        return _VERSION_WITHOUT_DAY_STARTS
    return _VERSION_WITHOUT_DECIMALS if "timeofday" in kinds else _VERSION_WITHOUT_TIME_OF_DAY if kinds \
        else _VERSION_WITHOUT_TIMES


def save_estimator(est, path, overwrite: bool = False) -> None:
    path = Path(path)
    try:
        params = _jsonable_params(est)
        meta = {
            "format": FORMAT, "class": type(est).__name__,
            "version": _oldest_version(est.schema_, params),
            "params": params,
            "schema": [s.to_dict() for s in est.schema_],
            "fit_columns": [labels.to_json(c) for c in est.fit_columns_],
            "feature_names_in": [labels.to_json(c) for c in getattr(est, "feature_names_in_", [])] or None,
            "n_features_in": int(est.n_features_in_),
            "empty_features": [bool(e) for e in est.empty_features_],
            "random_seed": int(est.random_seed_),
            "history": est.history_,
            "hidden": [int(h) for h in est.model_.hidden],
            **est._saved_state(),
        }
        blob = json.dumps(meta).encode()
    except TypeError as exc:
        raise ValueError(f"cannot save: column names and parameters must be text or numbers ({exc}); "
                         "rename the columns or convert the values") from None
    arrays = {"__meta__": np.frombuffer(blob, dtype=np.uint8)}
    for name, tensor in est.model_.state_dict().items():
        arrays[f"w/{name}"] = tensor.detach().cpu().numpy()

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    write_atomically(path, write, overwrite)


def _read(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON document and the arrays of a file ``save_estimator`` wrote."""
    try:
        with open(path, "rb") as fh:
            if fh.read(len(ZIP_MAGIC)) != ZIP_MAGIC:  # not a zip: np.load would try it as a pickle and
                # answer with advice to load it unsafely
                raise ValueError("it is not the zip archive a saved estimator is")
        arrays = _read_arrays(path)
        meta = json.loads(arrays.pop("__meta__").tobytes().decode())
        weights = {k[2:]: a for k, a in arrays.items() if k.startswith("w/")}
    except (OSError, ValueError, KeyError, EOFError, NotImplementedError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a saved vaetools estimator ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a saved vaetools estimator (no {FORMAT!r} document)")
    version = meta.get("version")
    if is_int(version) and version > VERSION:
        raise ValueError(f"{path} was written by a newer vaetools (format version {meta['version']}); "
                         f"this one reads up to {VERSION}: upgrade vaetools")
    problem = _document_problem(meta)
    if problem:
        raise ValueError(f"{path} is damaged: {problem}")
    return meta, weights


def _document_problem(meta: dict) -> str | None:
    """What makes a saved estimator's JSON document one that ``save_estimator`` could not have
    written (a damaged or hand-edited file), or None. Checked before anything is built from it,
    so such a file gets one clear error rather than a TypeError inside the model or at transform."""
    kinds = {"class": str, "version": int, "params": dict, "schema": list, "fit_columns": list,
             "n_features_in": int, "empty_features": list, "random_seed": int, "history": list}
    for key, kind in kinds.items():
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            return f"its {key!r} is missing or not a {kind.__name__}"
    n = meta["n_features_in"]
    names = meta.get("feature_names_in")
    if len(meta["fit_columns"]) != n or len(meta["empty_features"]) != n or \
            not (names is None or (isinstance(names, list) and len(names) == n)):
        return f"its column lists do not all hold its {n} columns"
    if not all(isinstance(e, bool) for e in meta["empty_features"]):
        return "its empty_features are not true or false"
    modelled = [c for c, empty in zip(meta["fit_columns"], meta["empty_features"]) if not empty]
    if [d.get("name") if isinstance(d, dict) else None for d in meta["schema"]] != modelled or \
            (names is not None and names != meta["fit_columns"]):
        return "its lists of column names disagree"
    if not all(isinstance(h, dict) and isinstance(h.get("loss"), (int, float)) for h in meta["history"]):
        return "its training history is not one vaetools writes"
    hidden = meta.get("hidden", [1])
    if not isinstance(hidden, list) or not all(is_int(h, 1) for h in hidden):
        return f"its hidden widths {hidden!r} are not positive whole numbers"
    indicators = meta.get("indicator_features", [])
    if not isinstance(indicators, list) or not all(is_int(j, 0, n - 1) for j in indicators):
        return "its missing-value indicators do not name its columns"
    for d in meta["schema"]:
        try:
            ColumnSpec.from_dict(d)
        except ValueError as exc:
            return str(exc)
    return None


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The archive's arrays, each checked before it is allocated: np.load would allocate what
    an array's header states (8 TiB for a forged shape) and inflate compressed members, where
    ``save_estimator`` stores every array uncompressed (np.savez), so no array holds more bytes
    than the file."""
    size = path.stat().st_size
    out = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > size:
                raise ValueError(f"its array {name!r} is compressed, which vaetools never writes")
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                    np.lib.format.read_array_header_2_0
                shape, _, dtype = header(f)
                if dtype.hasobject or math.prod(shape) * dtype.itemsize > info.file_size:
                    raise ValueError(f"its array {name!r} states more data than it holds, or Python objects")
                f.seek(0)  # a stored member: back to its start, header and all
                out[name] = np.lib.format.read_array(f, allow_pickle=False)
    return out


def describe_saved(path) -> dict:
    """What a saved estimator is, from its file alone (nothing is built or run): its class,
    format version, columns and their kinds, parameters, training and the model's size. For
    ``vaetools info`` on a model saved with ``--save-model``."""
    path = Path(path)
    meta, weights = _read(path)
    try:
        return _description(path, meta, weights)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # _document_problem sees most
        raise ValueError(f"{path} is damaged: {type(exc).__name__}: {exc}") from None


def _description(path: Path, meta: dict, weights: dict) -> dict:
    history = meta["history"]
    return {
        "path": str(path), "class": meta["class"], "version": meta["version"],
        "columns": [(labels.from_json(d["name"]), d["kind"]) for d in meta["schema"]],
        # dates and durations: what the kind counts (``tabular.times``)
        "times": {labels.from_json(d["name"]): step_name(d["extra"]["time"])
                  for d in meta["schema"] if "time" in d.get("extra", {})},
        # decimals: the places whose whole units the kind counts (``tabular.decimals``)
        "decimals": {labels.from_json(d["name"]): decimals.in_words(d["extra"]["decimal"])
                     for d in meta["schema"] if "decimal" in d.get("extra", {})},
        "dropped_empty": [labels.from_json(c) for c, e in zip(meta["fit_columns"], meta["empty_features"]) if e],
        "params": {k: _unpairs(v) for k, v in meta["params"].items()},
        "epochs": len(history), "final_loss": history[-1]["loss"] if history else None,
        "weights": int(sum(w.size for w in weights.values())),
        "draw_scale": "draw_scale_log_factor" in weights,
    }


def load_estimator(cls, path):
    path = Path(path)
    meta, arrays = _read(path)
    if meta["class"] != cls.__name__:
        raise ValueError(f"{path} holds {meta['class']!r} ({meta.get('format')}), not a {cls.__name__}")
    try:
        return _build(cls, meta, arrays)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:  # what _document_problem does not see
        raise ValueError(f"{path} is damaged: {type(exc).__name__}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path} is damaged: {exc}") from None


def _build(cls, meta: dict, arrays: dict):
    weights = {k: torch.from_numpy(v) for k, v in arrays.items()}
    params = {name: _unpairs(value) for name, value in meta["params"].items()}
    if isinstance(params.get("hidden_sizes"), list):  # a tuple, as given, written as a JSON list
        params["hidden_sizes"] = tuple(params["hidden_sizes"])
    est = cls(**params)
    est._validate_params()  # sklearn's constraints: a latent_dim of -3 is refused here, by name
    est.schema_ = [ColumnSpec.from_dict(d) for d in meta["schema"]]
    est.encoder_ = TableEncoder(est.schema_)
    est.fit_columns_ = [labels.from_json(c) for c in meta["fit_columns"]]
    if meta["feature_names_in"]:
        est.feature_names_in_ = np.array([labels.from_json(c) for c in meta["feature_names_in"]], dtype=object)
    est.n_features_in_ = meta["n_features_in"]
    est.empty_features_ = np.array(meta["empty_features"], dtype=bool)
    est.random_seed_ = meta["random_seed"]
    est.history_ = meta["history"]
    est._load_state(meta)
    hidden = tuple(meta["hidden"]) if "hidden" in meta else est._hidden(0)
    # files written before the linear paths (vaetools.model.MaskedVAE) have no weights for them
    # sized before anything is allocated: the document states the widths, the arrays what is stored
    enc, stored = est.encoder_, sum(int(t.numel()) for t in weights.values())
    widths = (len(enc.num_cols), enc.n_bin_channels, enc.cat_sizes, est.latent_dim, hidden)
    weights_size = model_size(*widths, buffers=False)
    if weights_size > 4 * stored + 10_000 or model_size(*widths) > MAX_MODEL_SIZE:
        raise ValueError(f"its parameters describe a model of about {weights_size:,} weights, but it stores {stored:,}")
    est.model_ = est._build_model(hidden, linear_skip="decoder_skip.weight" in weights,
                                  draw_scale="draw_scale_log_factor" in weights)
    try:
        est.model_.load_state_dict(weights)
    except RuntimeError as exc:
        raise ValueError(f"its weights do not fit the model it describes ({exc})") from None
    est.model_.eval()
    est._place_model()
    return est
