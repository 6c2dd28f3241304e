"""The inputs on which the metrics are compared with their reference implementations.

``tests/fixtures/metric_references.json`` holds what each reference implementation returned on
these inputs (how each number was made is written beside it); ``tests/test_metric_references.py``
recomputes them with latent-atlas. The inputs are made here, from integer seeds, so that the
fixture stores only the references' outputs.

Factors: ``N`` points, four discrete factors of 3, 6, 10 and 8 values drawn uniformly and
independently (integer labels). Codes (``N`` × 6), three cases chosen to separate the metrics:

* ``disentangled``: code j is factor j scaled to [0, 1] plus noise (sd 0.05) for j < 4; codes 4
  and 5 are noise;
* ``mixed``: a fixed random mixing (6 × 4, standard normal) of the scaled factors, plus noise
  (sd 0.2);
* ``partial``: code 0 is factor 0, code 1 mixes factors 1 and 2, code 2 is factor 2 again, code 3
  a saturating function of factor 3, code 4 a noisy copy of factor 0, code 5 noise.

Models (for UDR, which compares trained models): four models' posterior means and log-variances
(``N`` × 6): each holds the scaled factors in a permuted order with random signs and noise in
four dimensions, and two inactive dimensions (mean ≈ 0, log-variance ≈ 0: KL ≈ 0); the last
model mixes two of its factors.
"""

from __future__ import annotations

import numpy as np

N = 1000
SIZES = (3, 6, 10, 8)
CASES = ("disentangled", "mixed", "partial")


def factors(seed: int = 0) -> np.ndarray:
    """Integer factor labels (N, 4)."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, s, N) for s in SIZES], axis=1)


def scaled(labels: np.ndarray) -> np.ndarray:
    """Each factor's labels scaled to [0, 1]."""
    return labels / (np.array(SIZES) - 1.0)


def codes(case: str, seed: int = 0) -> np.ndarray:
    """The codes (N, 6) of ``case`` for the factors of ``factors(seed)``."""
    f = scaled(factors(seed))
    rng = np.random.default_rng(1000 + seed + CASES.index(case))
    noise = rng.standard_normal((N, 6))
    if case == "disentangled":
        return np.concatenate([f, np.zeros((N, 2))], axis=1) + 0.05 * noise
    if case == "mixed":
        mixing = rng.standard_normal((6, 4))
        return f @ mixing.T + 0.2 * noise
    if case == "partial":
        columns = [
            f[:, 0],
            f[:, 1] + f[:, 2],
            f[:, 2],
            np.tanh(4 * (f[:, 3] - 0.5)),
            f[:, 0] + 0.3 * noise[:, 4],
            noise[:, 5],
        ]
        return np.stack(columns, axis=1) + 0.05 * noise
    raise ValueError(f"unknown case {case!r}; expected one of {CASES}")


def models(seed: int = 0, count: int = 4) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` models' (posterior means, log-variances), each (N, 6)."""
    f = scaled(factors(seed)) - 0.5
    out = []
    for m in range(count):
        rng = np.random.default_rng(2000 + 10 * seed + m)
        active = rng.permutation(6)[:4]
        order = rng.permutation(4)
        signs = rng.choice([-1.0, 1.0], 4)
        mean = 0.01 * rng.standard_normal((N, 6))
        logvar = 0.01 * rng.standard_normal((N, 6))
        values = f[:, order] * signs + 0.05 * rng.standard_normal((N, 4))
        if m == count - 1:
            values[:, 1] = values[:, 0] + values[:, 1]
        mean[:, active] = values
        logvar[:, active] = -4.0 + 0.1 * rng.standard_normal((N, 4))
        out.append((mean, logvar))
    return out
