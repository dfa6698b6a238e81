"""Multiple imputation: do m completed tables describe the uncertainty of the hidden cells?

Rubin's rules turn m completed tables into estimates with honest confidence intervals only if
the tables differ as much as the hidden values are uncertain. Cells are hidden with a fixed seed
(as in bench_impute.py); each method draws m = 19 completed tables; we score, on the hidden
numeric cells, the share whose true value lies within the range of its 19 draws (0.90 for draws
from the right distribution; lower: too narrow, intervals too short) and that range's width in
standardized units, and on hidden categorical cells the Brier score of the draws' frequencies.
RMSE of the draws' mean is there for context. Peers: MICE as scikit-learn documents it,
``IterativeImputer(sample_posterior=True)`` fitted once per draw with its own seed (BayesianRidge;
numeric columns standardized, categorical ones as ordinal codes); VAEImputer fits once and draws
by sampling importance resampling (``multiple_imputations``).

Usage: python benchmarks/bench_multiple.py [--datasets a,b] [--scenarios mcar30,...] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table, write_json  # noqa: E402
from bench_impute import DATASETS, holey_tables  # noqa: E402

from sklearn.experimental import enable_iterative_imputer  # noqa: E402,F401
from sklearn.impute import IterativeImputer  # noqa: E402
from sklearn.linear_model import BayesianRidge  # noqa: E402

from vaetools import VAEImputer  # noqa: E402
from vaetools.evaluation import AsNumbers, score_imputation, score_multiple_imputations  # noqa: E402

M = 19  # draws: the truth then falls outside their range 2 times in 20


def mice(holey: pd.DataFrame, seed: int) -> list[pd.DataFrame]:
    return [AsNumbers(lambda i=i: IterativeImputer(BayesianRidge(), sample_posterior=True, max_iter=10,
                                                   random_state=seed + i)).fit_transform(holey)
            for i in range(M)]


def vae(holey: pd.DataFrame, seed: int) -> list[pd.DataFrame]:
    return VAEImputer(random_state=seed).fit(holey).multiple_imputations(holey, m=M, random_state=seed)


METHODS = {"mice_bayesridge": mice, "vaeimputer": vae}


def mean_of_draws(draws: list[pd.DataFrame], holey: pd.DataFrame) -> pd.DataFrame:
    """The pooled point estimate: the draws' mean for numeric cells, their mode for the others."""
    out = draws[0].copy()
    for c in holey.columns:
        miss = holey[c].isna().to_numpy()
        if not miss.any():
            continue
        values = np.stack([d[c].to_numpy()[miss] for d in draws])
        if pd.api.types.is_numeric_dtype(holey[c].dtype) and not pd.api.types.is_bool_dtype(holey[c].dtype):
            out[c] = out[c].astype(float)
            out.loc[miss, c] = values.astype(float).mean(0)
        else:
            out.loc[miss, c] = pd.DataFrame(values).mode(axis=0).iloc[0].to_numpy()
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--scenarios", default="mcar30")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    rows, skipped = [], []
    print(f"# multiple imputation benchmark (m = {M}); machine: {machine()}\n")
    for name, scen, df, holey in holey_tables(args.datasets, args.scenarios, args.seed, skipped):
        for meth in args.methods.split(","):
            start = time.perf_counter()
            draws = METHODS[meth](holey, args.seed)
            seconds = time.perf_counter() - start
            sc = score_multiple_imputations(df, holey, draws)
            point = score_imputation(df, holey, mean_of_draws(draws, holey))
            rows.append({"dataset": name, "scenario": scen, "method": meth, "time_s": seconds, **sc,
                         "rmse_of_mean": point["rmse"], "accuracy_of_mode": point["accuracy"]})
            print(f"  {name:16s} {scen:7s} {meth:16s} coverage={sc['coverage']:.3f} width={sc['width']:.2f} "
                  f"brier={sc['brier'] if sc['brier'] is None else round(sc['brier'], 3)} "
                  f"rmse={point['rmse']:.3f} time={seconds:.1f}s", flush=True)
    print()
    print_table(rows, [("dataset", "dataset", "s"), ("scenario", "scenario", "s"), ("method", "method", "s"),
                       ("coverage", "coverage (0.90 calibrated)", ".3f"), ("width", "range width (std)", ".2f"),
                       ("brier", "Brier (cat.)", ".3f"), ("rmse_of_mean", "RMSE of mean", ".3f"),
                       ("time_s", f"seconds for {M} tables", ".1f")])
    if skipped:
        print("\nskipped: " + "; ".join(skipped))
    write_json("bench_multiple", {"machine": machine(), "seed": args.seed, "m": M, "rows": rows,
                                  "skipped": skipped}, args.json)


if __name__ == "__main__":
    main()
