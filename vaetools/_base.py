"""What VAEImputer and VAECompressor share: input validation, schema, encoder, model, training."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import torch
from numbers import Integral, Real

from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, MissingValues, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import check_is_fitted, validate_data

from vaetools._frames import as_pandas, is_polars, to_polars
from vaetools.model import LIKELIHOODS, MAX_MODEL_SIZE, Batch, MaskedVAE, model_size
from vaetools.tabular import EncodedTable, TableEncoder, infer_schema, mark_zero_masses
from vaetools.training import TrainConfig, batch_size_for, resolve_device, to_batch, train


# Constraints of the parameters every estimator here takes; each adds its own.
SHARED_PARAMETER_CONSTRAINTS: dict = {
    "missing_values": [MissingValues()],
    "latent_dim": [Interval(Integral, 1, None, closed="left")],
    "likelihood": [StrOptions(set(LIKELIHOODS))],
    "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
    "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "patience": [Interval(Integral, 1, None, closed="left")],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "column_types": [dict, None],
    "max_categories": [Interval(Integral, 2, None, closed="left")],
    "device": [str],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def _numbers_behind_marker(frame: pd.DataFrame, marked: pd.DataFrame, keep: set) -> pd.DataFrame:
    """Text columns that hold only numbers once the ``missing_values`` marker is gone, as
    numbers: a CSV column with "?" in some cells is read as text, and the user who says
    ``missing_values="?"`` means the numbers (read_csv with ``na_values="?"`` gives them).
    Only columns where the marker was found are touched, and none named in ``keep`` (declared
    categorical or binary), so a text column of codes such as "02134" stays text. ``frame`` is
    the masked copy ``_to_frame`` made, converted in place."""
    for j in np.flatnonzero(marked.to_numpy().any(axis=0)):
        col = frame.iloc[:, j]
        if frame.columns[j] in keep:
            continue
        if pd.api.types.is_numeric_dtype(col.dtype) or isinstance(col.dtype, pd.CategoricalDtype):
            continue
        numbers = pd.to_numeric(col, errors="coerce")
        if col.notna().any() and numbers.notna().equals(col.notna()):
            frame.isetitem(j, numbers)
    return frame


class TabularVAEBase(BaseEstimator):
    """Shared machinery; subclasses define the parameters (``__init__``) and the public API."""

    # model point masses at 0 as "nonzero" channels (``schema.mark_zero_masses``); the .vtz
    # codec codes every numeric cell under one distribution, so the compressor leaves it off
    _zero_masses = False
    # linear paths beside the networks (``MaskedVAE._build_linear_skip``). The compressor leaves
    # them off: at a 1% bound they made files larger (abalone 15,143 -> 15,563 bytes, wine
    # 12,097 -> 12,524, adult 189,281 -> 191,409), their weights costing more than they saved
    _linear_skip = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags

    # ------------------------------------------------------------------ input handling
    def _is_missing_value(self, frame: pd.DataFrame) -> pd.DataFrame:
        mv = self.missing_values
        if mv is None or mv is pd.NA or (isinstance(mv, float) and np.isnan(mv)):
            return frame.isna()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return frame.isna() | (frame == mv)

    def _to_frame(self, X, reset: bool) -> pd.DataFrame:
        """Validate X and return it as a DataFrame with NaN in every missing cell."""
        X = as_pandas(X)
        if isinstance(X, pd.DataFrame):
            if X.columns.duplicated().any():
                dups = list(X.columns[X.columns.duplicated()].unique())
                raise ValueError(f"X has duplicate column names {dups}; rename them so that each "
                                 "column can be told apart")
            if not reset and hasattr(self, "fit_columns_"):
                X = self._align_columns(X)
            validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[0] == 0:
                raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of "
                                 "1 is required.")
            frame = X
        else:
            arr = validate_data(self, X, reset=reset, dtype=None, ensure_all_finite=False,
                                ensure_min_features=1)
            if arr.dtype.kind in "biuf":
                arr = arr.astype(np.float64, copy=False)
            frame = pd.DataFrame(arr)
        missing = self._is_missing_value(frame)
        if missing.to_numpy().any() and not frame.isna().equals(missing):
            keep = {c for c, kind in (self.column_types or {}).items() if kind in ("binary", "categorical")}
            frame = _numbers_behind_marker(frame.mask(missing), frame.isna() != missing, keep)
        return frame

    def _as_output(self, X, out: pd.DataFrame):
        """A table ``transform`` made from ``X``, in the container the user expects: the one
        ``set_output`` asks for, else X's own kind of DataFrame (pandas or polars, the input's
        dtypes kept); None for arrays, which the caller converts."""
        dense = _get_output_config("transform", self)["dense"]
        if dense == "pandas":
            return out
        if dense == "polars" or is_polars(X):
            return to_polars(out, dict(X.schema) if is_polars(X) else None)
        return out if isinstance(X, pd.DataFrame) else None

    def _align_columns(self, X: pd.DataFrame) -> pd.DataFrame:
        fit_cols = list(self.fit_columns_)
        cols = list(X.columns)
        if cols == fit_cols:
            return X
        missing = [c for c in fit_cols if c not in cols]
        extra = [c for c in cols if c not in fit_cols]
        if missing or extra:
            raise ValueError(f"X has different columns than at fit: missing {missing}, unexpected "
                             f"{extra}. Pass the same columns the imputer was fitted on.")
        return X[fit_cols]  # same names, another order: reorder silently

    # ------------------------------------------------------------------ fitting
    def _fit_core(self, frame: pd.DataFrame, k: int, beta: float, polars: bool = False) -> EncodedTable:
        """Schema, scalers and a trained model for ``frame``; sets the shared fitted attributes
        and returns the encoding of the modelled columns. ``polars``: the caller's X was a polars
        DataFrame, whose users get the fixes in errors in polars code."""
        self.fit_columns_ = list(frame.columns)
        if frame.shape[0] < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 rows to fit, got {frame.shape[0]} "
                             "sample (n_samples = 1)")
        empty = frame.isna().all(axis=0).to_numpy()
        self.empty_features_ = empty
        if empty.any() and not getattr(self, "keep_empty_features", False):
            warnings.warn(f"Skipping features without any observed values: "
                          f"{[c for c, e in zip(frame.columns, empty) if e]}. At least one non-missing "
                          "value is needed to model a column; they are dropped from the output unless "
                          "keep_empty_features=True.", UserWarning, stacklevel=3)
        modelled = frame.loc[:, ~empty]
        column_types = dict(self.column_types or {})
        self.schema_ = infer_schema(modelled, column_types, self.max_categories,
                                    "polars" if polars else "pandas") if modelled.shape[1] else []
        if self._zero_masses:
            mark_zero_masses(self.schema_, modelled)
        self.encoder_ = TableEncoder(self.schema_).fit(modelled)
        table = self.encoder_.encode(modelled)
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        self.random_seed_ = seed
        device = resolve_device(self.device)
        hidden = self._hidden(frame.size)
        self._check_model_size(hidden)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model_ = self._build_model(hidden).to(device)
            if self.schema_:
                data = to_batch(self.encoder_, table, device, self._num_bins(table))
                batch = self._batch_rows(len(modelled))
                config = TrainConfig(k=k, beta=beta, batch_size=batch,
                                     learning_rate=self._peak_learning_rate(batch),
                                     max_epochs=self._epochs(len(modelled)),
                                     patience=self.patience, validation_fraction=self.validation_fraction,
                                     verbose=self.verbose)
                self.history_ = train(self.model_, data, config, seed)
                self._after_training(data)
            else:
                self.history_ = []
        return table

    def _check_model_size(self, hidden: tuple[int, ...]) -> None:
        """Refuse, naming the parameters, a model too large to allocate (a latent_dim of 10**9
        was torch's 'can't allocate memory' from deep inside the model), sized before anything
        is allocated."""
        enc = self.encoder_
        size = model_size(len(enc.num_cols), enc.n_bin_channels, enc.cat_sizes, self.latent_dim, hidden,
                          self._ar_hidden(hidden))
        if size > self._max_model_size:
            raise ValueError(f"latent_dim={self.latent_dim} and hidden sizes {list(hidden)} make a model of about "
                             f"{size:,} weights for these {len(self.schema_)} columns, more than "
                             f"{self._max_model_size:,}{self._max_model_size_reason}; choose smaller ones")

    # the largest model ``fit`` builds, and why (after the number in its error message)
    _max_model_size = MAX_MODEL_SIZE
    _max_model_size_reason = ""

    def _ar_hidden(self, hidden: tuple[int, ...]) -> int:
        """Width of the model's autoregressive branch (0: none)."""
        return 0

    def _after_training(self, data: Batch) -> None:
        """What an estimator fits after the model's training, on the same ``data``."""

    def _num_bins(self, table: EncodedTable) -> np.ndarray | None:
        """Per-cell quantization bin edges the likelihood should count (None: densities)."""
        return None

    # max_epochs="auto": (row visits, fewest epochs, most epochs); each estimator sets its own,
    # and may cap the row visits that the fewest epochs would make on large tables
    _auto_epochs: tuple[int, int, int]
    _auto_visits_cap: int | None = None

    def _batch_rows(self, n_rows: int) -> int:
        """Rows per optimizer step."""
        return batch_size_for(n_rows, self.batch_size)

    def _peak_learning_rate(self, batch_rows: int) -> float:
        """The peak step size: ``learning_rate`` as given, or the estimator's own for "auto"."""
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        return self._auto_learning_rate(batch_rows)

    def _auto_learning_rate(self, batch_rows: int) -> float:
        """learning_rate="auto" for ``batch_rows``-row steps; each estimator sets its own."""
        raise NotImplementedError

    def _epochs(self, n_rows: int) -> int:
        if self.max_epochs != "auto":
            return int(self.max_epochs)
        visits, low, high = self._auto_epochs
        epochs = int(np.clip(visits // max(n_rows, 1), low, high))
        if self._auto_visits_cap is not None:
            epochs = min(epochs, max(1, -(-self._auto_visits_cap // max(n_rows, 1))))
        return epochs

    def _hidden(self, n_cells: int) -> tuple[int, ...]:
        """Hidden widths for a table of ``n_cells`` cells."""
        return tuple(int(h) for h in self.hidden_sizes)

    def _build_model(self, hidden: tuple[int, ...], linear_skip: bool | None = None, **options) -> MaskedVAE:
        """The model for the fitted schema; ``linear_skip`` overrides the class's choice when
        rebuilding a saved model."""
        linear_skip = self._linear_skip if linear_skip is None else linear_skip
        enc = self.encoder_
        return MaskedVAE(len(enc.num_cols), enc.n_bin_channels, enc.cat_sizes, latent_dim=self.latent_dim,
                         hidden=hidden, likelihood=self.likelihood,
                         min_scale=enc.min_scales(), linear_skip=linear_skip, **options)

    # ------------------------------------------------------------------ persistence
    def save(self, path, overwrite: bool = False) -> None:
        """Write the fitted estimator to ``path`` (a zip of JSON and arrays; loading runs no
        code, unlike pickle); ``overwrite`` to replace an existing file."""
        from vaetools.persist import save_estimator

        check_is_fitted(self)
        save_estimator(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path):
        """Read an estimator of this class written by ``save``."""
        from vaetools.persist import load_estimator

        return load_estimator(cls, path)

    def _place_model(self) -> None:
        """Move a loaded or unpickled model to ``device``: a GPU where one is asked for and
        present, else the CPU (a model fitted on a GPU still imputes on a machine without one)."""
        try:
            device = resolve_device(self.device)
        except (ValueError, RuntimeError):
            device = torch.device("cpu")
        self.model_ = self.model_.to(device)

    def __getstate__(self):
        """Pickles hold the model on the CPU: torch refuses to unpickle GPU tensors on a
        machine without one, and a model fitted on a GPU is often used elsewhere."""
        state = super().__getstate__()
        model = state.get("model_")
        if model is not None and any(t.device.type != "cpu" for t in (*model.parameters(), *model.buffers())):
            state = {**state, "model_": copy.deepcopy(model).cpu()}
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if self.__dict__.get("model_") is not None:
            self._place_model()

    def _saved_state(self) -> dict:
        """Fitted attributes of the subclass's own, as JSON, for ``save``."""
        return {}

    def _load_state(self, meta: dict) -> None:
        """Set what ``_saved_state`` wrote; runs before the model is rebuilt."""

