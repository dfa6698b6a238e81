"""Speed at equal accuracy: how fast can VAEImputer match the MissForest-like peer's error?

bench_impute.py times each imputer with its defaults; VAEImputer's default plan trains until its
error stops falling, which on small tables costs more time than the trees take. This script
asks the other question: for each dataset, VAEImputer with fewer epochs (``max_epochs`` in
``--epochs``, plus its own plan), scored and timed beside IterativeImputer with ExtraTrees
(MissForest-like) and with BayesianRidge, on the same hidden cells (as in bench_impute.py).
The summary names, per dataset, the fastest VAEImputer plan whose RMSE on hidden numeric cells
is at or below MissForest-like's, and how many times faster than MissForest-like that plan is.
Plans with more epochs than the default plan's are not run (they only cost more). Read the
ratios, not the seconds: these machines are shared.

Usage: python benchmarks/bench_speed_accuracy.py [--datasets ...] [--scenario mcar30]
       [--epochs 5,10,20,40,80,160] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table, write_json  # noqa: E402
from bench_impute import DATASETS, SCENARIOS, holey_tables, methods  # noqa: E402

from vaetools import VAEImputer  # noqa: E402
from vaetools.evaluation import score_imputation  # noqa: E402

PEERS = ("missforest_like", "iterative_bayesridge")


def run(imputer, df, holey) -> dict:
    start = time.perf_counter()
    out = imputer.fit_transform(holey)
    seconds = time.perf_counter() - start
    return {"time_s": seconds, **score_imputation(df, holey, out)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--scenario", default="mcar30", choices=list(SCENARIOS))
    p.add_argument("--epochs", default="5,10,20,40,80,160", help="comma list of max_epochs to try")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    peers = methods(args.seed, quick=False)
    rows, summary, skipped = [], [], []
    print(f"# speed at equal accuracy; machine: {machine()}\n")
    for name, scen, df, holey in holey_tables(args.datasets, args.scenario, args.seed, skipped):
        found = {}
        for peer in PEERS:
            found[peer] = run(peers[peer](), df, holey)
            rows.append({"dataset": name, "method": peer, **found[peer]})
        plan = VAEImputer(random_state=args.seed)._epochs(len(df))  # the default plan's epochs
        trials = [int(e) for e in args.epochs.split(",") if int(e) < plan] + [plan]
        forest = found["missforest_like"]
        best = None
        for epochs in trials:
            label = f"vaeimputer max_epochs={epochs}" + (" (default plan)" if epochs == plan else "")
            r = run(VAEImputer(random_state=args.seed, max_epochs=epochs), df, holey)
            r["forest_time_over_this"] = forest["time_s"] / r["time_s"]
            rows.append({"dataset": name, "method": label, **r})
            if best is None and r["rmse"] <= forest["rmse"]:
                best = (epochs, r)
            print(f"  {name:16s} {label:40s} rmse={r['rmse']:.4f} time={r['time_s']:.2f}s "
                  f"MissForest-like {forest['rmse']:.4f} / {forest['time_s']:.2f}s", flush=True)
        summary.append({
            "dataset": name, "rows": len(df), "forest_rmse": forest["rmse"], "forest_s": forest["time_s"],
            "epochs": None if best is None else best[0], "vae_rmse": None if best is None else best[1]["rmse"],
            "vae_s": None if best is None else best[1]["time_s"],
            "speedup": None if best is None else best[1]["forest_time_over_this"]})
    for row in rows:
        row.setdefault("forest_time_over_this", None)
    print()
    print_table(rows, [("dataset", "dataset", "s"), ("method", "method", "s"), ("rmse", "RMSE (std units)", ".4f"),
                       ("accuracy", "cat. accuracy", ".4f"), ("time_s", "fit+transform s", ".2f"),
                       ("forest_time_over_this", "MissForest-like time / this", ".2f")])
    print("\nFastest VAEImputer plan at or below MissForest-like's RMSE ('-': none of the plans tried):\n")
    print_table(summary, [("dataset", "dataset", "s"), ("rows", "rows", "d"), ("forest_rmse", "MissForest-like RMSE", ".4f"),
                          ("forest_s", "its s", ".2f"), ("epochs", "VAE epochs", "d"), ("vae_rmse", "VAE RMSE", ".4f"),
                          ("vae_s", "VAE s", ".2f"), ("speedup", "speed-up", ".2f")])
    if skipped:
        print("\nskipped: " + "; ".join(skipped))
    write_json("bench_speed_accuracy", {"machine": machine(), "seed": args.seed, "scenario": args.scenario,
                                        "rows": rows, "summary": summary, "skipped": skipped}, args.json)


if __name__ == "__main__":
    main()
