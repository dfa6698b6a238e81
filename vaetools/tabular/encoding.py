"""Encode a table into model-ready arrays and decode model outputs back into the table.

One encoding serves the imputer and the compressor alike. Continuous and integer columns are
standardized on their observed values (after ``log1p`` for heavy right skew); binary columns
become 0/1; categorical columns become integer codes. Missing cells are recorded in ``mask``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import decimals, times
from .schema import ColumnSpec, column_numbers

NUMERIC_KINDS = ("continuous", "integer")


@dataclass
class EncodedTable:
    """A table as arrays. ``mask[i, j]`` is True where cell (i, j) is observed."""

    num: np.ndarray  # (n, n_num) float32, standardized, 0 where missing
    bin: np.ndarray  # (n, n_bin) float32 in {0, 1}, 0 where missing
    cat: np.ndarray  # (n, n_cat) int64 codes, -1 where missing
    mask: np.ndarray  # (n, n_columns) bool, in column order
    # columns with a point mass at 0 (``ColumnSpec.zero_mass``): whether each cell is observed
    # and nonzero, (n, n_zero) {0, 1}; their numeric value counts only there
    nonzero: np.ndarray

    @property
    def n_rows(self) -> int:
        return self.mask.shape[0]


def _stable_mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and std that do not overflow for magnitudes near the float64 limit."""
    if values.size == 0:
        return 0.0, 1.0
    scale = float(np.max(np.abs(values)))
    if scale == 0.0 or not np.isfinite(scale):
        return 0.0, 1.0
    scaled = values / scale
    mean = float(np.mean(scaled)) * scale
    std = float(np.std(scaled)) * scale
    if not np.isfinite(std) or std <= 1e-12 * max(abs(mean), 1e-300):
        std = 1.0 if scale < 1e300 else scale  # constant column: any positive scale will do
    return mean, std


class TableEncoder:
    """Fitted scalers and code books for a list of ColumnSpec (see ``schema.infer_schema``)."""

    def __init__(self, specs: list[ColumnSpec]):
        self.specs = specs
        self.num_cols = [j for j, s in enumerate(specs) if s.kind in NUMERIC_KINDS]
        self.bin_cols = [j for j, s in enumerate(specs) if s.kind == "binary"]
        self.cat_cols = [j for j, s in enumerate(specs) if s.kind == "categorical"]
        self.cat_sizes = [len(specs[j].categories) for j in self.cat_cols]
        self.zero_cols = [j for j in self.num_cols if specs[j].zero_mass]
        # the model's Bernoulli outputs: binary columns, then one "nonzero" per zero_cols entry
        self.n_bin_channels = len(self.bin_cols) + len(self.zero_cols)

    # ------------------------------------------------------------------ fitting
    @staticmethod
    def _forward_transform(values: np.ndarray, spec: ColumnSpec) -> np.ndarray:
        return np.log1p(values) if spec.transform == "log1p" else values

    @staticmethod
    def _inverse_transform(values: np.ndarray, spec: ColumnSpec) -> np.ndarray:
        return np.expm1(values) if spec.transform == "log1p" else values

    def fit(self, df: pd.DataFrame) -> "TableEncoder":
        for j in self.num_cols:
            spec = self.specs[j]
            values = column_numbers(df.iloc[:, j], spec)
            values = values[~np.isnan(values)]
            if spec.zero_mass:  # the scaler describes the values where nonzero
                values = values[values != 0]
            spec.mean, spec.std = _stable_mean_std(self._forward_transform(values, spec))
        return self

    def min_scales(self) -> list[float]:
        """Smallest likelihood scale per numeric column, in standardized units: a quarter step
        for integer columns (their values are point masses), 1% of a std otherwise."""
        out = []
        for j in self.num_cols:
            spec = self.specs[j]
            floor = 0.01
            if spec.kind == "integer" and spec.transform == "none":
                floor = max(floor, min(0.25 / spec.std, 0.25))
            out.append(floor)
        return out

    # ------------------------------------------------------------------ encoding
    def encode(self, df: pd.DataFrame, unseen: str = "warn") -> EncodedTable:
        """Arrays for ``df``. Category values not seen at fit are treated as missing, with one
        warning (``unseen="warn"``), or refused (``"raise"``) where they cannot be stored."""
        n = len(df)
        mask = np.zeros((n, len(self.specs)), dtype=bool)
        num = np.zeros((n, len(self.num_cols)), dtype=np.float32)
        bins = np.zeros((n, len(self.bin_cols)), dtype=np.float32)
        cat = np.full((n, len(self.cat_cols)), -1, dtype=np.int64)
        nonzero = np.zeros((n, len(self.zero_cols)), dtype=np.float32)
        new_values: dict = {}
        numbers = self.numeric_values(df)
        for j, spec in enumerate(self.specs):
            if spec.kind in NUMERIC_KINDS:
                values = numbers[:, self.num_cols.index(j)]
                observed = ~np.isnan(values)
                if np.isinf(values).any():
                    raise ValueError(f"column {spec.name!r} contains inf or -inf; replace them with "
                                     f"NaN to impute them, or with finite values")
                has_value = observed
                if spec.zero_mass:
                    is_nonzero = observed & (np.nan_to_num(values) != 0)
                    nonzero[:, self.zero_cols.index(j)] = is_nonzero
                    has_value = is_nonzero
                z = self.standardize(j, np.where(observed, values, 0.0))
                num[:, self.num_cols.index(j)] = np.where(has_value, z, 0.0)
            else:
                # the column's distinct values (missing cells: -1), then a hash lookup of those
                # alone, where equal values match across int, float, bool and numpy scalar
                # types as a dict lookup would: looking up every cell as a Python object took
                # 100-120 ms of adult's 9 text columns, this 14-16 ms
                factor, distinct = pd.factorize(df.iloc[:, j])
                distinct = np.asarray(distinct, dtype=object)
                lookup = pd.Index(spec.categories, dtype=object).get_indexer(distinct).astype(np.int64)
                codes = np.where(factor >= 0, lookup[factor], -1) if distinct.size else np.full(n, -1, np.int64)
                if (lookup < 0).any():
                    new_values[spec.name] = [v.item() if isinstance(v, np.generic) else v
                                             for v in distinct[lookup < 0][:5]]
                observed = codes >= 0
                if spec.kind == "binary":
                    bins[:, self.bin_cols.index(j)] = np.maximum(codes, 0)
                else:
                    cat[:, self.cat_cols.index(j)] = codes
            mask[:, j] = observed
        if new_values and unseen == "raise":
            name, values = next(iter(new_values.items()))
            raise ValueError(f"column {name!r} has categories not seen at fit {values}; fit on data "
                             "that includes them")
        if new_values and unseen == "warn":
            detail = "; ".join(f"{k!r}: {list(map(str, v))}" for k, v in new_values.items())
            warnings.warn(f"categories not seen during fit are treated as missing and imputed ({detail})",
                          UserWarning, stacklevel=3)
        return EncodedTable(num=num, bin=bins, cat=cat, mask=mask, nonzero=nonzero)

    def numeric_values(self, df: pd.DataFrame) -> np.ndarray:
        """The numeric columns of ``df`` as float64, NaN where missing, (n, n_num): in one
        conversion when every one has a numeric dtype (per-column pandas calls were most of a
        small table's transform time), else column by column (dates and durations in their
        modelled units), naming one that holds text."""
        if not self.num_cols:
            return np.zeros((len(df), 0))
        block = df.iloc[:, self.num_cols]
        if all(pd.api.types.is_numeric_dtype(t) for t in block.dtypes) and \
                not any(self.specs[j].in_units for j in self.num_cols):
            return block.to_numpy(dtype=np.float64, na_value=np.nan)
        out = np.empty((len(df), len(self.num_cols)))
        for k, j in enumerate(self.num_cols):
            col, spec = df.iloc[:, j], self.specs[j]
            try:
                out[:, k] = column_numbers(col, spec)
            except (ValueError, TypeError) as exc:
                if spec.in_units or times.is_time(col.dtype) or times.is_time_of_day(col):
                    raise  # check_like_fit's and to_units' messages name the column and the fix
                raise ValueError(f"column {spec.name!r} was numeric at fit but now holds "
                                 f"non-numeric values ({exc}); clean it or refit") from None
        return out

    def standardize(self, j: int, values: np.ndarray) -> np.ndarray:
        """Values of numeric column j (its units) in the standardized units the model sees."""
        spec = self.specs[j]
        return (self._forward_transform(values, spec) - spec.mean) / spec.std

    def bin_edges(self, enc: EncodedTable, steps: dict[int, float]) -> np.ndarray:
        """Edges of the bin [x - step/2, x + step/2] around each numeric cell, in the standardized
        units the model sees: (n, n_num, 2). Columns without a step get empty bins (both edges at
        the value). After ``log1p`` the bins are lopsided, and a lower edge below -1 is far out
        (-1e4 standard deviations, finite so that gradients stay finite)."""
        out = np.repeat(enc.num[:, :, None], 2, axis=2).astype(np.float64)
        for j, step in steps.items():
            k = self.num_cols.index(j)
            spec = self.specs[j]
            x = self._inverse_transform(enc.num[:, k].astype(np.float64) * spec.std + spec.mean, spec)
            for side, edge in enumerate((x - 0.5 * step, x + 0.5 * step)):
                if spec.transform == "log1p":
                    t = np.log1p(np.maximum(edge, -1.0 + 1e-12))
                    out[:, k, side] = np.where(edge > -1.0, (t - spec.mean) / spec.std, -1e4)
                else:
                    out[:, k, side] = (edge - spec.mean) / spec.std
        return out.astype(np.float32)

    # ------------------------------------------------------------------ decoding
    def numeric_to_original(self, j: int, z: np.ndarray, round_integers: bool = True) -> np.ndarray:
        """Standardized values of column j back to its units, clipped to the observed range
        (and rounded for integer columns unless ``round_integers`` is False)."""
        spec = self.specs[j]
        values = self._inverse_transform(z.astype(np.float64) * spec.std + spec.mean, spec)
        if spec.lower is not None:
            values = np.clip(values, spec.lower, spec.upper)
        if spec.kind == "integer" and round_integers:
            values = np.round(values)
        return values

    def fill(self, df: pd.DataFrame, enc: EncodedTable, num: np.ndarray, bins: np.ndarray,
             cat: np.ndarray) -> pd.DataFrame:
        """Copy of ``df`` with cells missing in ``enc.mask`` set from model outputs.

        ``num`` holds standardized values, ``bins`` the model's Bernoulli channels (binary
        columns, then each zero-mass column's probability of being nonzero; a binary column
        takes its value 1 above 0.5) and ``cat`` category codes; observed cells are left
        untouched, so they come back bit for bit. A zero-mass cell gets P(nonzero) times the
        value where nonzero: the mean of the mixture (a 0/1 draw gives a draw from it).
        """
        out = df.copy()
        dtypes = df.dtypes
        floats = []  # float64 columns, filled in one assignment: a setitem per column was most
        # of a small table's transform time
        for j, spec in enumerate(self.specs):
            missing = ~enc.mask[:, j]
            if not missing.any():
                continue
            rows = np.flatnonzero(missing)
            if spec.kind in NUMERIC_KINDS and spec.zero_mass:
                p = bins[rows, len(self.bin_cols) + self.zero_cols.index(j)]
                values = p * self.numeric_to_original(j, num[rows, self.num_cols.index(j)], round_integers=False)
                if spec.kind == "integer":
                    values = np.round(values)
            elif spec.kind in NUMERIC_KINDS:
                values = self.numeric_to_original(j, num[rows, self.num_cols.index(j)])
            elif spec.kind == "binary":
                codes = (bins[rows, self.bin_cols.index(j)] > 0.5).astype(np.int64)
                values = np.array(spec.categories, dtype=object)[codes]
            else:
                codes = cat[rows, self.cat_cols.index(j)]
                values = np.array(spec.categories, dtype=object)[codes]
            if dtypes.iloc[j] == np.float64:
                floats.append((j, rows, values))
            else:
                out.iloc[rows, j] = self._cast_like(out.iloc[:, j], values, spec)
        if floats:
            cols = [j for j, _, _ in floats]
            block = out.iloc[:, cols].to_numpy(dtype=np.float64, copy=True)
            for k, (_, rows, values) in enumerate(floats):
                block[rows, k] = values
            out.iloc[:, cols] = block
        return out

    @staticmethod
    def _cast_like(col: pd.Series, values: np.ndarray, spec: ColumnSpec):
        dtype = col.dtype
        if spec.time:  # steps since the origin, back to dates or durations
            return times.from_units(values, spec.time, dtype).array
        if spec.decimal:  # whole units of the last place, back to decimals
            return decimals.from_units(values, spec.decimal, dtype).array
        if pd.api.types.is_integer_dtype(dtype):  # rounded: a column declared continuous holds fractions
            return np.rint(np.asarray(values, dtype=np.float64)).astype(np.int64)
        if pd.api.types.is_float_dtype(dtype):
            return np.asarray(values, dtype=dtype.numpy_dtype if hasattr(dtype, "numpy_dtype") else dtype)
        if pd.api.types.is_bool_dtype(dtype):
            return np.asarray(values, dtype=bool)
        return values
