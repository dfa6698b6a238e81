"""The main job, end to end (``make demo``): hide 30% of a real table's cells, impute them with
VAEImputer and with scikit-learn's imputers, and print accuracy and time side by side; then
compress the complete table to .vtz with and without an error bound."""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def main(argv=None) -> None:
    from sklearn.ensemble import ExtraTreesRegressor
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer
    from sklearn.linear_model import BayesianRidge

    from vaetools import VAEImputer, datasets, ops
    from vaetools.evaluation import AsNumbers, MeanMode, hide_cells, score_imputation

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="abalone", choices=datasets.NAMES)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    df = datasets.load(args.dataset)
    holey = hide_cells(df, args.rate, "mcar", random_state=args.seed)
    print(f"dataset: {args.dataset} ({df.shape[0]} rows x {df.shape[1]} columns, bundled with vaetools)")
    print(f"hid {int(holey.isna().sum().sum() - df.isna().sum().sum())} cells ({args.rate:.0%} MCAR, "
          f"seed {args.seed}); fused op backend: {ops.backend('cpu')}\n")
    imputers = {
        "VAEImputer": lambda: VAEImputer(random_state=args.seed, verbose=1),
        "mean / mode": MeanMode,
        "KNNImputer": lambda: AsNumbers(lambda: KNNImputer(n_neighbors=5)),
        "IterativeImputer (BayesianRidge)": lambda: AsNumbers(
            lambda: IterativeImputer(BayesianRidge(), max_iter=10, random_state=args.seed)),
        "IterativeImputer (ExtraTrees, MissForest-like)": lambda: AsNumbers(lambda: IterativeImputer(
            ExtraTreesRegressor(n_estimators=10, random_state=args.seed, n_jobs=-1), max_iter=10,
            random_state=args.seed)),
    }
    rows = []
    for name, make in imputers.items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = make().fit_transform(holey)
        elapsed = time.perf_counter() - start
        rows.append((name, score_imputation(df, holey, out), elapsed))
    best = min(r[1]["rmse"] for r in rows)
    print(f"\n{'imputer':48s} {'RMSE (std units)':>17s} {'cat. accuracy':>14s} {'time s':>8s}")
    for name, sc, t in rows:
        acc = "-" if sc["accuracy"] is None else f"{sc['accuracy']:.3f}"
        mark = " *" if np.isclose(sc["rmse"], best) else ""
        print(f"{name:48s} {sc['rmse']:17.4f} {acc:>14s} {t:8.2f}{mark}")
    print("\nRMSE over hidden numeric cells, each column in units of its standard deviation; "
          "accuracy over hidden categorical cells; * lowest RMSE.")
    compression_summary(df, args.seed)


def compression_summary(df, seed: int) -> None:
    """Compress the complete table to .vtz with and without an error bound, against plain sizes."""
    import gzip
    import tempfile
    from pathlib import Path

    from vaetools import VAECompressor, decompress

    print(f"\ncompression of the complete table ({df.shape[0]} rows x {df.shape[1]} columns):")
    csv = df.to_csv(index=False).encode()
    raw = df.shape[0] * df.shape[1] * 4
    rows = [("raw float32", raw, "-", "-"), ("CSV", len(csv), "lossless", "-"),
            ("CSV + gzip -9", len(gzip.compress(csv, 9)), "lossless", "-")]
    start = time.perf_counter()
    comp = VAECompressor(error_bound=0.01, random_state=seed).fit(df)  # trained for the 1% files
    fit_s = time.perf_counter() - start
    numeric = [c for c in df.columns if pd_numeric(df[c])]
    with tempfile.TemporaryDirectory() as tmp:
        for bound in (None, 0.01):
            path = Path(tmp) / "table.vtz"
            comp.compress(df, path, error_bound=bound, overwrite=True)
            back = decompress(path)
            worst = max(float((back[c] - df[c]).abs().max() / (df[c].max() - df[c].min())) for c in numeric)
            exact = all(same_cells(back[c], df[c]) for c in df.columns if c not in numeric)
            label = "VAECompressor, no bound" if bound is None else f"VAECompressor, bound {bound:.0%} of range"
            rows.append((label, path.stat().st_size, f"max err {worst:.2%} of range", "exact" if exact else "NOT exact"))
    print(f"{'format':40s} {'bytes':>9s} {'vs float32':>10s}  {'numeric':26s} categorical")
    for name, size, num, cat in rows:
        print(f"{name:40s} {size:9d} {raw / size:9.1f}x  {num:26s} {cat}")
    print(f"(VAECompressor fit {fit_s:.1f}s; `vaetools compress IN -o OUT.vtz --error-bound 0.01` does the same)")


def same_cells(a, b) -> bool:
    """Equal values and equal missing cells (NaN == NaN here, unlike ``==``)."""
    observed = b.notna()
    return bool((a.isna() == ~observed).all() and (a[observed] == b[observed]).all())


def pd_numeric(col) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype)


if __name__ == "__main__":
    main()
