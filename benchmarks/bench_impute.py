"""VAEImputer against the imputers people use today, side by side on real tables.

Cells are hidden with a fixed seed (MCAR 30% and 50%, MAR, MNAR self-masking); each imputer
fills them; we score RMSE on hidden numeric cells in standardized units and accuracy on hidden
categorical cells, and time fit+transform. Peers get the table as numbers, numeric columns
standardized and categorical columns as ordinal codes (rounded and clipped back), which is how
they are commonly used on mixed data; mean/mode gets the table as is.

Usage: python benchmarks/bench_impute.py [--datasets a,b] [--scenarios mcar30,...] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table, write_json  # noqa: E402

from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.ensemble import ExtraTreesRegressor  # noqa: E402
from sklearn.experimental import enable_iterative_imputer  # noqa: E402,F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer  # noqa: E402
from sklearn.linear_model import BayesianRidge  # noqa: E402

from vaetools import VAEImputer  # noqa: E402
from vaetools.evaluation import AsNumbers, MeanMode, hide_cells, score_imputation  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATASETS = ["breast_cancer", "wine_quality_red", "concrete", "abalone", "penguins", "adult"]
SCENARIOS = {"mcar30": ("mcar", 0.3), "mcar50": ("mcar", 0.5), "mar30": ("mar", 0.3), "mnar30": ("mnar", 0.3)}
KNN_MAX_ROWS = 20000


def load(name: str) -> pd.DataFrame | None:
    if name == "breast_cancer":
        return load_breast_cancer(as_frame=True).data
    path = SHARED / f"{name}.csv.gz"
    return pd.read_csv(path) if path.exists() else None


def holey_tables(datasets: str, scenarios: str, seed: int, skipped: list):
    """(dataset, scenario, table, table with cells hidden) for comma-separated names; a dataset
    whose file is absent is noted in ``skipped``."""
    for name in datasets.split(","):
        df = load(name)
        if df is None:
            skipped.append(f"{name}: ../shared/data absent")
            continue
        for scen in scenarios.split(","):
            mech, rate = SCENARIOS[scen]
            yield name, scen, df, hide_cells(df, rate, mech, random_state=seed)


def methods(seed: int, quick: bool):
    m = {
        "mean/mode": lambda: MeanMode(),
        "knn": lambda: AsNumbers(lambda: KNNImputer(n_neighbors=5)),
        "iterative_bayesridge": lambda: AsNumbers(lambda: IterativeImputer(BayesianRidge(), max_iter=10,
                                                                               random_state=seed)),
        "missforest_like": lambda: AsNumbers(lambda: IterativeImputer(
            ExtraTreesRegressor(n_estimators=10, random_state=seed, n_jobs=-1),  # as in sklearn's example
            max_iter=10, random_state=seed)),
        "vaeimputer": lambda: VAEImputer(random_state=seed),  # device="auto": the GPU where there is one
    }
    if torch.cuda.is_available():  # the same fit on the CPU beside it: what the GPU buys
        m["vaeimputer_cpu"] = lambda: VAEImputer(random_state=seed, device="cpu")
    return m


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--methods", default=None, help="comma list; default all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="fewer trees for the MissForest-like peer")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    all_methods = methods(args.seed, args.quick)
    chosen = args.methods.split(",") if args.methods else list(all_methods)
    rows, skipped = [], []
    print(f"# imputation benchmark; machine: {machine()}\n")
    for name, scen, df, holey in holey_tables(args.datasets, args.scenarios, args.seed, skipped):
        for meth in chosen:
            if meth == "knn" and len(df) > KNN_MAX_ROWS:
                skipped.append(f"{name}/{scen}/knn: {len(df)} rows > {KNN_MAX_ROWS} (O(n^2) distances)")
                continue
            start = time.perf_counter()
            imputer = all_methods[meth]()
            if isinstance(imputer, VAEImputer):
                imputer.fit(holey)
                fit_s = time.perf_counter() - start
                t0 = time.perf_counter()
                out = imputer.transform(holey)
                transform_s = time.perf_counter() - t0
            else:
                out = imputer.fit_transform(holey)
                fit_s, transform_s = None, None
            total = time.perf_counter() - start
            sc = score_imputation(df, holey, out)
            row = {"dataset": name, "rows": len(df), "scenario": scen, "method": meth, "time_s": total, **sc}
            if fit_s is not None:
                row.update(fit_s=fit_s, transform_s=transform_s,
                           transform_rows_per_s=len(df) / transform_s, epochs=len(imputer.history_))
            rows.append(row)
            print(f"  {name:16s} {scen:7s} {meth:22s} rmse={sc['rmse'] if sc['rmse'] is None else round(sc['rmse'], 4)} "
                  f"acc={sc['accuracy'] if sc['accuracy'] is None else round(sc['accuracy'], 4)} time={total:.2f}s",
                  flush=True)
    # relative columns: each method against the best peer in its (dataset, scenario)
    df_rows = pd.DataFrame(rows)
    for (d, s), g in df_rows.groupby(["dataset", "scenario"]):
        rmse_min = g["rmse"].min()
        mf = g.loc[g["method"] == "missforest_like", "time_s"]
        for i in g.index:
            rows[i]["rmse_rank"] = int((g["rmse"] < rows[i]["rmse"] - 1e-12).sum() + 1) if rows[i]["rmse"] is not None else None
            rows[i]["rmse_over_best"] = rows[i]["rmse"] / rmse_min if rows[i]["rmse"] is not None else None
            rows[i]["missforest_time_over_this"] = float(mf.iloc[0]) / rows[i]["time_s"] if len(mf) else None
    print()
    print_table(rows, [("dataset", "dataset", "s"), ("scenario", "scenario", "s"), ("method", "method", "s"),
                       ("rmse", "RMSE (std units)", ".4f"), ("rmse_rank", "rank", "d"),
                       ("accuracy", "cat. accuracy", ".4f"), ("time_s", "fit+transform s", ".2f"),
                       ("missforest_time_over_this", "MissForest time / this", ".1f")])
    if skipped:
        print("\nskipped: " + "; ".join(skipped))
    write_json("bench_impute", {"machine": machine(), "seed": args.seed, "rows": rows, "skipped": skipped},
               args.json)


if __name__ == "__main__":
    main()
