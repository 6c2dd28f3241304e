"""Δ-reduction between generative models (thesis ch. 8-9, Algorithm 2, eq. 8.11-8.12, 9.1-9.2).

Model 1 (latent Z₁, decoder mean μ₁, noise σ₁) Δ-reduces to model 2 through a map M: Z₁ → Z₂
when E_{z~P_Z₁} KL(N(μ₁(z), σ₁²I) ‖ N(μ₂(M(z)), σ₂²I)) ≤ Δ. For Gaussian decoders with fixed σ
the KL is eq. 8.11, so

    Δ(M) = E_z ‖μ₂(M(z)) − μ₁(z)‖² / (2σ₂²)  +  (D/2)(log(σ₂²/σ₁²) + σ₁²/σ₂² − 1)    (eq. 9.2)

:func:`fit_reduction` finds the best map of a family (:mod:`latentatlas.analysis.reductors`) by
Algorithm 2 — stochastic gradient descent on the Monte-Carlo estimate of E‖μ₂(M(z)) − μ₁(z)‖²
(eq. 9.1) over prior samples of Z₁, only M's parameters moving — and reports Δ on fresh samples
(eq. 8.12). ``common_sigma`` computes Δ with one σ for every model and so without the constant
term, Δ = E‖μ₂(M(z)) − μ₁(z)‖² / (2σ²): the convention that table 9.2's printed values fit (with
σ₁ = 0.01 into Φ's σ₂ = 0.1 the constant alone is 45.2, above the printed 6.59-13.77; see
docs/reduction.md). It equals eq. 9.2 when every model's σX is that σ.

Any model with ``latent`` (a latent space with a prior), ``decode`` and a fixed-σ Gaussian
``likelihood`` takes part: trained VAEs and
:class:`~latentatlas.models.ground_truth.GroundTruthModel`.
"""

from __future__ import annotations

import copy
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import ConfigError
from ..models.likelihoods import FixedGaussian
from ..registry import REDUCTORS, build
from ..threads import call_macs, thread_count, threads_for
from .reductors import Reductor, SpaceInfo, default_family


def decoder_sigma(model: nn.Module, name: str) -> float:
    """σX of a model's fixed-σ Gaussian decoder (Δ-reduction needs one, eq. 8.11)."""
    likelihood = getattr(model, "likelihood", None)
    if not isinstance(likelihood, FixedGaussian):
        raise ConfigError(
            f"{name}: Δ-reduction needs a Gaussian decoder with fixed σX (eq. 8.11), "
            f"got {type(likelihood).__name__}"
        )
    return float(likelihood.config.sigma)


def decoder_mean(model: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """μX(z), flattened to ``(n, D)``."""
    return model.likelihood.mean(model.decode(z)).flatten(1)


def constant_term(sigma1: float, sigma2: float, dim: int) -> float:
    """(D/2)(log(σ₂²/σ₁²) + σ₁²/σ₂² − 1): Δ's part that no map can reduce (eq. 8.11)."""
    ratio = (sigma1 / sigma2) ** 2
    return 0.5 * dim * (-math.log(ratio) + ratio - 1.0)


#: steps between the loss values a table of many fits keeps in its JSON (results.json)
LOSS_STRIDE = 50


@dataclass
class ReductionResult:
    """A fitted map M: Z₁ → Z₂ and its tolerance Δ (eq. 9.2) with its two parts."""

    source: str
    target: str
    family: str
    delta: float
    fit_term: float
    constant_term: float
    mse: float
    convention: str = "eq. 9.2"
    parameters: dict[str, list] = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)
    reductor: Reductor | None = field(default=None, repr=False)

    def to_dict(self, loss_stride: int = 1) -> dict:
        """Everything but the map itself; ``losses`` every ``loss_stride``-th step (and the
        last), so that tables of many fits stay small on disk."""
        if not isinstance(loss_stride, int) or loss_stride < 1:
            raise ConfigError(f"loss_stride: expected an integer >= 1, got {loss_stride!r}")
        out = {k: v for k, v in self.__dict__.items() if k not in ("reductor", "losses")}
        kept = self.losses[::loss_stride]
        if self.losses and (len(self.losses) - 1) % loss_stride:
            kept = [*kept, self.losses[-1]]
        out["losses"] = list(kept)
        if loss_stride != 1:
            out["loss_stride"] = loss_stride
        return copy.deepcopy(out)


def _sample_prior(model: nn.Module, n: int, generator: torch.Generator) -> torch.Tensor:
    latent = model.latent
    return latent.sample(latent.prior(), n, generator)


def _fit(
    reductor: Reductor,
    model1: nn.Module,
    model2: nn.Module,
    steps: int,
    samples: int,
    lr: float,
    generator: torch.Generator,
) -> list[float]:
    """Algorithm 2: Adam on the Monte-Carlo estimate of eq. 9.1 (fresh prior samples per step)."""
    optimizer = torch.optim.Adam(reductor.parameters(), lr=lr) if steps else None
    losses = []
    for _ in range(steps):
        z = _sample_prior(model1, samples, generator)
        with torch.no_grad():
            target = decoder_mean(model1, z)
        loss = (decoder_mean(model2, reductor(z)) - target).pow(2).sum(1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def _expected_error(
    reductor: nn.Module, model1: nn.Module, model2: nn.Module, samples: int, g: torch.Generator
) -> float:
    """E‖μ₂(M(z)) − μ₁(z)‖² on fresh prior samples of Z₁ (eq. 8.12), in chunks."""
    total, done = 0.0, 0
    with torch.no_grad():
        while done < samples:
            n = min(4096, samples - done)
            z = _sample_prior(model1, n, g)
            err = (decoder_mean(model2, reductor(z)) - decoder_mean(model1, z)).pow(2).sum(1)
            total += float(err.sum())
            done += n
    return total / samples


def _check_common_sigma(common_sigma: float | None) -> None:
    """Refuse a ``common_sigma`` that is given but not a positive finite number."""
    if common_sigma is not None and not (
        isinstance(common_sigma, (int, float)) and math.isfinite(common_sigma) and common_sigma > 0
    ):
        raise ConfigError(f"common_sigma: expected a positive finite number, got {common_sigma!r}")


def fit_reduction(
    model1: nn.Module,
    model2: nn.Module,
    family: str | Mapping | None = None,
    *,
    steps: int = 1000,
    samples: int = 1000,
    eval_samples: int = 10_000,
    lr: float = 0.01,
    seed: int = 0,
    names: tuple[str, str] = ("model 1", "model 2"),
    common_sigma: float | None = None,
    affine: bool = False,
) -> ReductionResult:
    """Fit M: Z₁ → Z₂ of ``family`` by Algorithm 2 and estimate Δ (eq. 9.2).

    Args:
        model1, model2: the source and target generative models (same observation size D).
        family: a reductor name or spec ``{"name": ..., **params}`` (see ``latent-atlas list
            reductors``); None picks the thesis's family for the pair (table 9.1).
        steps, samples, lr: Algorithm 2's iterations, prior samples L per iteration, Adam rate.
            Angle offsets are fitted from eight starting values (and both orientations where
            the family allows a reflection); the best start is trained for all ``steps``.
        eval_samples: fresh prior samples for the reported Δ.
        seed: seeds the prior samples (the global RNG is untouched).
        common_sigma: None (default) for eq. 9.2 with each model's own σX; a σ > 0 for
            Δ = E/(2σ²) with that σ for both models and no constant term (the map is the same:
            Algorithm 2 minimises E whatever the convention).
        affine: with ``family`` None, give the thesis's ``matrix`` maps (into R^d) a bias,
            C·e(z) + b: table 9.1 writes plain C·z, but codes centred away from the origin
            (the R² codes of table 9.2 sit near (0.5, 0.5)) cannot be reached without one;
            the errata allow it (docs/reduction.md).
    """
    _check_common_sigma(common_sigma)
    source = SpaceInfo.of(model1.latent, names[0])
    target = SpaceInfo.of(model2.latent, names[1])
    sigma1, sigma2 = decoder_sigma(model1, names[0]), decoder_sigma(model2, names[1])
    spec = {"name": default_family(source, target)} if family is None else family
    if family is None and affine and spec["name"] == "matrix":
        spec["bias"] = True
    spec = {"name": spec} if isinstance(spec, str) else dict(spec)
    g = torch.Generator().manual_seed(seed)
    probe = _sample_prior(model1, 2, g)
    probe2 = model2.latent.sample(model2.latent.prior(), 2, g)
    decoded: list[torch.Tensor] = []
    # two points through both decoders: the observation sizes, and the multiply-adds of a
    # point, by which the fit below chooses its threads
    per_point = (
        call_macs(
            [model1, model2],
            lambda: decoded.extend((decoder_mean(model1, probe), decoder_mean(model2, probe2))),
        )
        / 2
    )
    dim1, dim2 = (d.shape[1] for d in decoded)
    if dim1 != dim2:
        raise ConfigError(
            f"{names[0]} generates {dim1} values per observation but {names[1]} {dim2}: "
            "a reduction compares models of the same data"
        )
    params = [p for m in (model1, model2) for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:  # Algorithm 2 moves only the map's parameters
        p.requires_grad_(False)
    # threads by the size of a step (decoding the prior samples through both models): the
    # thesis's decoders are tiny, and on a busy machine torch's default threads made them slow
    threads = threads_for(int(per_point * max(samples, eval_samples)))
    try:
        with thread_count(threads):
            reductor = _best_start(spec, source, target, model1, model2, steps, samples, lr, g)
            losses = _fit(reductor, model1, model2, steps, samples, lr, g)
            mse = _expected_error(reductor, model1, model2, eval_samples, g)
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)
    if common_sigma is None:
        fit_term = mse / (2 * sigma2**2)
        const = constant_term(sigma1, sigma2, dim1)
        convention = "eq. 9.2"
    else:
        fit_term, const = mse / (2 * common_sigma**2), 0.0
        convention = f"common sigma {common_sigma:g}"
    return ReductionResult(
        source=names[0],
        target=names[1],
        family=spec["name"] + (" + bias" if spec.get("bias") else ""),
        delta=fit_term + const,
        fit_term=fit_term,
        constant_term=const,
        mse=mse,
        convention=convention,
        parameters=reductor.parameters_dict(),
        losses=losses,
        reductor=reductor,
    )


def _best_start(spec, source, target, model1, model2, steps, samples, lr, g) -> Reductor:
    """The reductor after a short fit from the most promising start (orientation × offset)."""
    candidates = []
    probe = build(REDUCTORS, spec, "reductor", source=source, target=target)
    starts = probe.starts()
    for sign in probe.orientations():
        for start in starts:
            reductor = build(REDUCTORS, spec, "reductor", source=source, target=target)
            reductor.set_orientation(sign)
            if start is not None:
                reductor.set_start(start)
            if len(starts) * len(probe.orientations()) > 1:
                _fit(reductor, model1, model2, max(steps // 20, 5), samples, lr * 5, g)
            candidates.append((_expected_error(reductor, model1, model2, samples, g), reductor))
    return min(candidates, key=lambda c: c[0])[1]


@dataclass
class DeltaTable:
    """Pairwise Δ (rows: source Z₁, columns: target Z₂), mean ± std over repetitions
    (the layout of thesis tables 9.2 and 11.1)."""

    names: list[str]
    runs: dict[tuple[str, str], list[ReductionResult]]
    groups: int = 1
    """model seeds the runs come from, seed-major (:meth:`pool`); 1 for one pair of models"""

    @classmethod
    def pool(cls, tables: Sequence[DeltaTable]) -> DeltaTable:
        """One table of the fits of several (one per model seed), seed-major."""
        runs = {pair: [r for t in tables for r in t.runs[pair]] for pair in tables[0].runs}
        return cls(tables[0].names, runs, groups=len(tables))

    def _deltas(self, source: str, target: str, common_sigma: float | None) -> list[float]:
        _check_common_sigma(common_sigma)
        runs = self.runs[(source, target)]
        if common_sigma is None:
            return [r.delta for r in runs]
        return [r.mse / (2 * common_sigma**2) for r in runs]

    def mean_std(
        self, source: str, target: str, common_sigma: float | None = None
    ) -> tuple[float, float]:
        """Mean ± std of Δ over the repetitions; with ``common_sigma``, of Δ = E/(2σ²) from the
        same fits (one σ for both models, no constant term: see :func:`fit_reduction`)."""
        deltas = self._deltas(source, target, common_sigma)
        std = statistics.stdev(deltas) if len(deltas) > 1 else 0.0
        return statistics.fmean(deltas), std

    def per_group(self, source: str, target: str, common_sigma: float | None = None) -> list[float]:
        """Mean Δ of each model seed's fits (one value when the table holds one pair)."""
        deltas = self._deltas(source, target, common_sigma)
        k = len(deltas) // self.groups
        return [statistics.fmean(deltas[i : i + k]) for i in range(0, len(deltas), k)]

    def to_dict(self, loss_stride: int = 1) -> dict:
        """Every direction's mean, std and fits (their loss curves every ``loss_stride`` steps)."""
        return {
            "names": list(self.names),
            "delta": {
                f"{a} -> {b}": {
                    "mean": self.mean_std(a, b)[0],
                    "std": self.mean_std(a, b)[1],
                    "runs": [r.to_dict(loss_stride) for r in runs],
                }
                for (a, b), runs in self.runs.items()
            },
        }

    def to_markdown(self, digits: int = 2) -> str:
        head = "| Z₁ \\ Z₂ | " + " | ".join(self.names) + " |"
        rule = "|---" * (len(self.names) + 1) + "|"
        rows = []
        for a in self.names:
            cells = []
            for b in self.names:
                if (a, b) not in self.runs:
                    cells.append("N/A")
                    continue
                mean, std = self.mean_std(a, b)
                spread = f" ± {std:.{digits}f}" if len(self.runs[(a, b)]) > 1 else ""
                cells.append(f"{mean:.{digits}f}{spread}")
            rows.append(f"| {a} | " + " | ".join(cells) + " |")
        return "\n".join([head, rule, *rows])


def delta_table(
    models: Mapping[str, nn.Module], repetitions: int = 3, seed: int = 0, **fit_options
) -> DeltaTable:
    """Δ for every ordered pair of ``models`` (name → model), ``repetitions`` fits each with
    seeds ``seed``, ``seed + 1``, … (thesis table 9.2: three repetitions)."""
    if len(models) < 2:
        raise ConfigError("delta_table: give at least two models")
    names = list(models)
    runs: dict[tuple[str, str], list[ReductionResult]] = {}
    for a in names:
        for b in names:
            if a == b:
                continue
            runs[(a, b)] = [
                fit_reduction(models[a], models[b], names=(a, b), seed=seed + r, **fit_options)
                for r in range(repetitions)
            ]
    return DeltaTable(names, runs)
