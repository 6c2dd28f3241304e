"""How precisely each direction estimator recovers latent directions that are known exactly.

Runs ``find_direction`` with each ``method`` at its default settings on the analytic generators
of ``latentatlas.analysis.directions.bench`` (a blob whose position, mean intensity, size, angle
and contrast follow six latent directions through linear or saturating responses, orthogonal or
oblique, with or without a convolution, with or without a nonlinear coupling whose directions
are known through the Jacobian; the other latent directions do nothing) and prints per case and
transformation: the cosine between the found and the true direction, the control spread (mean
over α of the standard deviation of the measured factor at fixed α), the central calibration
error (|α| ≤ 2) and the lowest fraction of a target amount the inversions reached.

    python benchmarks/direction_bench.py            # 64×64 images, 256 trajectories
    python benchmarks/direction_bench.py --quick    # seconds (the tests)
"""

from __future__ import annotations

import argparse
import time
import warnings

from latentatlas.analysis.directions.bench import FACTORS, KnownDirectionsGenerator
from latentatlas.analysis.directions.estimators import METHODS, cosine
from latentatlas.analysis.directions.reach import OutOfReachWarning
from latentatlas.analysis.directions.search import find_direction

CASES = {
    "linear": {"response": "linear"},
    "saturating": {"response": "saturating"},
    "oblique": {"response": "saturating", "oblique": True},
    "conv": {"response": "saturating", "conv": True},
    "entangled": {"response": "saturating", "entangled": 0.6},
    "all": {"response": "saturating", "oblique": True, "conv": True, "entangled": 0.6},
}
"""Bench generators: ``all`` is oblique, convolutional and entangled at once."""


def run_case(case: str, transformation: str, method: str, quick: bool, seed: int) -> dict:
    generator = KnownDirectionsGenerator(**CASES[case], size=16 if quick else 64, seed=seed)
    quick_settings = dict(n=16, steps=10, fit_steps=50, traversals=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OutOfReachWarning)
        search = find_direction(
            generator, transformation, method=method, seed=seed, **(quick_settings if quick else {})
        )
    evaluation = search.evaluation
    return {
        "cosine": cosine(search.direction.u, generator.directions[transformation]),
        "spread": float(evaluation.std.mean()),
        "calibration": evaluation.calibration_error(2.0),
        "reached": min(search.reach.values()),
        "warned": any(issubclass(w.category, OutOfReachWarning) for w in caught),
        "seconds": search.seconds,
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--factors", nargs="+", default=list(FACTORS), choices=list(FACTORS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    args = parser.parse_args(argv)
    rows = []
    print(
        "| case | transformation | method | cosine | spread | calibration (|α| ≤ 2) | reached | s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    t0 = time.perf_counter()
    for case in args.cases:
        for factor in args.factors:
            for method in args.methods:
                row = run_case(case, factor, method, args.quick, args.seed)
                rows.append({"case": case, "transformation": factor, "method": method, **row})
                print(
                    f"| {case} | {factor} | {method} | {row['cosine']:.3f} | "
                    f"{row['spread']:.4f} | {row['calibration']:.4f} | "
                    f"{row['reached']:.0%}{' (warned)' if row['warned'] else ''} | "
                    f"{row['seconds']:.1f} |",
                    flush=True,
                )
    for method in args.methods:
        cosines = [r["cosine"] for r in rows if r["method"] == method]
        print(f"{method}: lowest cosine {min(cosines):.3f}, mean {sum(cosines) / len(cosines):.3f}")
    print(f"total {time.perf_counter() - t0:.0f} s")
    return rows


if __name__ == "__main__":
    main()
