"""VAECompressor: tables to compact latent codes, and to .vtz files that read back within bounds."""

from __future__ import annotations

import copy
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from vaetools._base import SHARED_PARAMETER_CONSTRAINTS, TabularVAEBase
from vaetools._files import exists_error
from vaetools._frames import as_pandas, is_polars, to_polars
from vaetools.model import MaskedVAE
from vaetools.tabular import ColumnSpec, labels
from vaetools.tabular.encoding import NUMERIC_KINDS, EncodedTable
from vaetools.tabular.schema import UnmodelledColumnError, column_numbers, is_dtype_name, unmodelled_categories
from vaetools.training import to_batch

from . import codec, container

_CHUNK = 8192
_AUTOREGRESSIVE_ROWS = 20_000


class VAECompressor(ClassNamePrefixFeaturesOutMixin, TransformerMixin, TabularVAEBase):
    """Compress a table (numeric and categorical columns, missing cells allowed) to latent codes.

    Trained for the size of the file: the loss is the cost of the observed cells given the code
    plus ``rate_weight`` times the cost of the code itself, each latent dimension rounded to
    multiples of ``quantization`` and entropy-coded under a learned Gaussian prior. During
    training, uniform noise stands in for rounding (Balle et al. 2017), so the loss is the
    expected size the file will have. With an ``error_bound`` known at fit, each numeric cell
    costs the probability mass of the bin it will be stored in, which is exactly what its
    residual costs in the file. Without one the file does not store numeric cells: they decode
    to the decoder's mean, and half their squared error (standardized units) is the distortion
    that ``rate_weight`` trades against the file's size.

    Parameters are those of VAEImputer where they share a name, plus:

    hidden_sizes : tuple of int or "auto", default="auto"
        "auto" sizes the networks to the table (16, 32 or 64 units for under 100k, under 2M or
        more cells), since the decoder's weights are part of every file (on adult, 732k cells,
        32 units gave a 5% smaller file than 64).
    rate_weight : float, default=1.0
        Weight of the file's size in the loss; higher gives smaller files and, for numeric
        columns without a bound, larger errors (wine_quality_red: 1.0 and 0.01 give RMSE 0.77
        and 0.22 in standardized units, in 2.8 and 8.1 kB).
    learning_rate : float or "auto", default="auto"
        Peak Adam step size (cosine decay over the epochs). "auto": 1e-2 for a model fitted with
        an ``error_bound``, 3e-3 without. With a bound, 1e-2 gave smaller files than 3e-3 on every
        benchmark table (adult at 1%: 189.8 -> 183.5 kB, at 0.5% 195.8 -> 190.1; abalone, wine,
        digits 0.3-1.6% smaller); without one it moved the rate-distortion points up and down the
        curve, and on wine_quality_red lifted the low-rate end above PCA's (benchmarks/RESULTS.md).
    max_epochs : int or "auto", default="auto"
        "auto": about 10,000,000 row visits within [50, 300] epochs, and never more than that
        many visits: adult (48,842 rows) gets 204 epochs, 400,000 rows 25, a million rows 10.
    quantization : float, default=1.0
        Rounding step of the latent code (the networks learn the code's scale around it).
    error_bound : float, dict or None, default=None
        The error bound the files will guarantee (see ``compress``), known at fit so that the
        model is trained for it: each numeric cell's likelihood is the probability mass of the
        bin it will be stored in, the exact cost of coding it. None trains numeric columns on
        squared error.
    error_mode : {"relative", "absolute"}, default="relative"
        How ``error_bound`` is read: a share of each column's range, or in its units.
    autoregressive : bool or "auto", default="auto"
        Also condition each column on the columns decoded before it (categorical and binary
        columns first, then numeric), through a masked MADE branch beside the decoder, so the
        code need not carry what those columns already say. "auto" turns it on for tables of
        20,000 rows or more fitted with an ``error_bound``, since its weights are a fixed cost
        and its savings grow with the rows: adult (48,842 rows) got a 4% smaller file at a 1%
        bound and 3% at 0.5%, digits (1,797 rows) a 7% larger one, and on abalone and wine it
        saved about what its weights cost. Without a bound the numeric columns decode to estimates, and on adult the
        branch made the unbounded curve worse (RMSE 0.43 -> 0.59 at ``rate_weight=0.01``).

    Integer columns decode to whole numbers, so a bound under one unit stores them exactly. To
    trade that for a smaller file, declare them ``column_types={"age": "continuous"}``: they are
    then coded to within the bound like any float and come back as float64.
    """

    _parameter_constraints: dict = {
        **SHARED_PARAMETER_CONSTRAINTS,
        "hidden_sizes": [tuple, list, StrOptions({"auto"})],
        "rate_weight": [Interval(Real, 0, None, closed="neither")],
        "quantization": [Interval(Real, 0, None, closed="neither")],
        "error_bound": [None, Interval(Real, 0, None, closed="neither"), dict],
        "error_mode": [StrOptions({"relative", "absolute"})],
        "autoregressive": ["boolean", StrOptions({"auto"})],
    }

    def __init__(self, *, missing_values=np.nan, latent_dim=8, hidden_sizes="auto", likelihood="gaussian",
                 rate_weight=1.0, quantization=1.0, error_bound=None, error_mode="relative", autoregressive="auto",
                 batch_size=None,
                 learning_rate="auto", max_epochs="auto", patience=12, validation_fraction=0.0,
                 column_types=None, max_categories=100,
                 device="auto", random_state=None, verbose=0):
        self.missing_values = missing_values
        self.latent_dim = latent_dim
        self.hidden_sizes = hidden_sizes
        self.likelihood = likelihood
        self.rate_weight = rate_weight
        self.quantization = quantization
        self.error_bound = error_bound
        self.error_mode = error_mode
        self.autoregressive = autoregressive
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.column_types = column_types
        self.max_categories = max_categories
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn schema, scalers and a rate-distortion VAE from X (missing cells allowed)."""
        try:
            return self._fit(X)
        except UnmodelledColumnError as exc:
            them, as_is = ("it", "as it is") if len(exc.columns) == 1 else ("them", "as they are")
            raise exc.with_advice(
                f"To keep {them} in a .vtz file, fit on the other columns and store {them} {as_is}: "
                f"compress(X, dest, passthrough={exc.columns!r}) (command line: --passthrough)") from None

    def _fit(self, X):
        self.input_was_polars_ = is_polars(X)
        # polars Date columns: pandas holds them as datetime64, which would decode to Datetime
        self.polars_dates_ = [c for c, t in X.schema.items() if str(t) == "Date"] if self.input_was_polars_ else []
        X = as_pandas(X)
        frame = self._to_frame(X, reset=True)
        self._fit_input_kind(X, frame)
        if self.autoregressive == "auto":
            self.autoregressive_ = len(frame) >= _AUTOREGRESSIVE_ROWS and self.error_bound is not None
        else:
            self.autoregressive_ = bool(self.autoregressive)
        table = self._fit_core(frame, k=1, beta=self.rate_weight, polars=self.input_was_polars_)
        self._calibrate_unbounded_scales(table)
        self._n_features_out = self.latent_dim
        self.latent_mean_ = self.model_.prior_loc.detach().double().cpu().numpy()
        self.latent_std_ = self.model_.prior_log_scale.detach().exp().double().cpu().numpy()
        self.latent_step_ = np.full(self.latent_dim, float(self.quantization))
        return self

    def _fit_bounds(self) -> dict[int, float]:
        """The bounds the model is fitted for, by schema column (``codec.resolve_bounds``)."""
        return codec.resolve_bounds(self.schema_, self.error_bound, self.error_mode)

    def _calibrate_unbounded_scales(self, table: EncodedTable) -> None:
        """Numeric columns fitted without a bound learn their mean on squared error and no
        scale (``MaskedVAE.rate_distortion_loss``): give each the RMS error of its reconstruction
        from the stored code, so that ``sample`` draws with the spread the model leaves and a file
        later written with a bound codes the residuals under a fitting distribution."""
        bounded = self._fit_bounds()
        ks = [k for k, j in enumerate(self.encoder_.num_cols) if j not in bounded]
        if not ks or not table.n_rows:
            return
        model = self.model_
        param = next(model.parameters())
        data = to_batch(self.encoder_, table, param.device)
        step = model.latent_step  # the codes the file stores, as codec.compress_frame rounds them
        codes = torch.as_tensor(np.rint(self._posterior_means(table) / step) * step, dtype=param.dtype, device=param.device)
        sq, n = torch.zeros(model.n_num, dtype=torch.float64), torch.zeros(model.n_num, dtype=torch.float64)
        with torch.no_grad():
            for start in range(0, table.n_rows, _CHUNK):
                b = data[slice(start, start + _CHUNK)]
                context = model.encoder_input(b) if model.decoder_ar is not None else None
                loc = model.decode(codes[start:start + _CHUNK].unsqueeze(0), context)["loc"][0]
                err = (b.num - loc) * b.m_num
                sq += (err.double() ** 2).sum(0).cpu()
                n += b.m_num.double().sum(0).cpu()
        rms = torch.where(n > 0, torch.sqrt(sq / n.clamp(min=1)), 1.0)
        if model.likelihood == "student_t":  # a t's scale is its standard deviation x sqrt((df-2)/df)
            df = model.degrees_of_freedom().detach().double().cpu()
            rms = rms * torch.sqrt((df - 2) / df)
        for k in ks:
            model.fix_numeric_scale(k, float(rms[k]))

    def _build_model(self, hidden: tuple[int, ...], **options) -> MaskedVAE:
        enc = self.encoder_
        n_num, n_cols = len(enc.num_cols), len(enc.num_cols) + enc.n_bin_channels + len(enc.cat_sizes)
        # categorical and binary columns first: cheap to condition on, and the numeric columns,
        # whose residuals cost the most, then see all of them
        order = list(range(n_num, n_cols)) + list(range(n_num))
        # a numeric column fitted without a bound decodes to an estimate, not to its value: the
        # columns after it do not read it
        bounded = self._fit_bounds()
        inputs = [k for k, j in enumerate(enc.num_cols) if j in bounded] + list(range(n_num, n_cols))
        return super()._build_model(hidden, latent_step=float(self.quantization),
                                    ar_hidden=self._ar_hidden(hidden), ar_order=order,
                                    ar_inputs=inputs, **options)

    def _ar_hidden(self, hidden: tuple[int, ...]) -> int:
        return hidden[-1] if self.autoregressive_ else 0

    # a model larger than the .vtz reader takes would write a file no vaetools can read
    _max_model_size = codec.MAX_MODEL_NUMBERS
    _max_model_size_reason = ", the most a .vtz file holds"

    def _auto_learning_rate(self, batch_rows: int) -> float:
        return 1e-2 if self.error_bound is not None else 3e-3

    # the file holds the training data itself: no held-out data to stop on, and every epoch
    # that lowers the loss makes the file smaller
    _auto_epochs = (10_000_000, 50, 300)
    # ... but past 200,000 rows the 50 epochs grew the fit with the table for nothing: on a
    # synthetic adult-like table of 400,000 rows at a 1% bound, 25 epochs against 50 gave
    # 1,686,097 bytes against 1,685,762 (0.02% larger) in 130 s of fit against 243 s
    # (benchmarks/RESULTS.md)
    _auto_visits_cap = 10_000_000

    def _num_bins(self, table: EncodedTable) -> np.ndarray | None:
        if self.error_bound is None:
            return None
        steps = {j: codec.numeric_step(self.schema_[j], b) for j, b in self._fit_bounds().items()}
        return self.encoder_.bin_edges(table, steps)

    def _hidden(self, n_cells: int) -> tuple[int, ...]:
        if self.hidden_sizes != "auto":
            return super()._hidden(n_cells)
        width = 16 if n_cells < 100_000 else 32 if n_cells < 2_000_000 else 64
        return (width, width)

    def _model_config(self) -> dict:
        m = self.model_
        return {"n_num": m.n_num, "n_bin": m.n_bin, "cat_sizes": m.cat_sizes, "latent_dim": m.latent_dim,
                "hidden": list(m.hidden), "likelihood": m.likelihood,
                "min_scale": m.min_scale.tolist()} | (
                    {"ar_hidden": m.ar_hidden, "ar_order": m.ar_order, "ar_inputs": m.ar_inputs} if m.ar_hidden else {})

    def _posterior_means(self, table: EncodedTable) -> np.ndarray:
        """The latent code of each row (before rounding): the encoder's mean, or for a row with
        nothing observed, the prior's most probable code. Computed in float64: a row's code then
        does not depend on which rows share its batch (float32 differed by 1e-7)."""
        device = next(self.model_.parameters()).device
        data = to_batch(self.encoder_, table, device)
        model = copy.deepcopy(self.model_).double()
        prior_loc = model.prior_loc.detach()
        mus = []
        with torch.no_grad():
            for start in range(0, table.n_rows, _CHUNK):
                b = data[slice(start, start + _CHUNK)].double()
                mu, _ = model.encode(b)
                mu = torch.where(~b.observed_rows()[:, None], prior_loc, mu)
                mus.append(mu.cpu().numpy())
        return np.concatenate(mus) if mus else np.zeros((0, self.latent_dim))

    # ------------------------------------------------------------------ transform
    def transform(self, X):
        """Posterior means of the latent code, shape (n_rows, latent_dim)."""
        check_is_fitted(self)
        frame = self._to_frame(X, reset=False)
        return self._posterior_means(self.encoder_.encode(frame.loc[:, ~self.empty_features_]))

    def _decode(self, Z: np.ndarray, sample: bool = False, generator=None) -> pd.DataFrame:
        """Rows from codes: each column's most probable value (mean for numeric columns), or with
        ``sample`` a draw from its likelihood; column by column in coding order when the model
        conditions columns on the ones before them."""
        enc = self.encoder_
        Z = np.asarray(Z, dtype=np.float64)
        n_rows = len(Z)
        rng = np.random.default_rng(generator)
        cols = {}

        def pick(j: int, pred: dict) -> np.ndarray:
            """Column j's values (its units) or codes, stored in ``cols`` as the table shows them."""
            spec = self.schema_[j]
            if spec.kind in NUMERIC_KINDS:
                k = enc.num_cols.index(j)
                v = pred["loc"][:, k] + (pred["scale"][:, k] * rng.standard_normal(n_rows) if sample else 0.0)
                cols[j] = code = enc.numeric_to_original(j, v)
                return code
            if spec.kind == "binary":
                prob1 = pred["prob1"][:, enc.bin_cols.index(j)]
                code = ((rng.random(n_rows) < prob1) if sample else (prob1 > 0.5)).astype(int)
            else:
                probs = pred["cats"][enc.cat_cols.index(j)]
                if sample:
                    u = rng.random((n_rows, 1))
                    code = np.minimum((probs.cumsum(1) < u).sum(1), probs.shape[1] - 1)
                else:
                    code = probs.argmax(1)
            cols[j] = np.array(spec.categories, dtype=object)[code]
            return code

        codec.predict_columns(self.model_, enc, Z, 1.0, np.ones((n_rows, len(self.schema_)), dtype=bool), pick)
        out = {}
        kept = iter(range(len(self.schema_)))
        spec_by_name = {s.name: s for s in self.schema_}
        spec_by_name |= self.empty_categories_
        for name, empty in zip(self.fit_columns_, self.empty_features_):
            values = np.full(n_rows, np.nan) if empty else cols[next(kept)]
            out[name] = codec.restore_dtype(values, self.fit_dtypes_.get(name), spec_by_name.get(name))
        return pd.DataFrame(out)

    def inverse_transform(self, X):
        """Latent codes back to a table with the original columns, dtypes and categories."""
        check_is_fitted(self)
        Z = np.asarray(X, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.latent_dim:
            raise ValueError(f"inverse_transform expects codes of shape (n_rows, {self.latent_dim}), got {Z.shape}")
        return self._as_fit_kind(self._decode(Z), arrays=True)

    def _as_fit_kind(self, frame: pd.DataFrame, arrays: bool):
        """A decoded table as the fit's input was: polars, pandas, or (``arrays``) an array."""
        if self.input_was_polars_:
            import polars as pl

            return to_polars(frame, {c: pl.Date for c in self.polars_dates_})
        return frame if self.input_was_frame_ or not arrays else frame.to_numpy()

    def sample(self, n_samples: int = 1, random_state=None):
        """New synthetic rows: latent draws from the prior through the decoder's likelihoods; a
        DataFrame (polars where the fit's input was)."""
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be an int >= 1, got {n_samples!r}")
        seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
        z = self.latent_mean_ + self.latent_std_ * np.random.default_rng(seed).standard_normal((n_samples, self.latent_dim))
        return self._as_fit_kind(self._decode(z, sample=True, generator=seed + 1), arrays=False)

    def reconstruction_error(self, X) -> dict:
        """RMSE over observed numeric cells (standardized units) and accuracy over observed
        categorical cells, when X goes through the latent code and back (no residuals)."""
        check_is_fitted(self)
        frame = self._to_frame(X, reset=False)
        recon = self._decode(self.transform(X))
        sq, n_num, hits, n_cat = 0.0, 0, 0, 0
        for j, spec in enumerate(self.schema_):
            name = frame.columns[~self.empty_features_][j]
            obs = frame[name].notna().to_numpy()
            if spec.kind in ("continuous", "integer"):
                t, r = (column_numbers(table[name], spec)[obs] for table in (frame, recon))
                sq += float(np.sum(((t - r) / (spec.std if spec.transform == "none" else np.nanstd(t) or 1.0)) ** 2))
                n_num += int(obs.sum())
            else:
                hits += int(np.sum(frame[name].astype(object).to_numpy()[obs] == recon[name].astype(object).to_numpy()[obs]))
                n_cat += int(obs.sum())
        return {"rmse": float(np.sqrt(sq / n_num)) if n_num else None, "accuracy": hits / n_cat if n_cat else None}

    def score(self, X, y=None) -> float:
        """Negative reconstruction RMSE over numeric cells (higher is better), for model selection."""
        err = self.reconstruction_error(X)
        return -err["rmse"] if err["rmse"] is not None else float(err["accuracy"] or 0.0)

    # ------------------------------------------------------------------ files
    def compress(self, X, dest, error_bound="fit", error_mode: str | None = None, chunk_rows: int | None = None,
                 overwrite: bool = False, passthrough=None, metadata: dict | None = None) -> dict:
        """Write X to the .vtz file ``dest``; returns the bytes by section.

        ``error_bound``: "fit" (the default: the bound the compressor was fitted for), None (no
        guarantee on numeric values: they are the decoder's reconstruction), a number for every
        numeric column, or ``{column: number}``; with ``error_mode="relative"`` the number is a
        share of the column's range at fit, with ``"absolute"`` it is in the column's units
        (default: the fitted ``error_mode``). Any bound is guaranteed; the one given at fit also
        gives the smallest files. Categorical values and missing cells always round-trip exactly.
        ``passthrough``: names of more columns of the DataFrame X, which the compressor was not
        fitted on (IDs, free text, dates to keep exactly), stored as they are (LZMA) and given back in
        their place. A DataFrame's index, unless it is 0, 1, 2, ..., is stored the same way.
        ``metadata``: text key-value pairs the file keeps in its header (where the table came
        from, its units, how it was exported); ``info(dest)["metadata"]`` gives them back.
        ``chunk_rows``: rows per chunk, the unit ``decompress(src, rows=...)`` decodes (default
        65,536, fewer for tables wider than 1,024 columns: a chunk holds at most 2**26 cells).
        """
        check_is_fitted(self)
        metadata = _checked_metadata(metadata)
        if isinstance(error_bound, str):
            if error_bound != "fit":
                raise ValueError(f"error_bound must be 'fit', None, a positive number or a dict, got {error_bound!r}")
            error_bound = self.error_bound
        error_mode = self.error_mode if error_mode is None else error_mode
        if chunk_rows is not None and (not isinstance(chunk_rows, Integral) or chunk_rows < 1):
            raise ValueError(f"chunk_rows must be None or an int >= 1, got {chunk_rows!r}")
        dest = Path(dest)
        if dest.exists() and not overwrite:
            raise exists_error(dest)
        X, kept, positions = _split_passthrough(as_pandas(X), passthrough, self.fit_columns_)
        frame = self._to_frame(X, reset=False)
        restore = _dtypes_to_restore(X, frame)
        dtypes = [restore.get(c) for c in frame.columns]
        header, weights, chunks = codec.compress_frame(self, frame, dtypes, error_bound, error_mode, chunk_rows,
                                                       kept, positions, _labels(X))
        if metadata:
            header["metadata"] = metadata
        version = codec.oldest_version(header)  # for older readers
        return container.write(dest, header, weights, chunks, overwrite=overwrite, version=version)

    def _saved_state(self) -> dict:
        return {"autoregressive": bool(self.autoregressive_), "input_was_frame": bool(self.input_was_frame_),
                "input_was_polars": bool(self.input_was_polars_),
                "polars_dates": [labels.to_json(c) for c in self.polars_dates_],
                "fit_dtypes": [[labels.to_json(name), dtype] for name, dtype in self.fit_dtypes_.items()],
                "empty_categories": [spec.to_dict() for spec in self.empty_categories_.values()],
                "latent_mean": self.latent_mean_.tolist(), "latent_std": self.latent_std_.tolist(),
                "latent_step": self.latent_step_.tolist()}

    def _load_state(self, meta: dict) -> None:
        self.autoregressive_ = meta["autoregressive"]
        self.input_was_frame_ = meta["input_was_frame"]
        self.input_was_polars_ = meta.get("input_was_polars", False)  # saved before polars: pandas
        self.polars_dates_ = [labels.from_json(c) for c in meta.get("polars_dates", [])]
        self.fit_dtypes_ = {labels.from_json(name): dtype for name, dtype in meta["fit_dtypes"]}
        empty = meta.get("empty_categories", [])  # saved before them: none kept
        if not isinstance(empty, list):
            raise ValueError("its categories of the columns with no value are not a list")
        self.empty_categories_ = {spec.name: spec for spec in map(ColumnSpec.from_dict, empty)}
        for name in ("latent_mean", "latent_std", "latent_step"):
            values = np.array(meta[name], dtype=np.float64)
            if values.shape != (self.latent_dim,) or not np.isfinite(values).all() or \
                    (name != "latent_mean" and not (values > 0).all()):
                raise ValueError(f"its {name} is not {self.latent_dim} finite numbers"
                                 + ("" if name == "latent_mean" else " above 0"))
            setattr(self, name + "_", values)
        if not all(isinstance(meta[k], bool) for k in ("autoregressive", "input_was_frame")) or \
                not all(is_dtype_name(dtype) for _, dtype in meta["fit_dtypes"]):
            raise ValueError("its record of the fitted input is not one vaetools writes")
        self._n_features_out = self.latent_dim

    def _fit_input_kind(self, X, frame: pd.DataFrame) -> None:
        self.input_was_frame_ = isinstance(X, pd.DataFrame)
        self.fit_dtypes_ = _dtypes_to_restore(X, frame)
        # a category column with no value is not modelled: its categories, for what decodes it
        self.empty_categories_ = {c: spec for c, col in frame.items() if (spec := unmodelled_categories(col))}


def _checked_metadata(metadata) -> dict:
    """``compress``'s metadata as a dict of text to text, or an error that says what is wrong."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a dict of text keys to text values, got {type(metadata).__name__}")
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(f"metadata must map text to text; {key!r}: {value!r} is "
                             f"{type(key).__name__} to {type(value).__name__}: convert it with str()")
    return dict(metadata)


def _labels(X) -> pd.Index | None:
    """A DataFrame's row labels, for the file to keep; None where they are 0, 1, 2, ... (and
    for arrays), which a file gives back by itself."""
    if not isinstance(X, pd.DataFrame):
        return None
    idx = X.index
    if isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1 and idx.name is None:
        return None
    return idx


def _split_passthrough(X, passthrough, fitted: list) -> tuple:
    """(X without the ``passthrough`` columns, those columns, their positions in X)."""
    if passthrough is None or len(passthrough) == 0:
        return X, None, None
    names = [passthrough] if isinstance(passthrough, str) else list(passthrough)
    if not isinstance(X, pd.DataFrame):
        raise ValueError("passthrough names columns: X must be a DataFrame")
    unknown = [c for c in names if c not in X.columns]
    if unknown:
        raise ValueError(f"passthrough names columns that are not in X: {unknown}")
    modelled = [c for c in names if c in fitted]
    if modelled:
        raise ValueError(f"passthrough names columns the compressor was fitted on: {modelled}; fit it "
                         "without them to store them as they are")
    if len(set(names)) != len(names):
        raise ValueError(f"passthrough names a column more than once: {names}")
    return X.drop(columns=names), X[names], [X.columns.get_loc(c) for c in names]


def _dtypes_to_restore(X, frame: pd.DataFrame) -> dict:
    """The dtype each column of a DataFrame ``X`` decodes to: its own, except for a text column
    that ``_to_frame`` read as numbers (``missing_values="?"`` on a column of numbers with "?"
    in some cells), which decodes to numbers as the imputer returns it. Arrays: none."""
    if not isinstance(X, pd.DataFrame):
        return {}
    out = {}
    for c in X.columns:
        given, read = X[c].dtype, frame[c].dtype
        numbers = pd.api.types.is_numeric_dtype(read) and not pd.api.types.is_numeric_dtype(given)
        out[c] = str(read if numbers else given)
    return out


def compress(X, dest, error_bound=None, error_mode: str = "relative", overwrite: bool = False,
             chunk_rows: int | None = None, passthrough=None, metadata: dict | None = None, **params) -> dict:
    """Fit a VAECompressor for ``error_bound`` on X (less the ``passthrough`` columns, which are
    stored as they are) and write X to ``dest`` in one call; returns the bytes by section."""
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise exists_error(dest)
    X = as_pandas(X)
    _checked_metadata(metadata)  # before a fit that may take minutes
    modelled, _, _ = _split_passthrough(X, passthrough, [])
    comp = VAECompressor(error_bound=error_bound, error_mode=error_mode, **params).fit(modelled)
    return comp.compress(X, dest, chunk_rows=chunk_rows, overwrite=overwrite, passthrough=passthrough,
                         metadata=metadata)


def decompress(src, rows=None) -> pd.DataFrame:
    """Read a .vtz file back into a DataFrame; ``rows`` (a slice, row numbers or a boolean mask)
    reads only the chunks that hold them."""
    return codec.decompress_file(src, rows)


def info(src) -> dict:
    """Rows, columns, bytes by section, bits per value and error bounds of a .vtz file."""
    return codec.file_info(src)
