"""Disentanglement metrics: the time of each at the standard sample sizes, and three of them
against a straightforward reference implementation, ratios measured side by side in one run.

The data are dSprites-like factors (shape 3, scale 6, orientation 40, x 32, y 32 values) whose
observation is the factor vector itself, and the representation a fixed random mixing of the
factors into 10 codes with a little noise: the time measured is the metrics' own work, not an
encoder's. Each metric's number of encoded observations is printed too — multiply by your
encoder's cost per image to get the full time for a trained model.

* MIG on 10 000 points: all mutual informations from one product of one-hot matrices vs
  ``sklearn.metrics.mutual_info_score`` for each (code, factor) pair.
* FactorVAE score (10 000 + 5 000 votes): batches rendered and encoded 64 votes at a time vs one
  vote (one batch of 64) at a time.
* DCI (10 000 / 5 000 points): LightGBM's histogram trees on all cores (the default) vs the
  study's estimator, scikit-learn's ``GradientBoostingClassifier`` with the factors fitted in
  parallel processes (the ``study`` preset), with both scores.
* Thread oversubscription: the small batches that BetaVAE and FactorVAE draw thousands of times,
  with every core busy with another process, with torch's default threads vs one thread.

    python benchmarks/metrics.py            # the standard sizes
    python benchmarks/metrics.py --quick    # a tenth (used by the tests)
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from sklearn.metrics import mutual_info_score

from latentatlas.analysis.metrics import METRICS, GroundTruth, dci_from_importance, evaluate_metrics
from latentatlas.analysis.metrics.dci import importance_matrix
from latentatlas.analysis.metrics.ground_truth import discretize, encode_all
from latentatlas.analysis.metrics.information import mig_from, mutual_information
from latentatlas.analysis.metrics.interventional import PRUNE_THRESHOLD, factor_vae_score
from latentatlas.data.base import Batch, FactorDataset
from latentatlas.data.factors import Factor, FactorSpace

SPACE = FactorSpace(
    [
        Factor("shape", 1, 3, size=3, labels=("square", "ellipse", "heart")),
        Factor("scale", 0.5, 1.0, size=6),
        Factor("orientation", 0, 2 * np.pi, size=40, periodic=True),
        Factor("x", 0, 1, size=32),
        Factor("y", 0, 1, size=32),
    ]
)
MIXING = torch.randn(5, 10, generator=torch.Generator().manual_seed(0))


class FactorVectors(FactorDataset):
    factor_space = SPACE

    def __len__(self) -> int:
        return SPACE.num_combinations

    @property
    def observation_shape(self):
        return (5,)

    def render(self, factors):
        return torch.as_tensor(factors, dtype=torch.float32)

    def get_batch(self, indices):
        values = SPACE.index_to_values(indices)
        return Batch(self.render(values), values)


def represent(x: torch.Tensor) -> torch.Tensor:
    noise = torch.randn(len(x), 10, generator=torch.Generator().manual_seed(len(x)))
    return x @ MIXING + 0.05 * noise


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def reference_factor_vae(gt, num_train, num_eval, num_var, seed=0) -> float:
    """One vote at a time: render and encode one batch of 64 per vote."""
    g = torch.Generator().manual_seed(seed)
    x, _, _ = gt.sample(num_var, g)
    scale = encode_all(represent, x).std(axis=0, ddof=1)
    active = np.flatnonzero(scale >= PRUNE_THRESHOLD)

    def votes(n):
        table = np.zeros((gt.num_factors, len(scale)), dtype=np.int64)
        for k in torch.randint(gt.num_factors, (n,), generator=g).numpy():
            codes = encode_all(represent, gt.sample_fixed(np.array([k]), 64, g))
            v = (codes[:, active] / scale[active]).var(axis=0, ddof=1)
            table[k, active[v.argmin()]] += 1
        return table

    train, evaluation = votes(num_train), votes(num_eval)
    best = train.argmax(0)
    return float(evaluation[best, np.arange(len(scale))].sum() / evaluation.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes (seconds)")
    args = parser.parse_args()
    div = 10 if args.quick else 1
    data = FactorVectors()
    gt = GroundTruth(data)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; sizes / {div}")

    print("\nEach metric at the standard sizes of Locatello et al. (2019) (standard preset):")
    total = 0.0
    for name, metric in METRICS.items():
        settings = {k: v // div if k.startswith("num_") else v for k, v in metric.standard.items()}
        fn = metric.function
        t, scores = timed(
            lambda fn=fn, s=settings, sup=metric.supervised: fn(gt if sup else data, represent, **s)
        )
        total += t
        main_score = next(iter(scores.items()))
        print(f"  {name:<13}{t:7.2f} s   {main_score[0]} = {main_score[1]:.3f}")
    print(f"  all metrics  {total:7.2f} s")
    _ = evaluate_metrics  # the same functions evaluate_metrics runs

    n = 10_000 // div
    x, _, labels = gt.sample(n, torch.Generator().manual_seed(1))
    codes = encode_all(represent, x)
    discrete = discretize(codes, 20)
    t_ours, m = timed(lambda: mutual_information(discrete, labels))
    t_ref, m_ref = timed(
        lambda: np.array(
            [[mutual_info_score(labels[:, j], discrete[:, i]) for j in range(5)] for i in range(10)]
        )
    )
    print(
        f"\nMIG, {n} points: mutual informations one-hot product {t_ours:.4f} s, sklearn per pair "
        f"{t_ref:.4f} s, ratio reference/ours: {t_ref / t_ours:.1f}, "
        f"agree: {np.allclose(m, m_ref, atol=1e-10)}; MIG = {mig_from(codes, labels).mean():.3f}"
    )

    sizes = (10_000 // div, 5_000 // div, 10_000 // div)
    t_ours, ours = timed(lambda: factor_vae_score(gt, represent, 64, *sizes)["factor_vae"])
    t_ref, ref = timed(lambda: reference_factor_vae(gt, *sizes))
    print(
        f"FactorVAE, {sizes[0]} + {sizes[1]} votes: chunked {t_ours:.2f} s, one vote at a time "
        f"{t_ref:.2f} s, ratio reference/ours: {t_ref / t_ours:.1f} (scores {ours:.3f} / {ref:.3f})"
    )

    g = torch.Generator().manual_seed(2)
    x_train, _, l_train = gt.sample(10_000 // div, g)
    x_test, _, l_test = gt.sample(5_000 // div, g)
    c_train, c_test = encode_all(represent, x_train), encode_all(represent, x_test)
    args = (c_train, l_train, c_test, l_test, -1)
    t_ours, (r_ours, _, acc_ours) = timed(lambda: importance_matrix(*args, "lightgbm"))
    t_ref, (r_ref, _, acc_ref) = timed(lambda: importance_matrix(*args, "sklearn"))
    ours, ref = dci_from_importance(r_ours), dci_from_importance(r_ref)
    print(
        f"DCI, {len(c_train)} / {len(c_test)} points: LightGBM trees {t_ours:.1f} s, the study's "
        f"scikit-learn trees (factors in parallel processes) {t_ref:.1f} s, ratio reference/ours: "
        f"{t_ref / t_ours:.1f}; disentanglement {ours['dci_disentanglement']:.3f} / "
        f"{ref['dci_disentanglement']:.3f}, completeness {ours['dci_completeness']:.3f} / "
        f"{ref['dci_completeness']:.3f}, informativeness (test) {acc_ours:.3f} / {acc_ref:.3f}, "
        f"largest importance difference {np.abs(r_ours - r_ref).max():.3f}"
    )
    oversubscription(gt, div)


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def oversubscription(gt: GroundTruth, div: int) -> None:
    """The BetaVAE score's batches (64 points × 64 pairs per call) on a machine whose cores are
    all busy with other processes: torch's default threads vs one thread (what the library's
    sampling uses, ``latentatlas.threads.small_work``); then the whole BetaVAE score under the
    same load, with the library's settings and entirely on one thread."""
    import multiprocessing

    from latentatlas.analysis.metrics.interventional import CHUNK, beta_vae_score
    from latentatlas.threads import single_threaded

    calls = 400 // div
    factors = np.arange(CHUNK) % gt.num_factors
    raw = GroundTruth.sample_pairs.__wrapped__  # the method without its single-thread guard

    def loop(fn) -> float:
        g = torch.Generator().manual_seed(3)
        start = time.perf_counter()
        for _ in range(calls):
            fn(gt, factors, 64, g)
        return time.perf_counter() - start

    busy = [
        multiprocessing.Process(target=_spin, args=(3600,), daemon=True)
        for _ in range(os.cpu_count() or 1)
    ]
    for p in busy:
        p.start()
    try:
        t_default, t_single = loop(raw), loop(GroundTruth.sample_pairs)
        sizes = (64, 10_000 // div, 5_000 // div)
        t_library, _ = timed(lambda: beta_vae_score(gt, represent, *sizes))
        with single_threaded():
            t_one, _ = timed(lambda: beta_vae_score(gt, represent, *sizes))
    finally:
        for p in busy:
            p.terminate()
    print(
        f"\nThread oversubscription, every core busy with another process: {calls} batches of "
        f"{CHUNK} × 64 pairs with torch's {torch.get_num_threads()} threads {t_default:.2f} s, "
        f"one thread (the library's sampling) {t_single:.2f} s, ratio default/single: "
        f"{t_default / t_single:.1f}; the BetaVAE score ({sizes[1]} + {sizes[2]} points) "
        f"{t_library:.2f} s as the library runs it, {t_one:.2f} s all on one thread (the rest "
        "is the representation's own work, here a small matrix product)"
    )


if __name__ == "__main__":
    main()
