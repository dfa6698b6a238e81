"""Tables to .vtz bytes and back, given a fitted VAECompressor.

Per row: the latent code, rounded to its step and entropy-coded under the learned Gaussian
prior. Per cell, under the decoder's own distribution given that code: for categorical and
binary cells the rank of the true value in the decoder's ordering, with the decoder's sorted
probabilities, so categories round-trip exactly; for numeric columns with an error bound, the
residual quantized with step 2*bound (an odd integer step for integer columns), with the
decoder's probability mass in each residual bin, so every decoded value lies within the bound;
and the positions of missing cells (a column's given an earlier column's, where they tend
to coincide: ``entropy.GivenBits``). A categorical column whose frequencies drift along the rows
is coded under the decoder's probabilities corrected per block of 4,096 rows (``calibrated``). A decoder with an autoregressive branch predicts the columns
one at a time in its coding order, each given the values decoded before it (``predict_columns``),
at compression as at decompression. Each stream keeps whichever codes it smaller: that
per-cell model or a static histogram (or Laplace) in the header. The decoder runs on the CPU in
float64 from the weights stored in the file (matrices as entropy-coded integers with per-row
scales, fp16 vectors),
at compression and decompression alike, so both sides compute the same predictions on any machine.
Columns the model was not fitted on (``passthrough``: IDs, free text) are stored as they
are, one section per chunk each (``verbatim``).
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import math
import struct
import zlib

import numpy as np
import pandas as pd
import torch
from scipy import special

from vaetools._checks import is_int, is_number
from vaetools.model import MaskedVAE, model_size
from vaetools.model.vae import Batch
from vaetools.tabular import ColumnSpec, TableEncoder, decimals, labels, times
from vaetools.tabular.encoding import NUMERIC_KINDS
from vaetools.tabular.schema import column_numbers, dtype_from_name, unmodelled_categories

from . import container, verbatim
from .entropy import (MAX_TABLE_SYMBOLS, CellCategorical, CellGaussian, FactorizedLatents, GaussianLatents, GivenBits,
                      choose_given_bits, fit_symbol_model, header_bytes, is_split, symbol_model_from_dict)

FORMAT = "vaetools.vtz"
_STEP_SLACK = 1.0 - 1e-9  # keeps |x - decoded| <= bound through float rounding
_CHOICE_ROWS = 20_000  # rows sampled to choose between per-cell and static entropy models
_RENAME = "rename it (df.rename(columns=...) or df.rename_axis(...))"


# ---------------------------------------------------------------------------- decoder


def decoder_state(model: MaskedVAE) -> dict[str, torch.Tensor]:
    """What decompression needs of the model: the decoder (and Student-t degrees of freedom)."""
    return {k: v.detach().cpu() for k, v in model.state_dict().items()
            if k.startswith(("decoder.", "decoder_ar.")) or k == "df_raw"}


_WEIGHT_LEVELS = 127  # a matrix entry is one of 2 x 127 + 1 multiples of its row's scale, as in int8
_CODES = "*codes"  # the layout's last entry in format 6 on: the entropy-coded matrix entries
# the most numbers (weights and buffers) a model its header describes may have: adult's has
# ~60,000; a forged header's widths would otherwise be allocated before any check could fail.
# VAECompressor refuses to fit a larger model, whose file this reader would refuse
MAX_MODEL_NUMBERS = 1 << 26


def pack_weights(state: dict[str, torch.Tensor], masks: dict[str, torch.Tensor] | None = None
                 ) -> tuple[bytes, list]:
    """Weight matrices as integers in [-127, 127] times one fp16 scale per output row (max |w| /
    127), the integers of all matrices ANS-coded under one model (``fit_symbol_model``) at the
    end of the blob; vectors as fp16. The decoder is part of every file, and on small tables
    (digits: 11 kB of 49 kB in fp16) its bytes decide whether the model pays for itself. Of a
    masked matrix (``MaskedVAE.ar_weight_masks``) only the entries its mask keeps are stored
    ("qm"). The codec only ever runs the decoder from these rounded weights, so rounding costs
    some prediction quality, never correctness. The rounding is that of formats 2-5 (int8), so
    the predictions are theirs; only the coding is new. Adult at 1%, one fit: 10,166 -> 9,380
    bytes. Coarser steps were tried and left: 63 levels took 8,284 bytes on that fit and cost
    its cells 48 more, but in the benchmark run with them other adult rows got worse against
    the run before (integers declared continuous at 0.5%: 186,316 -> 191,565 bytes; without a
    bound at rate_weight=0.01, RMSE 0.176 -> 0.220: those values are the decoder's output)."""
    masks = masks or {}
    parts = []  # (layout entry, scales or fp16 bytes, the matrix's kept integers or None)
    for name, t in state.items():
        arr = t.numpy().astype(np.float64)
        if arr.ndim == 2:
            keep = masks[name].numpy() if name in masks else np.ones(arr.shape, dtype=bool)
            arr = np.where(keep, arr, 0.0)
            scale = (np.abs(arr).max(axis=1) / _WEIGHT_LEVELS).astype("<f2")  # a value rounded up clips below
            safe = np.where(scale > 0, scale, 1.0).astype(np.float64)[:, None]
            codes = np.clip(np.rint(arr / safe), -_WEIGHT_LEVELS, _WEIGHT_LEVELS).astype(np.int64)
            parts.append(([name, list(arr.shape), "m" if name in masks else ""], scale.tobytes(), codes[keep]))
        else:
            parts.append(([name, list(arr.shape), "f2"], arr.astype("<f2").tobytes(), None))
    codes = [c for _, _, c in parts if c is not None]
    codes = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int64)
    model = fit_symbol_model(codes)  # a histogram, or a Laplace where its table costs more
    stream = model.encode(codes)
    # coded where that is smaller than a byte each, table included (tiny decoders: not always)
    coded = codes.size > 0 and len(stream) + header_bytes(model) < codes.size
    layout, blobs = [], []
    for entry, head, kept in parts:
        if kept is not None:
            entry[2] = ("q" if coded else "i8") + entry[2]
        layout.append(entry)
        blobs.append(head if kept is None or coded else head + kept.astype(np.int8).tobytes())
    if coded:
        layout.append([_CODES, [int(codes.size), len(stream)], "ans", model.to_dict()])
        blobs.append(stream)
    return b"".join(blobs), layout


def _take(blob: bytes, pos: int, n: int) -> bytes:
    if pos + n > len(blob):
        raise container.VTZError("corrupted file: the decoder weights are shorter than the header says")
    return blob[pos:pos + n]


def unpack_weights(blob: bytes, layout: list, masks: dict[str, torch.Tensor] | None = None
                   ) -> dict[str, torch.Tensor]:
    """Inverse of ``pack_weights``, given the same ``masks``. Format 1 files list [name, shape]
    and hold fp16 only; formats 2 to 5 hold each matrix's entries as int8 ("i8", "i8m")."""
    masks = masks or {}
    out, pos = {}, 0
    coded = iter(())
    if layout and layout[-1][0] == _CODES:  # the matrices' entropy-coded integers, at the end
        _, (n_codes, n_bytes), _, table = layout[-1]
        layout = layout[:-1]
        try:
            coded = iter(symbol_model_from_dict(table).decode(blob[len(blob) - int(n_bytes):], int(n_codes)))
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise container.VTZError(f"corrupted file: the decoder weights do not decode ({exc})") from None
        blob = blob[:len(blob) - int(n_bytes)]
    for entry in layout:
        name, shape = entry[0], [int(v) for v in entry[1]]
        kind = entry[2] if len(entry) > 2 else "f2"
        size = int(np.prod(shape))
        if kind in ("i8", "i8m", "q", "qm") and len(shape) == 2:
            if kind in ("i8m", "qm"):
                if name not in masks or list(masks[name].shape) != shape:
                    raise container.VTZError(f"corrupted file: no mask of shape {shape} for weights {name!r}")
                keep = masks[name].numpy()
            else:
                keep = np.ones(shape, dtype=bool)
            scale = np.frombuffer(_take(blob, pos, 2 * shape[0]), dtype="<f2").astype(np.float64)
            pos += 2 * shape[0]
            n_kept = int(keep.sum())
            arr = np.zeros(shape)
            if kind.startswith("i8"):
                arr[keep] = np.frombuffer(_take(blob, pos, n_kept), dtype=np.int8).astype(np.float64)
                pos += n_kept
            else:
                try:
                    arr[keep] = np.fromiter(coded, dtype=np.float64, count=n_kept)
                except ValueError:  # the stream ran out
                    raise container.VTZError(f"corrupted file: too few coded weights for {name!r}") from None
            arr *= scale[:, None]
        elif kind == "f2":
            arr = np.frombuffer(_take(blob, pos, 2 * size), dtype="<f2").astype(np.float64).reshape(shape)
            pos += 2 * size
        else:
            raise container.VTZError(f"corrupted file: unknown weight encoding {kind!r} for {name!r}")
        out[name] = torch.from_numpy(arr)
    return out


def float64_decoder(model_cfg: dict, blob: bytes, layout: list) -> MaskedVAE:
    """The model as decompression sees it: float64 on the CPU, from the weights the file stores
    (``blob`` and its ``layout``, from ``pack_weights``)."""
    def whole(v, least: int = 0) -> bool:
        return is_int(v, least, MAX_MODEL_NUMBERS)

    widths = [model_cfg.get(k, 0) for k in ("n_num", "n_bin", "latent_dim", "ar_hidden")]
    lists = [model_cfg.get(k) for k in ("cat_sizes", "hidden")]
    if not all(whole(v) for v in widths) or not all(isinstance(v, list) and len(v) <= MAX_MODEL_NUMBERS and
                                                      all(whole(w, 1) for w in v) for v in lists):
        raise container.VTZError("corrupted file: its header's model widths are not whole numbers vaetools writes")
    # sized before anything is allocated: the header states the widths
    size = model_size(model_cfg["n_num"], model_cfg["n_bin"], model_cfg["cat_sizes"], model_cfg["latent_dim"],
                      model_cfg["hidden"], model_cfg.get("ar_hidden", 0))
    if size > MAX_MODEL_NUMBERS:
        raise container.VTZError(f"corrupted file: its header describes a model of {size:,} numbers, more than "
                                 f"vaetools writes ({MAX_MODEL_NUMBERS:,})")
    model = MaskedVAE(model_cfg["n_num"], model_cfg["n_bin"], model_cfg["cat_sizes"],
                      latent_dim=model_cfg["latent_dim"], hidden=tuple(model_cfg["hidden"]),
                      likelihood=model_cfg["likelihood"], min_scale=model_cfg["min_scale"],
                      ar_hidden=model_cfg.get("ar_hidden", 0), ar_order=model_cfg.get("ar_order"),
                      ar_inputs=model_cfg.get("ar_inputs")).double()
    current = model.state_dict()
    # a checksum-valid file from other software (or crafted) must reach neither torch's loader
    # nor decoding with freshly initialized weights, which would give wrong values silently
    for entry in layout:
        if entry[0] == _CODES:
            if not 0 <= int(entry[1][0]) <= size:
                raise container.VTZError(f"corrupted file: it states {entry[1][0]} coded weights, more than "
                                         "its model has")
        elif entry[0] not in current:
            raise container.VTZError(f"corrupted file: it stores weights {entry[0]!r}, which the model its "
                                     "header describes does not have")
        elif [int(v) for v in entry[1]] != list(current[entry[0]].shape):
            raise container.VTZError(f"corrupted file: weights {entry[0]!r} have shape {tuple(entry[1])}, the "
                                     f"model its header describes needs {tuple(current[entry[0]].shape)}")
    stored = unpack_weights(blob, layout, model.ar_weight_masks())
    missing = sorted(set(decoder_state(model)) - set(stored))
    if missing:
        raise container.VTZError(f"corrupted file: the decoder weights {missing} are missing")
    for name, t in stored.items():
        current[name] = t.to(torch.float64)
    model.load_state_dict(current)
    return model.eval()


def _rank_order(probs: np.ndarray) -> np.ndarray:
    """Codes sorted by decreasing probability, ties by code: the same on both sides."""
    return np.argsort(-probs, axis=1, kind="stable")


def _predictions(model: MaskedVAE, p: dict) -> dict:
    """Decoder outputs ``p`` (one draw) as arrays: numeric loc and scale, binary P(1), and each
    categorical column's probabilities."""
    df = model.degrees_of_freedom()
    out = {} if df is None else {"df": df.cpu().numpy()}
    return out | {"loc": p["loc"][0].cpu().numpy(), "scale": p["scale"][0].cpu().numpy(),
                  "prob1": torch.sigmoid(p["bin_logit"][0]).cpu().numpy(),
                  "cats": [torch.softmax(p["cat_logit"][0][:, sl], -1).cpu().numpy() for sl in model.cat_slices()]}


def model_columns(enc_obj: TableEncoder) -> list[int]:
    """Position in the schema of each of the model's columns (numeric, binary, categorical)."""
    return enc_obj.num_cols + enc_obj.bin_cols + enc_obj.cat_cols


class DecodedSoFar:
    """The values of the columns decoded so far, in the layout the autoregressive branch reads
    (``MaskedVAE.encoder_input``); columns not yet decoded count as missing."""

    def __init__(self, enc_obj: TableEncoder, n_rows: int):
        self.enc = enc_obj
        self.num = np.zeros((n_rows, len(enc_obj.num_cols)))
        self.bin = np.zeros((n_rows, len(enc_obj.bin_cols)))
        self.cat = np.full((n_rows, len(enc_obj.cat_cols)), -1, dtype=np.int64)
        self.m_num, self.m_bin = np.zeros_like(self.num), np.zeros_like(self.bin)
        self.m_cat = np.zeros(self.cat.shape)
        self._x, self._revealed = None, []  # the features built so far; columns revealed since

    def reveal(self, j: int, values: np.ndarray, observed: np.ndarray) -> None:
        """Column j is decoded: ``values`` in its units (numeric) or as codes (the others)."""
        spec, enc = self.enc.specs[j], self.enc
        if spec.kind in NUMERIC_KINDS:
            k = enc.num_cols.index(j)
            self._revealed.append(("num", k))
            x = np.where(observed, values, 0.0)
            if spec.lower is not None:  # what the model saw at fit lies in the observed range
                x = np.clip(x, spec.lower, spec.upper)
            self.num[:, k] = np.where(observed, enc.standardize(j, x), 0.0)
            self.m_num[:, k] = observed
        elif spec.kind == "binary":
            c = enc.bin_cols.index(j)
            self.bin[:, c], self.m_bin[:, c] = np.where(observed, values, 0), observed
            self._revealed.append(("bin", c))
        else:
            c = enc.cat_cols.index(j)
            self.cat[:, c], self.m_cat[:, c] = np.where(observed, values, -1), observed
            self._revealed.append(("cat", c))

    def features(self, model: MaskedVAE) -> torch.Tensor:
        """``encoder_input`` of these values, in the model's dtype and on its device: built once,
        then only the revealed columns' entries are rewritten (``update_encoder_input``)."""
        param = next(model.parameters())
        t = lambda a: torch.as_tensor(a, dtype=param.dtype, device=param.device)  # noqa: E731
        b = Batch(num=t(self.num), bin=t(self.bin), cat=torch.as_tensor(self.cat, device=param.device),
                  m_num=t(self.m_num), m_bin=t(self.m_bin), m_cat=t(self.m_cat))
        if self._x is None:
            self._x = model.encoder_input(b)
        else:
            for kind, c in self._revealed:
                model.update_encoder_input(self._x, b, kind, c)
        self._revealed = []
        return self._x


def _take_column(pred: dict, p: dict, model: MaskedVAE, enc_obj: TableEncoder, j: int) -> dict:
    """``pred`` with column j's predictions replaced by those in decoder outputs ``p``,
    converted as ``_predictions`` converts them."""
    kind = enc_obj.specs[j].kind
    if kind in NUMERIC_KINDS:
        k = enc_obj.num_cols.index(j)
        pred["loc"][:, k], pred["scale"][:, k] = p["loc"][0, :, k].cpu().numpy(), p["scale"][0, :, k].cpu().numpy()
    elif kind == "binary":
        c = enc_obj.bin_cols.index(j)
        pred["prob1"][:, c] = torch.sigmoid(p["bin_logit"][0]).cpu().numpy()[:, c]
    else:
        c = enc_obj.cat_cols.index(j)
        sl = list(model.cat_slices())[c]
        pred["cats"][c] = torch.softmax(p["cat_logit"][0][:, sl], -1).cpu().numpy()
    return pred


@torch.no_grad()
def predict_columns(model: MaskedVAE, enc_obj: TableEncoder, y: np.ndarray, step, observed: np.ndarray,
                    decode_column) -> dict:
    """The decoder's predictions for every column given latents ``y * step``, made in the
    model's coding order: ``decode_column(j, pred)`` returns column j's decoded values (its
    units for numeric columns, codes for the others) from the predictions in ``pred``, and with
    an autoregressive branch those values condition the columns after it. Compression and
    decompression both run this sequence, so they see the same predictions; the compressor's
    ``inverse_transform`` and ``sample`` run it too, on the model as trained."""
    param = next(model.parameters())
    z = torch.as_tensor(y.astype(np.float64) * step, dtype=param.dtype, device=param.device).unsqueeze(0)
    columns = model_columns(enc_obj)
    if model.decoder_ar is None:
        pred = _predictions(model, model.decode(z))
        for j in columns:
            decode_column(j, pred)
        return pred
    base = model.decoder_trunk(z)  # the part that does not depend on the columns: once
    so_far, pred = DecodedSoFar(enc_obj, len(y)), None
    for c in model.ar_order:
        j = columns[c]
        p = model.decode(z, so_far.features(model), base)
        pred = _predictions(model, p) if pred is None else _take_column(pred, p, model, enc_obj, j)
        so_far.reveal(j, decode_column(j, pred), observed[:, j])
    return pred


def _cell_context(name: str, enc_obj: TableEncoder, pred: dict, bounds: dict, model) -> tuple:
    """Per-row parameters of the decoder's distribution for stream ``name``'s symbols under the
    per-cell ``model``: the same arrays at compression and decompression, since both run the
    same float64 decoder."""
    kind, j = name.split("/")
    j = int(j)
    if kind == "rank" and j in enc_obj.bin_cols:
        p = pred["prob1"][:, enc_obj.bin_cols.index(j)]
        top = np.maximum(p, 1.0 - p)
        return (np.stack([top, 1.0 - top], axis=1),)
    if kind == "rank":
        return (-np.sort(-pred["cats"][enc_obj.cat_cols.index(j)], axis=1),)
    spec = enc_obj.specs[j]
    k = enc_obj.num_cols.index(j)
    step = bounds[j]["step"]
    loc, scale = pred["loc"][:, k], pred["scale"][:, k]
    base = enc_obj.numeric_to_original(j, loc)
    if isinstance(model, CellCategorical):
        # the decoder's probability mass in each residual bin, the quantity it was trained on
        edges = base[:, None] + (np.arange(model.low, model.high + 2)[None, :] - 0.5) * step
        if spec.transform == "log1p":
            edges = np.log1p(np.maximum(edges, -1.0 + 1e-12))
        u = ((edges - spec.mean) / spec.std - loc[:, None]) / scale[:, None]
        cdf = special.stdtr(pred["df"][k], u) if "df" in pred else special.ndtr(u)
        cdf[:, 0], cdf[:, -1] = 0.0, 1.0  # the end bins take the tails
        return (np.diff(cdf, axis=1),)
    # wide residual alphabets: the decoder's Gaussian around its prediction, in step units
    centre = enc_obj.numeric_to_original(j, loc, round_integers=False)
    slope = np.exp(loc * spec.std + spec.mean) if spec.transform == "log1p" else 1.0  # d expm1(t) / dt
    return ((centre - base) / step, scale * spec.std * slope / step)


_PER_CELL = (CellCategorical, CellGaussian)


def _model_args(name: str, model, enc_obj: TableEncoder, pred: dict, bounds: dict, keep: np.ndarray) -> tuple:
    """The per-row parameters ``model`` codes stream ``name``'s kept symbols under: the
    decoder's distributions for a per-cell model, nothing for a static one."""
    if not isinstance(model, _PER_CELL):
        return ()
    return tuple(c[keep] for c in _cell_context(name, enc_obj, pred, bounds, model))


def _cell_model(name: str, symbols: np.ndarray):
    """The per-cell model for a stream: probabilities per rank or per residual bin, or for
    residual alphabets too wide for a table per cell, a Gaussian per cell."""
    if name.startswith("rank/"):
        return CellCategorical()
    model = CellCategorical.fit(symbols)
    return model if model.high - model.low < MAX_TABLE_SYMBOLS else CellGaussian.fit(symbols)


def dtype_grid(dtype: str | None, values: np.ndarray) -> tuple[float, bool] | None:
    """The spacing of the values a column's dtype holds, where it is coarser than float64's
    (float16 and float32 at the column's largest magnitude; a decimal's last digit), and
    whether it is the same everywhere (decimals); None for float64 and integer dtypes."""
    if dtype is None:
        return None
    kind = dtype_from_name(dtype)
    arrow = getattr(kind, "pyarrow_dtype", None)
    if arrow is not None and hasattr(arrow, "scale") and hasattr(arrow, "precision"):  # decimal32..256
        return 10.0 ** -arrow.scale, True
    held = getattr(kind, "numpy_dtype", kind)  # NumPy's, pandas' Float32 and Arrow's floats alike
    if not isinstance(held, np.dtype) or held not in (np.float16, np.float32):
        return None
    observed = np.abs(values[np.isfinite(values)])
    largest = float(observed.max()) if observed.size else 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        # twice the spacing there: a decoded value may round up past a power of two
        spacing = 2.0 * float(np.spacing(held.type(largest)))
    return (spacing if np.isfinite(spacing) else math.inf), False


def _grid(spec: ColumnSpec, dtype: str | None, values: np.ndarray) -> tuple[float, bool] | None:
    """``dtype_grid`` of a bounded column, in the units it is coded in: none for dates and
    durations (whole steps), whole units for a decimal column declared continuous (its
    fractions of a unit are rounded away), none for one of kind integer (decoded whole)."""
    if spec.time:
        return None
    if spec.decimal:
        return (1.0, True) if spec.kind == "continuous" else None
    return dtype_grid(dtype, values)


def coded_bound(bound: float, grid: tuple[float, bool] | None) -> float:
    """The bound to code a column's values to, so that cast back to its dtype (``grid``, from
    ``dtype_grid``), they still lie within ``bound``. The cast rounds to the nearest value the
    dtype holds, and the original is one of those, so it moves a decoded value at most as far
    as it was from the original: half the bound always suffices, and a bound under half a
    uniform grid's step gives the original back exactly. Without this a float16 column at an
    absolute bound of 0.3 decoded 0.5 away, a decimal(10, 2) column at 0.007 0.01 away."""
    if grid is None:
        return bound
    step, uniform = grid
    if uniform and bound < step / 2:
        return bound
    return max(bound / 2, bound - step / 2, 0.49 * step if uniform else 0.0)


def arithmetic_margin(spec: ColumnSpec, values: np.ndarray | None = None) -> float:
    """How far float64's rounding may move a numeric column's decoded value from the one its
    residual was chosen for. The decoder's prediction lies in the fitted range (it is clipped to
    it), so the difference coded and the sum decoded are at most twice the largest magnitude of
    that range and ``values``; the subtraction, the product and the sum round, each by at most
    half of float64's step there. A bound must leave that room: without it a relative bound of
    1e-14 on abalone stopped compress with "This is a bug in vaetools". Columns coded in whole
    numbers (integers, decimals' units, dates' steps) have exact arithmetic below 2**52; past it
    (int64 IDs, nanosecond timestamps over months) the same room."""
    ends = [abs(float(v)) for v in (spec.lower, spec.upper) if v is not None and np.isfinite(v)]
    if values is not None:
        seen = np.abs(values[np.isfinite(values)])
        ends.append(float(seen.max()) if seen.size else 0.0)
    largest = max(ends, default=0.0)
    if spec.kind != "continuous" and 2.0 * largest < 2.0**52:
        return 0.0
    return 4.0 * float(np.spacing(2.0 * largest))


def _in_own_units(spec: ColumnSpec, value: float) -> str:
    """A bound in the column's own terms: a duration for dates, the column's numbers for decimals."""
    if spec.time and spec.time["kind"] != "period":
        return times.duration_text(value * _step_length(spec.time).value)
    if spec.decimal:
        return f"{value * decimals.unit(spec.decimal):g}"
    return f"{value:g}"


def too_fine(spec: ColumnSpec, bound: float, margin: float) -> ValueError:
    """The error for a bound float64 cannot keep on ``spec``'s values (``arithmetic_margin``)."""
    span = (spec.upper - spec.lower) if spec.lower is not None else 0.0
    relative = f" ({2 * margin / span:.1e} of its range)" if span > 0 else ""
    return ValueError(
        f"error_bound for column {spec.name!r} is {_in_own_units(spec, bound)}, finer than float64 can decode "
        f"its values to: at their magnitude its arithmetic may be off by {_in_own_units(spec, margin)}. Ask for "
        f"{_in_own_units(spec, 2 * margin)} or more{relative}, or store the column exactly as it is: "
        f"compress(..., passthrough=[{spec.name!r}]) (command line: --passthrough {spec.name})")


def _room(spec: ColumnSpec, bound: float, dtype: str | None, values: np.ndarray) -> float:
    """The bound to quantize a column's residuals to: within ``bound`` after float64's rounding
    (``arithmetic_margin``) and the cast back to the column's dtype (``coded_bound``)."""
    coded = coded_bound(bound, _grid(spec, dtype, values))
    margin = arithmetic_margin(spec, values)
    if margin > coded / 2:
        raise too_fine(spec, bound, margin)
    # numeric_step's slack leaves coded * (1 - _STEP_SLACK): room enough at usual bounds, whose
    # files stay as they were to the byte
    return coded if margin <= coded * (1.0 - _STEP_SLACK) else coded - margin


def _check_bound(spec: ColumnSpec, bound: float, decoded: np.ndarray, truth: np.ndarray, observed: np.ndarray,
                 dtype: str | None, original: pd.Series) -> None:
    """Refuse to write a file whose column would decode, in its dtype, beyond its bound: the
    guarantee is checked on what the reader will return, not assumed from the arithmetic."""
    back = restore_dtype(decoded, dtype, spec)
    if spec.time and spec.time["tz"] is not None:
        _check_instants(spec, bound, back, original, observed)
    if spec.time:  # in the steps they were coded in, as they decode in the column's own resolution
        back = times.to_units(back, spec.time)
    elif spec.decimal:
        back = decimals.to_units(back, spec.decimal, spec.name)
    else:
        back = back.to_numpy(dtype=np.float64, na_value=np.nan)
    worst = float(np.max(np.abs(back[observed] - truth[observed]), initial=0.0))
    if not worst <= bound:
        raise RuntimeError(f"column {spec.name!r} would decode {worst:g} from its values, beyond its error "
                           f"bound {bound:g}; no file was written. This is a bug in vaetools: please report it "
                           "with the column's dtype")


def _check_instants(spec: ColumnSpec, bound: float, back: pd.Series, original: pd.Series,
                    observed: np.ndarray) -> None:
    """A time-zone aware column is coded on its wall clock, which names two instants in the
    hour a clock change repeats (02:30 on the last Sunday of October in Paris): the decoded
    one is the later, so a value of the earlier would come back an hour off. Refused, with the
    fix, rather than written so."""
    off = np.abs(times.instants_ns(back) - times.instants_ns(original))[observed]
    past = off > bound * _step_length(spec.time).value
    if past.any():
        first = original[observed].iloc[int(np.argmax(off))]
        raise ValueError(
            f"column {spec.name!r} holds {first}, in the hour its time zone's clock repeats, which a .vtz "
            f"(coded on the wall clock) would give back an hour off ({int(past.sum())} such values); no file "
            f"was written. Convert the column to UTC first "
            f"(df[{spec.name!r}] = df[{spec.name!r}].dt.tz_convert('UTC'); convert it back after decompress), "
            f"or store it exactly with passthrough=[{spec.name!r}]")


def numeric_step(spec: ColumnSpec, bound: float) -> float:
    """Residual quantization step of a numeric column under an absolute error bound."""
    # integer columns: the prediction is rounded, so an odd integer step keeps every decoded
    # value an integer within floor(bound) (a fractional one would be truncated by the dtype)
    if spec.kind == "integer":
        return 1.0 if bound < 0.5 else float(2 * math.floor(bound) + 1)
    return 2.0 * bound * _STEP_SLACK


# ---------------------------------------------------------------------------- drift along the rows

_BLOCK_ROWS = 4096  # rows per block of the categorical calibration


def calibrated(probs: np.ndarray, eighths, first_row: int, block_rows: int) -> np.ndarray:
    """A categorical column's probabilities for rows ``first_row, first_row + 1, ...``, each
    multiplied by its block's ratios (``eighths``: 8 log2 of the ratio, per block and category)
    and renormalized: the same arithmetic row by row at compression and decompression."""
    probs = np.ascontiguousarray(probs, dtype=np.float64)
    table = np.asarray(eighths, dtype=np.float64)
    blocks = np.minimum((first_row + np.arange(len(probs))) // block_rows, len(table) - 1)
    q = probs * np.exp2(table[blocks] / 8.0)
    return q / q.sum(axis=1, keepdims=True)


def fit_calibration(probs: np.ndarray, codes: np.ndarray, observed: np.ndarray,
                    block_rows: int = _BLOCK_ROWS) -> list | None:
    """Per block of rows, how much more (or less) often each category occurs than the decoder
    expects, as eighths of a bit; None where coding under the corrected probabilities would not
    save more than the table costs. A table's rows can drift in ways no row shows: adult is
    its train file followed by its test file, whose incomes end in "." (">50K."), and this
    halves the cost of that column (8.5 kB -> 3.1 kB at 1%)."""
    n, k = probs.shape
    n_blocks = -(-n // block_rows)
    rows = np.flatnonzero(observed)
    if n_blocks < 2 or k < 2 or rows.size == 0:
        return None
    blocks = rows // block_rows
    counts, expected = np.zeros((n_blocks, k)), np.zeros((n_blocks, k))
    np.add.at(counts, (blocks, codes[rows]), 1.0)
    np.add.at(expected, blocks, probs[rows])
    prior = 5.0 * expected / np.maximum(expected.sum(axis=1, keepdims=True), 1e-12)  # 5 rows' worth
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, (counts + prior) / (expected + prior), 1.0)
    eighths = np.clip(np.rint(8.0 * np.log2(np.clip(ratio, 2.0**-16, 2.0**16))), -127, 127).astype(np.int64)
    q = calibrated(probs[rows], eighths[blocks], 0, 1)  # rows' own blocks
    p_true = np.maximum(probs[rows, codes[rows]], 1e-12)
    saved_bytes = float(np.sum(np.log2(np.maximum(q[np.arange(rows.size), codes[rows]], 1e-12) / p_true))) / 8
    return eighths.tolist() if saved_bytes > n_blocks * k + 64 else None  # ~a byte an entry in the header


# ---------------------------------------------------------------------------- compression


def resolve_bounds(specs: list[ColumnSpec], error_bound, error_mode: str) -> dict[int, float]:
    """Absolute bound per numeric column position (in ``specs``) from the user's request."""
    if error_mode not in ("relative", "absolute"):
        raise ValueError(f"error_mode must be 'relative' or 'absolute', got {error_mode!r}")
    if error_bound is None:
        return {}
    names = {s.name: j for j, s in enumerate(specs)}
    if isinstance(error_bound, dict):
        requested = dict(error_bound)
        unknown = [c for c in requested if c not in names]
        if unknown:
            raise ValueError(f"error_bound names columns that are not in the data: {unknown}")
    else:
        requested = {s.name: error_bound for s in specs if s.kind in NUMERIC_KINDS}
    out = {}
    for name, value in requested.items():
        spec = specs[names[name]]
        if spec.kind not in NUMERIC_KINDS:
            raise ValueError(f"error_bound[{name!r}]: column {name!r} is {spec.kind}; categorical "
                             "values are always stored exactly, bounds apply to numeric columns")
        if spec.time and error_mode == "absolute":
            value = _bound_in_steps(name, spec, value)
        if spec.decimal and error_mode == "absolute" and (is_number(value) or isinstance(value, decimal.Decimal)):
            # given in the column's own numbers (0.005 dollars): in units
            value = float(value) * 10.0 ** spec.decimal["places"]
        if not is_number(value) or value <= 0:
            raise ValueError(f"error_bound for column {name!r} must be a positive number, got {value!r}")
        if error_mode == "relative":
            span = (spec.upper - spec.lower) if spec.lower is not None else 0.0
            absolute = value * span
            if absolute <= 0:  # constant column: any positive bound will do, keep it exact-ish
                absolute = value
        else:
            absolute = float(value)
        margin = arithmetic_margin(spec)  # refused here, before a fit for it, as far as the range tells
        if margin > absolute / 2:
            raise too_fine(spec, absolute, margin)
        out[names[name]] = float(absolute)
    return out


def _bound_in_steps(name, spec: ColumnSpec, value):
    """An absolute bound on a date or duration column, given as a duration (pd.Timedelta("1h"),
    datetime.timedelta, np.timedelta64), in the steps the column is modelled in; a period
    column's bound counts periods, a plain number."""
    time = spec.time
    if time["kind"] == "period":
        return value
    if isinstance(value, (datetime.timedelta, np.timedelta64)):  # pd.Timedelta among them
        return pd.Timedelta(value) / _step_length(time)
    raise ValueError(f"error_bound for column {name!r}, which holds {spec.dtype}, must be a duration in "
                     f"absolute mode, e.g. {{{name!r}: pd.Timedelta('1h')}} (command line: --error-bound "
                     f"{name}=1h); a number has no unit there")


def compress_frame(comp, frame: pd.DataFrame, dtypes: list[str | None], bounds_request, error_mode: str,
                   chunk_rows: int, passthrough: pd.DataFrame | None = None, positions: list[int] | None = None,
                   index: pd.Index | None = None):
    """Header, weight blob and chunks for ``frame`` under the fitted compressor ``comp``;
    ``dtypes`` are the caller's column dtypes to restore (None: leave as decoded).
    ``passthrough``: more columns of the same rows, stored as they are (``verbatim``), which
    decode at ``positions`` among the columns. ``index``: the rows' labels, stored likewise
    (None: the rows are numbered from 0)."""
    enc_obj: TableEncoder = comp.encoder_
    specs = comp.schema_
    modelled = frame.loc[:, ~comp.empty_features_]
    table = enc_obj.encode(modelled, unseen="raise")  # a category the file cannot name
    n = len(frame)
    n_columns = (frame.shape[1] + (0 if passthrough is None else passthrough.shape[1])
                 + (0 if index is None else index.nlevels))
    chunk_rows = chunk_rows_for(n_columns, chunk_rows)
    bounds = resolve_bounds(specs, bounds_request, error_mode)

    mu = comp._posterior_means(table)  # (n, d) float64
    step = comp.latent_step_
    y = np.rint(mu / step).astype(np.int64)
    state = decoder_state(comp.model_)
    weights, layout = pack_weights(state, comp.model_.ar_weight_masks())
    model_cfg = comp._model_config()
    decoder = float64_decoder(model_cfg, weights, layout)

    mask = table.mask
    streams: dict[str, np.ndarray] = {}  # name -> per-row symbol arrays (n,) for chunking
    observed_rows: dict[str, np.ndarray] = {}  # name -> rows whose symbol is stored
    for j in range(len(specs)):
        if not mask[:, j].all():
            streams[f"mask/{j}"] = (~mask[:, j]).astype(np.int64)
            observed_rows[f"mask/{j}"] = np.ones(n, dtype=bool)
    truths = {j: column_numbers(modelled.iloc[:, j], specs[j]) for j in bounds}
    dtype_of = dict(zip(frame.columns, dtypes))
    for j in bounds:
        if specs[j].decimal:  # more places than at fit: no bound could be kept in the fitted units
            decimals.whole_units(modelled.iloc[:, j], truths[j], specs[j].decimal, specs[j].name)
    bound_steps = {j: {"step": numeric_step(specs[j], _room(specs[j], b, dtype_of[specs[j].name], truths[j]))}
                   for j, b in bounds.items()}
    pieces: dict[str, list[np.ndarray]] = {}

    def symbols(rows: slice):
        def column(j: int, pred: dict) -> np.ndarray:
            """Column j's symbols in ``rows`` (the rank of each true category, or each residual),
            kept in ``pieces``; returns its values as decompression will decode them."""
            obs, kind = mask[rows, j], specs[j].kind
            if kind in NUMERIC_KINDS:
                base = enc_obj.numeric_to_original(j, pred["loc"][:, enc_obj.num_cols.index(j)])
                if j not in bounds:
                    return base
                s = bound_steps[j]["step"]
                q = np.where(obs, np.rint((np.nan_to_num(truths[j][rows]) - base) / s), 0).astype(np.int64)
                pieces.setdefault(f"resid/{j}", []).append(q)
                pieces.setdefault(f"value/{j}", []).append(base + q * s)  # for _check_bound
                return pieces[f"value/{j}"][-1]
            if kind == "binary":
                c = enc_obj.bin_cols.index(j)
                true = table.bin[rows, c].astype(np.int64)
                pieces.setdefault(f"rank/{j}", []).append((true != (pred["prob1"][:, c] > 0.5)).astype(np.int64))
                return true
            c = enc_obj.cat_cols.index(j)
            true = np.maximum(table.cat[rows, c], 0)
            rank = np.argmax(_rank_order(pred["cats"][c]) == true[:, None], axis=1).astype(np.int64)
            pieces.setdefault(f"rank/{j}", []).append(rank)
            return table.cat[rows, c]
        return column

    # chunk by chunk, as decompression will run it, so that both sides do the same arithmetic
    preds = [predict_columns(decoder, enc_obj, y[rows], step, mask[rows], symbols(rows))
             for rows in (slice(a, min(n, a + chunk_rows)) for a in range(0, max(n, 1), chunk_rows))]
    pred = preds[0] | {key: np.concatenate([p[key] for p in preds]) for key in ("loc", "scale", "prob1")} \
        | {"cats": [np.concatenate([p["cats"][c] for p in preds]) for c in range(len(enc_obj.cat_cols))]}
    for j in bounds:
        _check_bound(specs[j], bounds[j], np.concatenate(pieces.pop(f"value/{j}")), truths[j], mask[:, j],
                     dtype_of[specs[j].name], modelled.iloc[:, j])
    for name, parts in pieces.items():
        streams[name] = np.concatenate(parts)
        observed_rows[name] = mask[:, int(name.split("/")[1])]
    calibration = {}  # categorical columns coded under probabilities corrected per block of rows
    for c, j in enumerate(enc_obj.cat_cols):
        codes = np.maximum(table.cat[:, c], 0)
        eighths = fit_calibration(pred["cats"][c], codes, mask[:, j])
        if eighths is not None:
            calibration[str(j)] = eighths
            pred["cats"][c] = calibrated(pred["cats"][c], eighths, 0, _BLOCK_ROWS)
            streams[f"rank/{j}"] = np.argmax(_rank_order(pred["cats"][c]) == codes[:, None], axis=1).astype(np.int64)

    # per stream, the decoder's own per-cell distribution where it codes smaller than a static
    # model; judged on a strided sample of rows, since a per-cell table of residual bins for
    # every row at once would take rows x bins memory
    sample = np.arange(0, n, max(1, n // _CHOICE_ROWS))
    sample_pred = _slice_pred(pred, sample)
    # a column's missing-cell marks given an earlier column's, where that is cheaper
    given = choose_given_bits({k: v for k, v in streams.items() if k.startswith("mask/")})
    models = {}
    for name, sym in streams.items():
        obs = observed_rows[name]
        global_model = fit_symbol_model(sym[obs])
        models[name] = global_model
        if name.startswith("mask/"):
            models[name] = given.get(name, global_model)
            continue
        cell_model = _cell_model(name, sym[obs])
        keep = obs[sample]
        args = _model_args(name, cell_model, enc_obj, sample_pred, bound_steps, keep)
        cell_bytes = len(cell_model.encode(sym[sample][keep], *args))
        table_bytes = header_bytes(global_model) * keep.sum() / max(obs.sum(), 1)
        if cell_bytes < len(global_model.encode(sym[sample][keep])) + table_bytes:
            models[name] = cell_model
    lo, hi = (int(y.min()), int(y.max())) if y.size else (0, 0)
    prior = GaussianLatents(comp.latent_mean_ / step, comp.latent_std_ / step, min(lo, -1), max(hi, 1))
    latents = latent_model(prior, y, sample)

    def decoded(name: str, rows: slice) -> np.ndarray:
        """What stream ``name`` decodes to in ``rows``, for ``decoded_check``."""
        kind, j = name.split("/")
        j, keep = int(j), observed_rows[name][rows]
        if kind != "rank":
            return streams[name][rows][keep]
        if j in enc_obj.bin_cols:
            return table.bin[rows, enc_obj.bin_cols.index(j)][keep]
        return table.cat[rows, enc_obj.cat_cols.index(j)][keep]

    columns = [_column_entry(frame.iloc[:, j], c, d, bool(e))
               for j, (c, d, e) in enumerate(zip(frame.columns, dtypes, comp.empty_features_))]
    kept_names = [] if passthrough is None else list(passthrough.columns)
    for name, pos in sorted(zip(kept_names, positions or []), key=lambda t: t[1]):
        desc = verbatim.describe(passthrough[name], name)
        columns.insert(pos, {"name": name, "dtype": desc["dtype"], "empty": False, "passthrough": desc})
    as_is = [c for c in columns if "passthrough" in c]  # in the order their sections are written
    levels = None if index is None else index.to_frame(index=False)
    index_entries = [] if levels is None else [
        {"name": labels.to_json_or_refuse(name, "the index level named", _RENAME),
         "passthrough": verbatim.describe(levels.iloc[:, i], f"index level {name!r}")}
        for i, name in enumerate(index.names)]

    chunks = []
    for start in range(0, n, chunk_rows):
        rows = slice(start, min(n, start + chunk_rows))
        sections = [latents.encode(y[rows])]
        chunk_pred = _slice_pred(pred, rows)
        for name, sym in streams.items():
            keep = observed_rows[name][rows]
            if isinstance(models[name], GivenBits):
                args = (streams[models[name].given][rows],)
            else:
                args = _model_args(name, models[name], enc_obj, chunk_pred, bound_steps, keep)
            sections.append(models[name].encode(sym[rows][keep], *args))
        sections += [verbatim.encode(passthrough[c["name"]].iloc[rows], c["passthrough"]) for c in as_is]
        sections += [verbatim.encode(levels.iloc[rows, i], e["passthrough"]) for i, e in enumerate(index_entries)]
        sections.append(decoded_check([y[rows]] + [decoded(name, rows) for name in streams]))
        chunks.append((start, rows.stop - start, container.pack_sections(sections)))

    header = {
        "format": FORMAT,
        "n_rows": n,
        "columns": [dict(c, name=labels.to_json_or_refuse(c["name"], "the column is named", _RENAME))
                    for c in columns],
        "schema": [s.to_dict() for s in specs],
        "model": model_cfg,
        "weights": layout,
        "latent": {"step": step.tolist(), "mean": comp.latent_mean_.tolist(), "std": comp.latent_std_.tolist(),
                   "low": prior.low, "high": prior.high} | (latents.to_dict() if latents is not prior else {}),
        "bounds": {str(j): {"absolute": b, "step": bound_steps[j]["step"]} for j, b in bounds.items()},
        "streams": list(streams),
        "histograms": {k: m.to_dict() for k, m in models.items()},
        "chunk_rows": chunk_rows,
        "check": CHECK,
    } | ({"calibration": {"block_rows": _BLOCK_ROWS, "columns": calibration}} if calibration else {}) \
      | ({"index": index_entries} if index_entries else {})
    return header, weights, chunks


def _column_entry(col: pd.Series, name, dtype: str | None, empty: bool) -> dict:
    """A column's entry in the header. A column the model does not take, all missing, keeps its
    categories where it has them (a pandas category column), as a schema entry: they are its
    dtype, which decode gives back. (Readers before this entry ignore it and give the column no
    categories.)"""
    entry = {"name": name, "dtype": dtype, "empty": empty}
    spec = unmodelled_categories(col.rename(name)) if empty else None
    return entry | ({"categories": spec.to_dict()} if spec is not None else {})


def oldest_version(header: dict) -> int:
    """The oldest .vtz format that holds what ``header`` describes, so that older readers read
    every file they can: 12 with times of day that start their day elsewhere than at midnight,
    11 with decimals, 10 with times of day, 9 with split alphabets, 8 with dates and durations,
    else 7."""
    lat = header["latent"]
    models = [*header["histograms"].values(), *lat.get("models", []), {"low": lat["low"], "high": lat["high"]}]
    described = [spec.get("extra", {}) for spec in header["schema"]]
    kinds = {extra.get("time", {}).get("kind") for extra in described} - {None}
    if any(extra.get("time", {}).get("kind") == "timeofday" and extra["time"]["origin"] for extra in described):
        need = container.FORMAT_VERSION
    elif any("decimal" in extra for extra in described):
        need = container.VERSION_WITHOUT_DAY_STARTS
    elif "timeofday" in kinds:
        need = container.VERSION_WITHOUT_DECIMALS
    elif any(is_split(m) for m in models):
        need = container.VERSION_WITHOUT_TIME_OF_DAY
    else:
        need = container.VERSION_WITHOUT_SPLIT if kinds else container.VERSION_WITHOUT_TIMES
    return min(container.FORMAT_VERSION, need)


def _header_columns(h: dict) -> list[dict]:
    """The header's column entries with their names as the table had them."""
    return [dict(c, name=labels.from_json(c["name"])) for c in h["columns"]]


def latent_model(prior: GaussianLatents, y: np.ndarray, sample: np.ndarray):
    """The codes ``y`` under the learned prior, or under models fitted to them
    (``FactorizedLatents``) where that is smaller with their tables, judged on the rows in
    ``sample`` as the streams' models are."""
    if not y.size:
        return prior
    fitted = FactorizedLatents.fit(y)
    per_row = len(y) / max(len(sample), 1)
    fitted_bytes = len(fitted.encode(y[sample])) * per_row + header_bytes(fitted)
    return fitted if fitted_bytes < len(prior.encode(y[sample])) * per_row else prior


CHECK = "crc32 of decoded symbols"


def decoded_check(parts: list[np.ndarray]) -> bytes:
    """A chunk's last section (format 4): CRC32 of what it decodes to, as int64: the latent
    codes, then per stream in header order its mask symbols, residual symbols or categorical
    and binary codes at the observed cells. The entropy coder's tables come from the float64
    decoder's predictions, rounded to a grid; arithmetic that differs on the reading machine
    (another BLAS, CPU or version) across a grid point would decode other values from intact
    bytes, and this turns that into an error instead of a wrong table. Numeric values decoded
    from their prediction (the base a residual adds to, or an unbounded column's estimate) are
    not covered: last-bit differences there are harmless."""
    crc = 0
    for part in parts:
        crc = zlib.crc32(np.ascontiguousarray(part, dtype="<i8").tobytes(), crc)
    return struct.pack("<I", crc & 0xFFFFFFFF)


def _slice_pred(pred: dict, rows) -> dict:
    return pred | {"loc": pred["loc"][rows], "scale": pred["scale"][rows], "prob1": pred["prob1"][rows],
                   "cats": [c[rows] for c in pred["cats"]]}


# ---------------------------------------------------------------------------- decompression


def _select_chunks(reader: container.Reader, n_rows: int, rows):
    if rows is None:
        wanted = np.arange(n_rows)
    elif isinstance(rows, slice):
        wanted = np.arange(n_rows)[rows]
    else:
        wanted = np.asarray(rows)
        if wanted.dtype.kind == "b":  # a mask over the rows, as NumPy and pandas index with
            if wanted.shape != (n_rows,):
                raise IndexError(f"rows: a boolean mask must have one entry per row ({n_rows}), got "
                                 f"shape {wanted.shape}")
            wanted = np.flatnonzero(wanted)
        if wanted.dtype.kind not in "iu":
            raise TypeError(f"rows must be a slice, integer row numbers or a boolean mask, got dtype {wanted.dtype}")
        wanted = wanted.reshape(-1)
        bad = wanted[(wanted < -n_rows) | (wanted >= n_rows)]
        if bad.size:
            raise IndexError(f"rows {bad[:5].tolist()} out of range: {reader.path} holds {n_rows} rows "
                             f"(0..{n_rows - 1})")
        wanted = np.where(wanted < 0, wanted + n_rows, wanted)
    needed = sorted({i for i, ch in enumerate(reader.chunks)
                     if np.any((wanted >= ch.first_row) & (wanted < ch.first_row + ch.rows))})
    return wanted, needed


def restore_dtype(values: np.ndarray, dtype: str | None, spec: ColumnSpec | None) -> pd.Series:
    """Decoded ``values`` of a column in the dtype it had (``dtype``, None for an array's),
    categories and their order from its ``spec``."""
    s = pd.Series(values)
    if dtype is None:
        return s
    name, dtype = dtype, dtype_from_name(dtype)
    if spec is not None and spec.time:  # whole steps since the origin, back to dates or durations
        return times.from_units(values, spec.time, dtype)
    if spec is not None and spec.decimal:  # whole units of the last place, back to decimals
        return decimals.from_units(values, spec.decimal, dtype)
    try:
        if name == "category" and spec is not None:
            return pd.Series(pd.Categorical(values, categories=spec.categories, ordered=spec.ordered))
        if spec is not None and spec.kind == "continuous" and pd.api.types.is_integer_dtype(dtype):
            # an integer column declared continuous (column_types) was coded to within its bound,
            # not to whole numbers: casting back would truncate past the bound
            return s.astype(np.float64)
        if name in ("int64", "int32", "int16", "int8", "uint8", "uint16", "uint32", "uint64") and s.isna().any():
            return s.astype("Int64")
        if name in ("bool",) and s.isna().any():
            return s.astype("boolean")
        return s.astype(dtype)
    except (TypeError, ValueError, NotImplementedError):  # pyarrow's casts raise all three
        if s.isna().all():  # an empty column: Arrow dates and dictionaries take no NaN, but None
            return pd.Series(np.full(len(s), None, dtype=object)).astype(dtype)
        return s


def chunk_rows_for(n_columns: int, requested: int | None) -> int:
    """Rows per chunk: ``requested``, or 65,536 within ``container.MAX_CHUNK_CELLS``."""
    most = container.MAX_CHUNK_CELLS // max(n_columns, 1)
    if requested is None:
        return max(1, min(65536, most))
    if requested > most:
        raise ValueError(f"chunk_rows={requested:,} with {n_columns:,} columns makes chunks of more cells than "
                         f"a .vtz file holds in one ({container.MAX_CHUNK_CELLS:,}); pass chunk_rows={most:,} "
                         "or fewer (command line --chunk-rows), or leave it out")
    return requested


def _check_chunk_rows(reader: container.Reader, n_rows: int, n_columns: int) -> None:
    """Refuse an index whose rows do not add up to the header's, or a chunk larger than any
    writer writes, before allocating for them: both are the file's word, cheap to forge."""
    most = container.MAX_CHUNK_CELLS // max(n_columns, 1)
    for i, ch in enumerate(reader.chunks):
        if ch.rows > most:
            raise container.VTZError(f"{reader.path} is corrupted or hostile: chunk {i} states {ch.rows:,} rows of "
                                     f"{n_columns:,} columns, more than vaetools writes in one chunk")
    if sum(ch.rows for ch in reader.chunks) != n_rows:
        raise container.VTZError(f"{reader.path} is corrupted: its chunks hold other than the {n_rows:,} rows "
                                 "its header states")


@contextlib.contextmanager
def _reading(src):
    """What a header no writer wrote (forged, or another program's, with valid checksums) raises
    where the reader indexes or computes with it, as a VTZError naming the file."""
    try:
        yield
    except container.VTZError:
        raise
    except (KeyError, TypeError, IndexError, AttributeError, ZeroDivisionError, OverflowError, ValueError) as exc:
        raise container.VTZError(f"{src} is corrupted or was not written by vaetools: its header does not "
                                 f"describe a table vaetools can decode ({type(exc).__name__}: {exc})") from None


def decompress_file(src, rows=None) -> pd.DataFrame:
    with container.Reader(src) as reader:
        h = reader.header
        if h.get("format") != FORMAT:
            raise container.VTZError(f"{src} is a .vtz container but not a vaetools table ({h.get('format')!r})")
        with _reading(src):
            n = int(h["n_rows"])
            _check_chunk_rows(reader, n, len(h["columns"]) + len(h.get("index", [])))
        wanted, needed = _select_chunks(reader, n, rows)  # the caller's errors, as they are
        with _reading(src):
            return _decode(src, reader, wanted, needed)


def _decode(src, reader: container.Reader, wanted: np.ndarray, needed: list[int]) -> pd.DataFrame:
    """The rows ``wanted`` of the file, decoding the chunks ``needed``."""
    h = reader.header
    specs = [ColumnSpec.from_dict(d) for d in h["schema"]]
    enc_obj = TableEncoder(specs)
    model = float64_decoder(h["model"], reader.weights, h["weights"])
    lat = h["latent"]
    step = np.asarray(lat["step"], dtype=np.float64)
    latents = FactorizedLatents.from_dict(lat) if "models" in lat else \
        GaussianLatents(np.asarray(lat["mean"]) / step, np.asarray(lat["std"]) / step, lat["low"], lat["high"])
    hists = {k: symbol_model_from_dict(v) for k, v in h["histograms"].items()}
    bounds = {int(j): v for j, v in h["bounds"].items()}
    calibration = h.get("calibration", {"columns": {}})  # format 5 on
    columns = _header_columns(h)
    as_is = [c for c in columns if "passthrough" in c]  # format 6 on
    index_entries = h.get("index", [])  # format 6 on: the rows' labels, where not 0, 1, ...
    n_streams, n_kept = len(h["streams"]), len(as_is) + len(index_entries)
    row_labels = []
    pieces = []
    for ci in needed:
        info = reader.chunks[ci]
        sections = reader.chunk(ci)
        checked = h.get("check") == CHECK  # format 4 on
        if len(sections) != 1 + n_streams + n_kept + checked:
            raise container.VTZError(f"{src} is corrupted: chunk {ci} has {len(sections)} sections")
        m = info.rows
        data = dict(zip(h["streams"], sections[1:1 + len(h["streams"])]))
        cols, decoded = {}, {}

        def decode_column(j: int, pred: dict) -> np.ndarray:
            """Column j's values from its stream and the decoder's predictions."""
            spec, obs = specs[j], observed[:, j]

            def stream(name):
                args = _model_args(name, hists[name], enc_obj, pred, bounds, obs)
                decoded[name] = hists[name].decode(data[name], *(args or (int(obs.sum()),)))
                return decoded[name]

            if spec.kind in NUMERIC_KINDS:
                vals = enc_obj.numeric_to_original(j, pred["loc"][:, enc_obj.num_cols.index(j)])
                if f"resid/{j}" in data:
                    vals = vals.copy()
                    vals[obs] = vals[obs] + stream(f"resid/{j}") * bounds[j]["step"]
                cols[j] = np.where(obs, vals, np.nan)
                return vals
            if str(j) in calibration["columns"]:
                c = enc_obj.cat_cols.index(j)
                pred["cats"][c] = calibrated(pred["cats"][c], calibration["columns"][str(j)], info.first_row,
                                             int(calibration["block_rows"]))
            r = stream(f"rank/{j}")
            if spec.kind == "binary":
                code = (pred["prob1"][:, enc_obj.bin_cols.index(j)] > 0.5).astype(np.int64)
                code[obs] = np.where(r == 1, 1 - code[obs], code[obs])
            else:
                order = _rank_order(pred["cats"][enc_obj.cat_cols.index(j)])
                code = order[:, 0].copy()
                code[obs] = order[obs, np.minimum(r, order.shape[1] - 1)]
            values = np.array(spec.categories, dtype=object)[code]
            values[~obs] = None
            cols[j] = values
            decoded[f"rank/{j}"] = code[obs]
            return code

        try:
            y = latents.decode(sections[0], m)
            observed = np.ones((m, len(specs)), dtype=bool)
            for name, section in data.items():
                if name.startswith("mask/"):
                    marks = hists[name]  # GivenBits: decoded given an earlier mask stream
                    decoded[name] = marks.decode(section, decoded[marks.given] if isinstance(marks, GivenBits) else m)
                    observed[:, int(name.split("/")[1])] = ~decoded[name].astype(bool)
            predict_columns(model, enc_obj, y, step, observed, decode_column)
            agrees = not checked or sections[-1] == decoded_check([y] + [decoded[k] for k in h["streams"]])
            kept = [verbatim.decode(sec, c["passthrough"], m)
                    for c, sec in zip(as_is + index_entries, sections[1 + n_streams:1 + n_streams + n_kept])]
        except (RuntimeError, ValueError, IndexError, KeyError) as exc:
            raise container.VTZError(f"{src} is corrupted: chunk {ci} does not decode ({exc})") from None
        if not agrees:
            raise container.VTZError(
                f"{src}: chunk {ci} decoded to values that fail the check stored with it, though its "
                "bytes are intact: this machine's arithmetic (CPU, BLAS or torch version) differs "
                "from the writer's where it matters. Decompress it where it was written, or with "
                "the vaetools and torch versions that wrote it")
        block = {}
        spec_iter, kept_iter = iter(range(len(specs))), iter(kept[:len(as_is)])
        for col in columns:
            if "passthrough" in col:
                block[col["name"]] = next(kept_iter)
            elif col["empty"]:
                block[col["name"]] = np.full(m, np.nan)
            else:
                block[col["name"]] = cols[next(spec_iter)]
        piece = pd.DataFrame(block)
        piece.index = pd.RangeIndex(info.first_row, info.first_row + m)
        pieces.append(piece)
        if index_entries:
            row_labels.append(pd.DataFrame(dict(enumerate(kept[len(as_is):]))).set_index(piece.index))
    frame = pd.concat(pieces) if pieces else pd.DataFrame({c["name"]: [] for c in columns})
    frame = frame.loc[wanted]
    spec_by_name = {s.name: s for s in specs}
    try:
        spec_by_name |= {c["name"]: ColumnSpec.from_dict(c["categories"]) for c in columns if "categories" in c}
        out = pd.DataFrame({c["name"]: frame[c["name"]].reset_index(drop=True) if "passthrough" in c else
                            restore_dtype(frame[c["name"]].to_numpy(), c["dtype"], spec_by_name.get(c["name"]))
                            for c in columns})
    except (TypeError, ValueError, KeyError, OverflowError) as exc:  # a header no writer wrote
        raise container.VTZError(f"{src} is corrupted: its header does not describe the columns' dtypes "
                                 f"({exc})") from None
    out.index = frame.index  # original row numbers, or the labels stored with them
    if index_entries:
        levels = pd.concat(row_labels).loc[wanted]
        names = [labels.from_json(e["name"]) for e in index_entries]
        out.index = pd.MultiIndex.from_arrays([levels[i] for i in range(len(names))], names=names) \
            if len(names) > 1 else pd.Index(levels[0].rename(names[0]))
    return out


def _bytes_by_stream(reader: container.Reader, columns: list[dict]) -> dict[str, int]:
    """Bytes of each stream summed over the chunks: the latent codes, each column's residuals,
    ranks and missing-cell mask, the decode checks and the chunks' framing (lengths, CRCs).
    ``columns``: the header's column entries (``_header_columns``)."""
    h = reader.header
    as_is = [f"as-is/{c['name']}" for c in columns if "passthrough" in c]
    index = [f"index/{i}" for i in range(len(h.get("index", [])))]
    names = ["latents", *h["streams"], *as_is, *index] + (["checks"] if h.get("check") == CHECK else [])
    out = dict.fromkeys(names, 0) | {"framing": 0}
    for i in range(len(reader.chunks)):
        sections = reader.chunk(i)
        for name, section in zip(names, sections):
            out[name] += len(section)
        out["framing"] += 8 + 4 + 4 + 4 * len(sections)  # length, CRC, section count, section lengths
    return out


def file_info(src) -> dict:
    with container.Reader(src) as reader:
        with _reading(src):
            return _file_info(src, reader)


def _file_info(src, reader: container.Reader) -> dict:
    h = reader.header
    n, ncol = h["n_rows"], len(h["columns"])
    size = reader.size
    columns = _header_columns(h)
    streams = _bytes_by_stream(reader, columns)
    modelled = [c["name"] for c in columns if not c["empty"] and "passthrough" not in c]
    by_column = {c["name"]: 0 for c in columns if not c["empty"]}
    kept_by_stream = {f"as-is/{c['name']}": c["name"] for c in columns if "passthrough" in c}
    for name, nbytes in streams.items():
        if name.startswith("as-is/"):
            by_column[kept_by_stream[name]] += nbytes
        elif name.startswith("index/"):  # the rows' labels: in stream_bytes, not a column
            continue
        elif "/" in name:
            by_column[modelled[int(name.split("/")[1])]] += nbytes
    return {"path": str(src), "format_version": reader.version, "rows": n, "columns": ncol,
            "column_names": [c["name"] for c in columns],
            "passthrough_columns": [c["name"] for c in columns if "passthrough" in c],
            "bytes": {"total": size, "header": reader.header_bytes, "decoder_weights": len(reader.weights),
                      "chunks": reader.chunk_bytes},
            "chunks": len(reader.chunks), "latent_dim": h["model"]["latent_dim"],
            "autoregressive": bool(h["model"].get("ar_hidden", 0)),
            "bits_per_value": 8 * size / max(n * ncol, 1),
            "error_bounds": {h["schema"][int(j)]["name"]: _bound_as_given(h["schema"][int(j)], b["absolute"])
                             for j, b in h["bounds"].items()},
            "stream_bytes": streams,
            "column_bytes": by_column,
            "column_kinds": {name: _kind_in_words(spec) for name, spec in zip(modelled, h["schema"])},
            "metadata": _metadata(h)}


def _kind_in_words(spec: dict) -> str:
    """A schema entry's kind, and for dates what it counts: "integer: dates and times in steps
    of a day"."""
    time, places = spec.get("extra", {}).get("time"), spec.get("extra", {}).get("decimal")
    try:
        if places:
            return f"{spec['kind']}: {decimals.in_words(places)}"
        return f"{spec['kind']}: {times.step_name(time)}" if time else str(spec["kind"])
    except (KeyError, TypeError):  # a header no writer wrote: its kind as it says
        return str(spec.get("kind"))


def _bound_as_given(spec: dict, absolute: float):
    """A column's bound as its user thinks of it: a duration for dates and durations (the
    header keeps it in the steps they are modelled in), a decimal's in its own numbers (the
    header: in whole units of its last place), else the number."""
    if spec.get("extra", {}).get("decimal"):
        return absolute / 10.0 ** spec["extra"]["decimal"]["places"]
    time = spec.get("extra", {}).get("time")
    if not time or time["kind"] == "period":
        return absolute
    return _step_length(time) * absolute


def _step_length(time: dict) -> pd.Timedelta:
    """How long one modelled step of a date or duration column is (``times.describe``)."""
    return pd.Timedelta(int(time["step"]), unit=time["unit"])


def file_metadata(src) -> dict:
    """The text key-value pairs ``compress`` was given, from the header alone."""
    with container.Reader(src) as reader:
        return _metadata(reader.header)


def _metadata(h: dict) -> dict:
    """The header's text key-value pairs (``compress``'s metadata); anything else a damaged or
    foreign header holds there is not passed on."""
    found = h.get("metadata")
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}
