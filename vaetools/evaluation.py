"""Hide cells by a known mechanism and score imputations on them: for benchmarks and users who
want to check an imputer on their own data before trusting it."""

from __future__ import annotations

import numpy as np
import pandas as pd

MECHANISMS = ("mcar", "mar", "mnar")


def _numeric(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype)


def hide_cells(df: pd.DataFrame, rate: float, mechanism: str = "mcar", random_state: int = 0,
               observed_share: float = 0.3) -> pd.DataFrame:
    """Copy of ``df`` with about ``rate`` of its cells set missing.

    mcar: every cell independently. mar: a random ``observed_share`` of the columns stay complete
    and drive, through a random logistic model, the missingness of the others. mnar: self-masking,
    numeric cells above their column's median are more likely hidden (logistic in the value);
    categorical cells as in mcar.
    """
    if mechanism not in MECHANISMS:
        raise ValueError(f"mechanism must be one of {MECHANISMS}, got {mechanism!r}")
    if not 0 < rate < 1:
        raise ValueError(f"rate must be in (0, 1), got {rate}")
    rng = np.random.default_rng(random_state)
    n, d = df.shape
    if mechanism == "mcar":
        hide = rng.random((n, d)) < rate
    elif mechanism == "mar":
        n_obs = max(1, int(round(observed_share * d)))
        drivers = rng.choice(d, n_obs, replace=False)
        feats = []
        for j in drivers:
            col = df.iloc[:, j]
            v = col.astype(float) if _numeric(col) else pd.Series(pd.factorize(col)[0], dtype=float)
            v = v.fillna(v.mean())
            feats.append(((v - v.mean()) / (v.std() or 1.0)).to_numpy())
        F = np.stack(feats, 1)
        hide = np.zeros((n, d), dtype=bool)
        target_rate = min(0.95, rate * d / (d - n_obs))  # the overall rate stays about `rate`
        for j in range(d):
            if j in drivers:
                continue
            logits = F @ rng.normal(size=n_obs)
            logits = (logits - logits.mean()) / (logits.std() or 1.0) * 2.0
            # shift so that the column's mean missingness is target_rate
            lo, hi = -20.0, 20.0
            for _ in range(60):
                mid = (lo + hi) / 2
                if (1 / (1 + np.exp(-(logits + mid)))).mean() < target_rate:
                    lo = mid
                else:
                    hi = mid
            hide[:, j] = rng.random(n) < 1 / (1 + np.exp(-(logits + lo)))
    else:
        hide = rng.random((n, d)) < rate
        for j in range(d):
            col = df.iloc[:, j]
            if not _numeric(col):
                continue
            v = col.astype(float).to_numpy()
            z = (v - np.nanmedian(v)) / (np.nanstd(v) or 1.0)
            z = np.nan_to_num(z)
            lo, hi = -20.0, 20.0
            for _ in range(60):
                mid = (lo + hi) / 2
                if (1 / (1 + np.exp(-(2 * z + mid)))).mean() < rate:
                    lo = mid
                else:
                    hi = mid
            hide[:, j] = rng.random(n) < 1 / (1 + np.exp(-(2 * z + lo)))
    out = df.copy()
    for j in range(d):
        if hide[:, j].any():
            col = out.iloc[:, j]
            if pd.api.types.is_integer_dtype(col.dtype) and not isinstance(col.dtype, pd.api.extensions.ExtensionDtype):
                out.isetitem(j, col.astype("Int64"))
            elif pd.api.types.is_bool_dtype(col.dtype):
                out.isetitem(j, col.astype("boolean"))
            out.iloc[np.flatnonzero(hide[:, j]), j] = np.nan if pd.api.types.is_float_dtype(out.iloc[:, j].dtype) else pd.NA
    return out


def _hidden_cells(truth: pd.DataFrame, holey: pd.DataFrame):
    """Per column with hidden cells (missing in ``holey``, known in ``truth``): its name, the
    mask of those cells, their true values (floats for a numeric column, text otherwise) and
    the column's standard deviation in ``truth`` (None for a categorical column)."""
    for c in truth.columns:
        hidden = (holey[c].isna() & truth[c].notna()).to_numpy()
        if not hidden.any():
            continue
        t = truth[c].to_numpy()[hidden]
        if _numeric(truth[c]):
            yield c, hidden, t.astype(float), float(truth[c].astype(float).std()) or 1.0
        else:
            yield c, hidden, t.astype(str), None


def score_imputation(truth: pd.DataFrame, holey: pd.DataFrame, imputed: pd.DataFrame) -> dict:
    """RMSE over hidden numeric cells in standardized units (each column divided by its std in
    ``truth``) and accuracy over hidden categorical cells."""
    sq, n_num, hits, n_cat = 0.0, 0, 0, 0
    for c, hidden, t, std in _hidden_cells(truth, holey):
        p = imputed[c].to_numpy()[hidden]
        if std is not None:
            sq += float(np.sum(((p.astype(float) - t) / std) ** 2))
            n_num += t.size
        else:
            hits += int(np.sum(p.astype(str) == t))
            n_cat += t.size
    return {"rmse": float(np.sqrt(sq / n_num)) if n_num else None,
            "mse": float(sq / n_num) if n_num else None,
            "accuracy": hits / n_cat if n_cat else None,
            "hidden_numeric": n_num, "hidden_categorical": n_cat}


def score_multiple_imputations(truth: pd.DataFrame, holey: pd.DataFrame, draws: list[pd.DataFrame]) -> dict:
    """How well ``draws`` (m completed copies of ``holey``) describe the uncertainty of the hidden
    cells, which is what Rubin's rules rely on. Numeric cells: the share whose true value lies
    within the range of its m draws (for m = 19 exchangeable draws from the right distribution,
    the truth is the smallest or largest of the 20 values with probability 2/20, so 90% is the
    calibrated figure: below it the draws are too narrow and confidence intervals too short;
    ties count as inside) and that range's mean width in standardized units. Categorical cells:
    the Brier score of the draws' frequencies (0 is a sure right answer; lower is better)."""
    inside, width, n_num, brier, n_cat = 0, 0.0, 0, 0.0, 0
    for c, hidden, t, std in _hidden_cells(truth, holey):
        values = np.stack([d[c].to_numpy()[hidden] for d in draws])  # (m, cells)
        if std is not None:
            v = values.astype(float)
            low, high = v.min(0), v.max(0)
            inside += int(np.sum((low <= t) & (t <= high)))
            width += float(np.sum(high - low)) / std
            n_num += t.size
        else:
            v = values.astype(str)
            hit = (v == t).mean(0)  # the draws' frequency of the true category
            # sum over categories of (frequency - indicator)^2 = sum of squared frequencies
            # (the share of pairs of draws that agree) - 2 x the truth's frequency + 1
            agree = (v[:, None, :] == v[None, :, :]).mean((0, 1))
            brier += float(np.sum(agree - 2 * hit + 1))
            n_cat += t.size
    return {"coverage": inside / n_num if n_num else None, "width": width / n_num if n_num else None,
            "brier": brier / n_cat if n_cat else None, "draws": len(draws)}


# ---------------------------------------------------------------- baselines for mixed tables

class AsNumbers:
    """Runs a numeric sklearn imputer on a mixed table: numeric columns standardized,
    categorical ones as ordinal codes (rounded and clipped back), as such imputers are
    commonly used on mixed data. ``fit_transform`` is the imputer's own (IterativeImputer
    imputes while it fits); ``fit`` then ``transform`` imputes rows with the fitted imputer."""

    def __init__(self, make):
        self.make = make

    def _learn_encoding(self, df: pd.DataFrame) -> None:
        self.decode_ = []
        for c in df.columns:
            s = df[c]
            if _numeric(s):
                v = s.astype(float)
                self.decode_.append(("num", v.mean(), v.std() or 1.0, pd.api.types.is_integer_dtype(s.dtype)))
            else:
                self.decode_.append(("cat", pd.factorize(s)[1], None, None))

    def _to_numbers(self, df: pd.DataFrame) -> np.ndarray:
        cols = []
        for c, d in zip(df.columns, self.decode_):
            if d[0] == "num":
                cols.append(((df[c].astype(float) - d[1]) / d[2]).to_numpy())
            else:
                codes = pd.Index(d[1]).get_indexer(df[c])
                cols.append(np.where(codes < 0, np.nan, codes).astype(float))
        return np.stack(cols, 1)

    def _from_numbers(self, df: pd.DataFrame, Y: np.ndarray) -> pd.DataFrame:
        out = df.copy()
        for j, (c, d) in enumerate(zip(df.columns, self.decode_)):
            miss = df[c].isna().to_numpy()
            if not miss.any():
                continue
            if d[0] == "num":
                vals = Y[miss, j] * d[2] + d[1]
                out.loc[miss, c] = np.round(vals) if d[3] else vals
            else:
                codes = np.clip(np.round(Y[miss, j]), 0, len(d[1]) - 1).astype(int)
                out.loc[miss, c] = np.asarray(d[1], dtype=object)[codes]
        return out

    def fit(self, df: pd.DataFrame) -> "AsNumbers":
        self._learn_encoding(df)
        self.imputer_ = self.make().fit(self._to_numbers(df))
        return self

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        return self._from_numbers(df, self.imputer_.transform(self._to_numbers(df)))

    def fit_transform(self, df: pd.DataFrame) -> pd.DataFrame:
        self._learn_encoding(df)
        self.imputer_ = self.make()
        return self._from_numbers(df, self.imputer_.fit_transform(self._to_numbers(df)))


class MeanMode:
    """Mean for numeric columns (rounded for integer ones), mode for the others."""

    def fit_transform(self, df):
        out = df.copy()
        for c in df.columns:
            s = df[c]
            if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
                out[c] = s.fillna(s.mean() if not pd.api.types.is_integer_dtype(s.dtype) else round(s.mean()))
            else:
                out[c] = s.fillna(s.mode().iloc[0])
        return out
