import numpy as np
import pandas as pd
import pytest

FAST = dict(max_epochs=30, patience=5, hidden_sizes=(32, 32), n_imputation_draws=20, random_state=0)


def mixed_frame(n=300, seed=0):
    """Correlated mixed-type table: every column is predictable from the others."""
    rng = np.random.default_rng(seed)
    t = rng.normal(size=n)
    grp = np.where(t > 0.4, "high", np.where(t < -0.4, "low", "mid"))
    return pd.DataFrame({
        "x": t + 0.1 * rng.normal(size=n),
        "y": 2.0 * t + 0.1 * rng.normal(size=n) + 10.0,
        "count": np.round(3 * t + 10).astype("int64"),
        "flag": t > 0,
        "group": pd.Categorical(grp, categories=["low", "mid", "high"]),
        "label": np.where(t > 0, "pos", "neg").astype(object),
    }, index=pd.RangeIndex(1000, 1000 + n, name="row_id"))


def punch(df, rate=0.2, seed=1, protect=()):
    rng = np.random.default_rng(seed)
    out = df.copy()
    for c in df.columns:
        if c in protect:
            continue
        hide = rng.random(len(df)) < rate
        if df[c].dtype == "int64":
            out[c] = out[c].astype("Int64")
        elif df[c].dtype == bool:
            out[c] = out[c].astype("boolean")
        out.loc[hide, c] = pd.NA if not pd.api.types.is_float_dtype(out[c].dtype) else np.nan
    return out


@pytest.fixture
def frame():
    return mixed_frame()


@pytest.fixture
def holey(frame):
    return punch(frame)
