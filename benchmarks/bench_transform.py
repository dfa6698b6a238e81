"""Imputing with an imputer already fitted: rows per second of ``transform``, side by side.

VAEImputer fills new rows without refitting, as do sklearn's KNNImputer and IterativeImputer;
this times that step. Each imputer is fitted once on the table with 30% of its cells hidden
(MCAR, fixed seed), then ``transform`` runs on the same table ``--repeat`` times and the median
counts. VAEImputer runs at several numbers of imputation draws (``n_imputation_draws``, the
default 32 marked), refitted for none of them, so the table shows what each draw count costs and
what it buys in RMSE, each with the decoder in float32 and in bfloat16 (``inference_precision``;
"auto" picks bfloat16 where the CPU has bfloat16 matrix instructions, which the JSON records).
Ratios compare against the MissForest-like peer's transform on the same table in the same run
(these machines are shared and noisy: read ratios, not seconds).

Usage: python benchmarks/bench_transform.py [--datasets a,b] [--draws 8,16,32] [--precisions float32,bfloat16] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table, timeit, write_json  # noqa: E402
from bench_impute import DATASETS, KNN_MAX_ROWS, load, methods  # noqa: E402

from vaetools import VAEImputer  # noqa: E402
from vaetools.evaluation import hide_cells, score_imputation  # noqa: E402
from vaetools.model import fast_bfloat16  # noqa: E402

PEERS = ["knn", "iterative_bayesridge", "missforest_like"]
DEFAULT_DRAWS = VAEImputer().n_imputation_draws


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--draws", default="8,16,32", help="VAEImputer n_imputation_draws to time")
    p.add_argument("--precisions", default="float32,bfloat16",
                   help="VAEImputer inference_precision values to time at each draw count")
    p.add_argument("--methods", default=None,
                   help=f"comma list of {', '.join(PEERS)}, vaeimputer (and vaeimputer_cpu with a GPU); default all")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore", message=r"\[IterativeImputer\] Early stopping")  # at fit, not our concern here
    draws = [int(d) for d in args.draws.split(",")]
    precisions = args.precisions.split(",")
    chosen = args.methods.split(",") if args.methods else [m for m in methods(args.seed, quick=False) if m != "mean/mode"]

    rows, skipped = [], []
    print(f"# transform benchmark; machine: {machine()}\n")
    for name in args.datasets.split(","):
        df = load(name)
        if df is None:
            skipped.append(f"{name}: ../shared/data absent")
            continue
        holey = hide_cells(df, 0.3, "mcar", random_state=args.seed)
        fitted = []
        for meth in chosen:
            if meth == "knn" and len(df) > KNN_MAX_ROWS:
                skipped.append(f"{name}/knn: {len(df)} rows > {KNN_MAX_ROWS} (O(n^2) distances)")
                continue
            start = time.perf_counter()
            imputer = methods(args.seed, quick=False)[meth]().fit(holey)
            fit_s = time.perf_counter() - start
            settings = [(f"{meth} draws={d} {prec}" + (" (default draws)" if d == DEFAULT_DRAWS else ""),
                         {"n_imputation_draws": d, "inference_precision": prec})
                        for d in draws for prec in precisions] if meth.startswith("vaeimputer") else [(meth, None)]
            for label, params in settings:
                if params:
                    imputer.set_params(**params)
                out = imputer.transform(holey)  # the warm-up run, scored
                seconds = timeit(lambda: imputer.transform(holey), repeat=args.repeat, warmup=0)
                sc = score_imputation(df, holey, out)
                fitted.append({"dataset": name, "rows": len(df), "method": label, "fit_s": fit_s,
                               "transform_s": seconds, "rows_per_s": len(df) / seconds, **sc})
                print(f"  {name:16s} {label:44s} {len(df) / seconds:10.0f} rows/s  rmse={sc['rmse']:.4f}", flush=True)
        mf = [r["rows_per_s"] for r in fitted if r["method"] == "missforest_like"]
        for r in fitted:
            r["speed_over_missforest"] = r["rows_per_s"] / mf[0] if mf else None
        rows += fitted
    print()
    print_table(rows, [("dataset", "dataset", "s"), ("method", "method", "s"),
                       ("rows_per_s", "transform rows/s", ",.0f"),
                       ("speed_over_missforest", "speed / MissForest-like", ".2f"),
                       ("rmse", "RMSE (std units)", ".4f"), ("accuracy", "cat. accuracy", ".4f")])
    if skipped:
        print("\nskipped: " + "; ".join(skipped))
    write_json("bench_transform", {"machine": machine(), "fast_bfloat16": fast_bfloat16(), "seed": args.seed,
                                   "repeat": args.repeat,
                                   "rows": rows, "skipped": skipped}, args.json)


if __name__ == "__main__":
    main()
