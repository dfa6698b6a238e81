"""Tables larger than any in ../shared/data: fit time and accuracy as the rows grow.

No public table here has more than adult's 48,842 rows, so the large tables are synthetic and
adult-like: a VAECompressor fitted to adult (no bound, rate_weight 0.01) draws n rows with
adult's columns and dtypes (``sample``). 30% of cells are hidden (MCAR, fixed seed); each
imputer fills the whole table (``fit_transform``, timed) and is scored as in bench_impute.py
(RMSE on hidden numeric cells in standardized units, accuracy on hidden categorical cells). VAEImputer
runs with its own plan (``max_epochs="auto"``: at most ~2M row visits) and, with ``--epochs``,
with fixed epochs beside it (20 is the plan before the cap); the peers are mean/mode and
IterativeImputer with BayesianRidge (KNN and the MissForest-like peer take hours at these
sizes). Read the time ratios, not the seconds: these machines are shared.

A caveat: rows drawn from a VAE have the structure the imputer's model assumes, which may
flatter it against the peers and make fewer epochs enough.

Usage: python benchmarks/bench_large.py [--rows 150000,400000] [--epochs 20] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table, write_json  # noqa: E402
from bench_impute import load, methods  # noqa: E402

from vaetools import VAECompressor, VAEImputer  # noqa: E402
from vaetools.evaluation import hide_cells, score_imputation  # noqa: E402


def adult_like(n_rows: int, seed: int):
    """n synthetic rows with adult's columns and dtypes, drawn from a VAE fitted to adult."""
    adult = load("adult")
    if adult is None:
        return None
    generator = VAECompressor(error_bound=None, rate_weight=0.01, max_epochs=60, random_state=seed).fit(adult)
    return generator.sample(n_rows, random_state=seed + 1).astype(adult.dtypes.to_dict())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", default="150000,400000", help="comma list of table sizes")
    p.add_argument("--epochs", default="20", help="VAEImputer fixed epochs to run beside its plan ('' for none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore", message=r"\[IterativeImputer\] Early stopping")
    peers = methods(args.seed, quick=True)
    fixed = [int(e) for e in args.epochs.split(",") if e]

    rows, skipped = [], []
    print(f"# large-table benchmark; machine: {machine()}\n")
    for n in (int(r) for r in args.rows.split(",")):
        df = adult_like(n, args.seed)
        if df is None:
            skipped.append("adult: ../shared/data absent (the generator is fitted to it)")
            break
        holey = hide_cells(df, 0.3, "mcar", random_state=args.seed)
        runs = [("mean/mode", peers["mean/mode"]), ("iterative_bayesridge", peers["iterative_bayesridge"]),
                (f"vaeimputer auto ({VAEImputer()._epochs(n)} epochs)", lambda: VAEImputer(random_state=args.seed))]
        runs += [(f"vaeimputer {e} epochs", lambda e=e: VAEImputer(random_state=args.seed, max_epochs=e))
                 for e in fixed]
        for name, make in runs:
            start = time.perf_counter()
            filled = make().fit_transform(holey)
            seconds = time.perf_counter() - start
            score = score_imputation(df, holey, filled)
            rows.append({"rows": n, "method": name, "rmse": score["rmse"], "accuracy": score["accuracy"],
                         "seconds": seconds})
            print(f"n={n} {name}: RMSE {score['rmse']:.4f} accuracy {score['accuracy']:.4f} "
                  f"fit+transform {seconds:.1f}s", flush=True)
        auto = next(r for r in rows if r["rows"] == n and r["method"].startswith("vaeimputer auto"))
        for r in rows:
            if r["rows"] == n:
                r["time_vs_vae_auto"] = r["seconds"] / auto["seconds"]

    print()
    print_table(rows, [("rows", "rows", "d"), ("method", "method", "s"), ("rmse", "RMSE", ".4f"),
                       ("accuracy", "accuracy", ".4f"), ("seconds", "fit+transform s", ".1f"),
                       ("time_vs_vae_auto", "time / VAE auto", ".2f")])
    for s in skipped:
        print(f"skipped: {s}")
    write_json("bench_large", {"machine": machine(), "args": vars(args), "rows": rows, "skipped": skipped},
               args.json)


if __name__ == "__main__":
    main()
