"""How precisely each direction estimator recovers latent directions that are known exactly.

Runs ``find_direction`` with each ``method`` on the analytic generators of
``latentatlas.analysis.direction_bench`` (a blob whose position, background level, size and
angle follow five latent directions through linear or saturating responses, orthogonal or
oblique, with or without a convolution; the other latent directions do nothing) and prints per
case and transformation: the cosine between the found and the true direction, the control spread
(mean over α of the standard deviation of the measured factor at fixed α) and the central
calibration error (|α| ≤ 2).

    python benchmarks/direction_bench.py            # 256 trajectories, the paper's 50 steps
    python benchmarks/direction_bench.py --quick    # seconds (the tests)
"""

from __future__ import annotations

import argparse
import time

from latentatlas.analysis.direction_bench import FACTORS, KnownDirectionsGenerator
from latentatlas.analysis.direction_estimators import METHODS, cosine
from latentatlas.analysis.direction_search import find_direction

CASES = {
    "linear": {"response": "linear"},
    "saturating": {"response": "saturating"},
    "oblique": {"response": "saturating", "oblique": True},
    "conv": {"response": "saturating", "conv": True},
}


def run_case(case: str, transformation: str, method: str, quick: bool, seed: int) -> dict:
    generator = KnownDirectionsGenerator(**CASES[case], size=16 if quick else 32, seed=seed)
    search = find_direction(
        generator,
        transformation,
        n=16 if quick else 256,
        steps=10 if quick else 50,
        fit_steps=50 if quick else 3000,
        traversals=8 if quick else 50,
        method=method,
        seed=seed,
    )
    evaluation = search.evaluation
    return {
        "cosine": cosine(search.direction.u, generator.directions[transformation]),
        "spread": float(evaluation.std.mean()),
        "calibration": evaluation.calibration_error(2.0),
        "seconds": search.seconds,
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--factors", nargs="+", default=list(FACTORS), choices=list(FACTORS))
    args = parser.parse_args(argv)
    rows = []
    print("| case | transformation | method | cosine | spread | calibration (|α| ≤ 2) | s |")
    print("|---|---|---|---|---|---|---|")
    t0 = time.perf_counter()
    for case in args.cases:
        for factor in args.factors:
            for method in METHODS:
                row = run_case(case, factor, method, args.quick, args.seed)
                rows.append({"case": case, "transformation": factor, "method": method, **row})
                print(
                    f"| {case} | {factor} | {method} | {row['cosine']:.3f} | "
                    f"{row['spread']:.4f} | {row['calibration']:.4f} | {row['seconds']:.1f} |",
                    flush=True,
                )
    for method in METHODS:
        cosines = [r["cosine"] for r in rows if r["method"] == method]
        print(f"{method}: lowest cosine {min(cosines):.3f}, mean {sum(cosines) / len(cosines):.3f}")
    print(f"total {time.perf_counter() - t0:.0f} s")
    return rows


if __name__ == "__main__":
    main()
