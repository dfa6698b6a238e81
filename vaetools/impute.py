"""VAEImputer: scikit-learn estimator that fills missing cells with a masked tabular VAE.

The estimator holds no math: schema and encoding come from ``vaetools.tabular``, the model
from ``vaetools.model``, the loop from ``vaetools.training``.
"""

from __future__ import annotations

import numbers
from numbers import Integral

import numpy as np
import pandas as pd
import torch
from sklearn.base import TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from vaetools._base import SHARED_PARAMETER_CONSTRAINTS, TabularVAEBase
from vaetools._frames import is_polars
from vaetools.model import PRECISIONS, Batch, Particles, fast_bfloat16, quasi_normal
from vaetools.tabular import ColumnSpec
from vaetools.training import batch_size_for, fit_draw_scale, to_batch

# decoder outputs (particles x the widest layer) held at once when imputing on a CPU. Into
# reused buffers (``Particles``), larger chunks ran faster, to a plateau: adult at 32 draws in
# bfloat16 took 34k rows/s at 8,192 particles a chunk, 38k at 16,384 and 39k at 32,768 (2**22
# outputs of its 128-wide layers: 16 MB per float32 buffer), 38k at 65,536; in float32 25k at
# 8,192 and 26k at 16,384 (2-core dev VM). A GPU gets 16x as many: on an H200 adult imputed at
# 215k rows/s with 32 draws at 524,288 particles a chunk, 7.4x its 16 host cores
_CHUNK_OUTPUTS = 1 << 22
# particles per row when fitting the draw scale, whatever n_imputation_draws is: the factors
# fitted with 32 serve draws with 8 or 128 as well (30% MCAR coverage with 8 / 32 / 128, when
# the factors were fitted by Adam on minibatches:
# breast cancer 0.901 / 0.905 / 0.902, concrete 0.933 / 0.939 / 0.943), where fitting them
# with 8 widened the draws (0.917, 0.961). So set_params(n_imputation_draws=...) after fit
# needs no refit
_DRAW_SCALE_PARTICLES = 32


_MAX_DRAWS = 10_000


class VAEImputer(TransformerMixin, TabularVAEBase):
    """Impute missing cells of numeric and categorical columns with a masked VAE (MIWAE).

    Takes a pandas or polars DataFrame, or an array, and returns the same kind with the same
    columns and dtypes (``set_output`` chooses another container); null, NaN, None and pd.NA
    all mark missing cells. Numbers, categories, text with few values, booleans, dates,
    timestamps (time zones kept), periods and durations are imputed; dates come back in whole
    steps of their column's resolution (days for a date-only column).

    Parameters
    ----------
    missing_values : float, int, str, None or pd.NA, default=np.nan
        Cells equal to this count as missing, in addition to NaN, None and pd.NA. A text column
        that holds only numbers once these cells are gone (a CSV column with "?" for missing
        values is read as text) is modelled and returned as numbers, as
        ``pd.read_csv(..., na_values="?")`` would have read it.
    latent_dim : int, default=8
        Size of the latent code.
    hidden_sizes : tuple of int, default=(128, 128)
        Widths of the encoder's hidden layers (the decoder mirrors them).
    likelihood : {"gaussian", "student_t"}, default="gaussian"
        Likelihood of numeric columns.
    n_draws : int, default=5
        Importance samples per row in the training bound (1 gives the ordinary ELBO), at most
        10,000 (as ``n_imputation_draws``). For the
        best accuracy on a small table at about twice the fit time, ``n_draws=20`` with
        ``n_imputation_draws=512``: concrete at 30% MCAR 0.675 -> 0.624 RMSE, breast cancer at
        50% MSE 0.260 -> 0.246 (one seed, benchmarks/RESULTS.md).
    n_imputation_draws : int, default=32
        Importance samples per row when imputing (scrambled Sobol points), at most 10,000. Transform
        time grows in proportion; error falls with more (adult, 30% MCAR: RMSE 0.893 at 8 draws,
        0.884 at 16, 0.880 at 32). On 2 cores, in bfloat16 (see ``inference_precision``), adult
        imputes at 130k-133k rows/s with 8 draws, 77k-81k with 16 and 41k-49k with 32; in
        float32 at 83k-98k, 46k-47k and 23k-33k (benchmarks/bench_transform.py).
        The draws' spread (see ``multiple_imputations``) is fitted with 32 per row whatever
        this is, about 0.3-0.6 s of a fit, and serves any number of draws.
    batch_size : int or None, default=None
        Rows per minibatch; None picks about 1/32 of the rows within [128, 1024], and 64 for
        tables under 768 rows.
    learning_rate : float or "auto", default="auto"
        Peak step size; it decays to zero along a cosine over the epochs. "auto": 3e-3 for
        batches of 64 rows, growing with the batch to 6e-3 at 128 rows and more.
    max_epochs : int or "auto", default="auto"
        "auto" plans about 384,000 row visits within [20, 400] epochs: wine_quality_red (1,599
        rows) gets 240 epochs, adult (48,842 rows) 20; and at most about 2,000,000 row visits,
        so that a table of 150,000 rows gets 14 epochs and one of a million 2. Fewer epochs
        trade accuracy for time: adult at 30% MCAR, 5 epochs RMSE 0.897 in 12 s, 20 epochs
        0.883 in 34 s (MissForest-like 1.022 in 74 s; benchmarks/bench_speed_accuracy.py).
    patience : int, default=12
        With ``validation_fraction > 0``: epochs without improvement of the held-out score before
        stopping (at least ~300 optimizer steps).
    validation_fraction : float, default=0.0
        Share of observed cells held out for early stopping and for choosing the weights kept.
        Off by default: on the benchmark tables a full cosine schedule on every observed cell
        imputed better than stopping on a held-out share (e.g. wine_quality_red RMSE 0.750 vs
        0.785), at the price of no early exit.
    column_types : dict or None, default=None
        Forces kinds by column name: "continuous", "integer", "binary" or "categorical". Dates
        and durations are "integer" (whole steps of their resolution) or "continuous".
    max_categories : int, default=100
        A text column with more distinct values is rejected as an ID or free text.
    add_indicator : bool, default=False
        Append missing-indicator columns, as in sklearn's imputers.
    keep_empty_features : bool, default=False
        Keep columns with no observed value at fit (filled with 0 when numeric) instead of
        dropping them.
    inference_precision : {"auto", "float32", "bfloat16"}, default="auto"
        Precision of the decoder's layers when imputing (``transform``, ``multiple_imputations``);
        training is always float32. "auto" is bfloat16 on a CPU with bfloat16 matrix
        instructions (AVX512-BF16, AMX: recent Xeon and EPYC), where adult imputes ~1.7x as fast
        at 32 draws, and float32 elsewhere. What bfloat16 changes in an imputation is a tenth
        or less of the Monte Carlo error of the draws themselves (benchmarks/RESULTS.md);
        "float32" gives the same imputations on every machine up to float rounding.
    device : str, default="auto"
        "auto" uses a GPU when torch sees one.
    random_state : int, RandomState or None, default=None
    verbose : int, default=0
        1 shows a progress bar of the fit on stderr.

    Attributes
    ----------
    schema_ : list of ColumnSpec
    model_ : MaskedVAE
    history_ : list of dict
        Per epoch: training loss and held-out score (prediction error per held-out cell; the
        training loss again when ``validation_fraction=0``).
    n_features_in_, feature_names_in_ : as in scikit-learn
    """

    _zero_masses = True
    _linear_skip = True
    # max_epochs="auto": about 384,000 row visits within [20, 400] epochs. With the batch and
    # step size of ``_batch_rows`` and ``_peak_learning_rate`` this imputed as well as the
    # previous plan (6,000 steps of 64 rows at 3e-3, at most 2M visits; 18 of 24 benchmark
    # cells best either way) in 0.33x-1x of the time: adult 40.8 -> 21.8 s, wine 16.8 -> 11.7 s
    # (benchmarks/RESULTS.md)
    _auto_epochs = (384_000, 20, 400)
    # and no more than ~2M row visits: past ~100,000 rows, 20 epochs made the fit grow with the
    # table (a million rows: ~9 minutes on 2 cores) for little. On synthetic adult-like tables
    # (rows drawn from a VAECompressor fitted to adult, 30% MCAR): 150,000 rows, 14 epochs
    # against 20: RMSE 0.8123 against 0.8116 in 61 s against 85 s; 400,000 rows, 5 against 20:
    # 0.8256 against 0.8242 in 64 s against 219 s; a million, 2 against 20: 0.8116 against
    # 0.8095 in 71 s against 536 s (benchmarks/RESULTS.md)
    _auto_visits_cap = 2_000_000

    _parameter_constraints: dict = {
        **SHARED_PARAMETER_CONSTRAINTS,
        "hidden_sizes": [tuple, list],
        # at most 10,000 draws: a step holds rows x draws x decoder outputs, and beyond that a
        # request (or a saved model's parameters) is a memory error, not more accuracy
        "n_draws": [Interval(Integral, 1, _MAX_DRAWS, closed="both")],
        "n_imputation_draws": [Interval(Integral, 1, _MAX_DRAWS, closed="both")],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
        "inference_precision": [StrOptions({"auto", *PRECISIONS})],
    }

    def __init__(self, *, missing_values=np.nan, latent_dim=8, hidden_sizes=(128, 128),
                 likelihood="gaussian", n_draws=5, n_imputation_draws=32, batch_size=None,
                 learning_rate="auto", max_epochs="auto", patience=12, validation_fraction=0.0,
                 column_types=None, max_categories=100, add_indicator=False,
                 keep_empty_features=False, inference_precision="auto", device="auto", random_state=None,
                 verbose=0):
        self.missing_values = missing_values
        self.latent_dim = latent_dim
        self.hidden_sizes = hidden_sizes
        self.likelihood = likelihood
        self.n_draws = n_draws
        self.n_imputation_draws = n_imputation_draws
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.column_types = column_types
        self.max_categories = max_categories
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features
        self.inference_precision = inference_precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def _batch_rows(self, n_rows: int) -> int:
        """Rows per step. 128 rather than 64 halves the steps at the same accuracy, and a step
        of 128 rows costs only ~1.2-1.5x one of 64 on 2 cores (per-operator overhead). Tables
        under 768 rows keep 64-row steps at the 3e-3 step size: penguins (344 rows) imputed
        worse with 128 rows or with 6e-3 (RMSE 0.65 against 0.63), and breast cancer (569 rows,
        50% MCAR) with 94 rows at 4.4e-3 (MSE 0.257-0.284 over three seeds, 0.256-0.271 at 64)."""
        default = int(np.clip(n_rows // 32, 128 if n_rows >= 768 else 64, 1024))
        return batch_size_for(n_rows, self.batch_size or default)

    def _auto_learning_rate(self, batch_rows: int) -> float:
        return 3e-3 * float(np.clip(batch_rows, 64, 128)) / 64

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the schema, the scalers and the VAE from X (missing cells allowed)."""
        frame = self._to_frame(X, reset=True)
        self._fit_core(frame, k=self.n_draws, beta=1.0, polars=is_polars(X))
        # as sklearn's MissingIndicator(features="missing-only"): columns with holes at fit
        self.indicator_features_ = np.flatnonzero(frame.isna().any(axis=0).to_numpy())
        return self

    def _after_training(self, data: Batch) -> None:
        """Multiple imputation's spread, fitted to cells hidden from the encoder (~0.3-0.6 s)."""
        fit_draw_scale(self.model_, data, k=_DRAW_SCALE_PARTICLES, seed=self.random_seed_ + 2)

    # ------------------------------------------------------------------ transform
    def _noise_bank(self, device, generator: torch.Generator | None = None) -> torch.Tensor:
        """The draws' standard-normal noise, shared by every row.

        ``transform`` maps scrambled Sobol points, fixed by the fit's seed, to normals: spread
        more evenly than random antithetic pairs, they lowered imputation RMSE at 32 draws on
        five of the six benchmark tables (mean of 20 noise seeds: adult 0.8834 -> 0.8815,
        concrete 0.6769 -> 0.6710; wine, the sixth, 0.7366 -> 0.7379, within its noise;
        benchmarks/RESULTS.md). Given a ``generator``, random antithetic pairs (eps, -eps):
        each of ``multiple_imputations``' tables resamples its own particles, so that the tables
        are independent draws (breast cancer, 30% MCAR: the truth within the range of 19 tables'
        values 0.734 -> 0.765 of the time)."""
        k, d = self.n_imputation_draws, self.latent_dim
        if generator is None:
            return quasi_normal(k, d, self.random_seed_ + 1).to(device)
        half = torch.randn((k + 1) // 2, d, generator=generator)
        return torch.cat([half, -half])[:k].to(device)

    def _predict(self, frame: pd.DataFrame, draw=None):
        """Encoded table and the model's fill values for rows that have missing cells."""
        modelled = frame.loc[:, ~self.empty_features_]
        enc = self.encoder_.encode(modelled)
        num = np.zeros_like(enc.num)
        bins = np.zeros((enc.n_rows, self.encoder_.n_bin_channels), dtype=np.float32)
        cat = np.zeros_like(enc.cat)
        rows = np.flatnonzero(~enc.mask.all(axis=1)) if enc.mask.size else np.zeros(0, dtype=np.int64)
        if rows.size:
            device = next(self.model_.parameters()).device
            eps = self._noise_bank(device, draw)
            data = to_batch(self.encoder_, enc, device)
            widest = max(layer.out_features for layer in self.model_.decoder if isinstance(layer, torch.nn.Linear))
            particles = _CHUNK_OUTPUTS * (1 if device.type == "cpu" else 16) // widest
            chunk = min(rows.size, max(1, particles // self.n_imputation_draws))
            work = Particles(self.model_, chunk, self.n_imputation_draws, self._precision(device))
            for start in range(0, rows.size, chunk):
                idx = rows[start:start + chunk]
                work.decode(data[torch.as_tensor(idx, device=device)], eps)
                post = work.posterior() if draw is None else work.resample(draw)
                num[idx] = post.num.cpu().numpy()
                bins[idx] = post.bin.cpu().numpy()
                for c, probs in enumerate(post.cat):
                    cat[idx, c] = probs.argmax(-1).cpu().numpy()
        return modelled, enc, num, bins, cat

    def _precision(self, device: torch.device) -> str:
        """The decoder's precision when imputing: "auto" is bfloat16 on a CPU that multiplies
        it in hardware, float32 elsewhere (a GPU too: not yet measured there)."""
        if self.inference_precision != "auto":
            return self.inference_precision
        return "bfloat16" if device.type == "cpu" and fast_bfloat16() else "float32"

    def _finish(self, X, frame: pd.DataFrame, filled: pd.DataFrame):
        """Empty features, indicator columns and the output container."""
        kept = list(np.flatnonzero(~self.empty_features_))
        if len(kept) == frame.shape[1]:
            out = filled  # a copy already, with every column
        else:
            out = frame.copy()
            for pos, j in enumerate(kept):
                out.isetitem(j, filled.iloc[:, pos])
        if self.empty_features_.any():
            if self.keep_empty_features:
                for j in np.flatnonzero(self.empty_features_):  # all missing: filled with 0
                    col = out.iloc[:, j]
                    numeric = pd.api.types.is_numeric_dtype(col.dtype)  # else text or dates: floats
                    out.isetitem(j, col.fillna(0) if numeric else pd.Series(0.0, index=col.index))
            else:
                out = out.iloc[:, kept]
        if self.add_indicator:
            ind = frame.isna().to_numpy()[:, self.indicator_features_]
            names = [f"missingindicator_{frame.columns[j]}" for j in self.indicator_features_]
            ind_df = pd.DataFrame(ind, index=out.index, columns=names)
            out = pd.concat([out, ind_df], axis=1)
        container = self._as_output(X, out)
        if container is not None:
            return container
        values = out.to_numpy()
        if all(pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t) for t in out.dtypes):
            return values.astype(np.float64)
        return values

    def transform(self, X):
        """Fill the missing cells of X; observed cells come back unchanged.

        DataFrame in, DataFrame out (same index, columns and dtypes); arrays in, arrays out.
        """
        check_is_fitted(self)
        frame = self._to_frame(X, reset=False)
        modelled, enc, num, bins, cat = self._predict(frame)
        filled = self.encoder_.fill(modelled, enc, num, bins, cat)
        return self._finish(X, frame, filled)

    def multiple_imputations(self, X, m: int = 5, random_state=None) -> list:
        """``m`` completed copies of X, each cell drawn from p(x_mis | x_obs) by sampling
        importance resampling: the input to Rubin's rules. Numeric cells are drawn with the
        spread fitted at the end of ``fit`` to cells hidden from the encoder
        (``vaetools.training.fit_draw_scale``). On the benchmark tables 19 draws hold the truth
        within their range 0.890-0.947 of the time (0.90 is calibrated), except penguins
        under MAR, 0.866 (benchmarks/RESULTS.md). To check on your own data, hide some observed
        cells (``vaetools.evaluation.hide_cells``), impute, and score with
        ``vaetools.evaluation.score_multiple_imputations``."""
        check_is_fitted(self)
        if not isinstance(m, numbers.Integral) or m < 1:
            raise ValueError(f"m must be an int >= 1, got {m!r}")
        frame = self._to_frame(X, reset=False)
        seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
        gen = torch.Generator().manual_seed(seed)
        results = []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for _ in range(m):
                modelled, enc, num, bins, cat = self._predict(frame, draw=gen)
                filled = self.encoder_.fill(modelled, enc, num, bins, cat)
                results.append(self._finish(X, frame, filled))
        return results

    def get_feature_names_out(self, input_features=None):
        """Input names (x0, x1, ... for arrays), less dropped empty features, plus indicators."""
        check_is_fitted(self)
        from sklearn.utils.validation import _check_feature_names_in

        all_names = _check_feature_names_in(self, input_features)
        names = all_names if self.keep_empty_features else all_names[~self.empty_features_]
        if self.add_indicator:
            ind = [f"missingindicator_{all_names[j]}" for j in self.indicator_features_]
            names = np.concatenate([names, np.array(ind, dtype=object)])
        return names

    def _saved_state(self) -> dict:
        return {"indicator_features": [int(f) for f in self.indicator_features_]}

    def _load_state(self, meta: dict) -> None:
        self.indicator_features_ = np.array(meta["indicator_features"], dtype=np.int64)


__all__ = ["VAEImputer", "ColumnSpec"]
