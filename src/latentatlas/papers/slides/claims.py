"""Claims of the slides (Newson et al., understanding and organising the latent space).

The slides state properties, not tables, so each claim gets a measured criterion fixed here
before any full run was judged: a property "holds" when the measurement passes the first bound
and "partly" holds when it passes the looser second one.
"""

from __future__ import annotations

import math
from typing import Any

from ...experiments.claims import Claim, Verdict, by_fraction

#: relative reconstruction error ‖D(E(x)) − x‖² / ‖x‖² of "perfect" compression to d = 1
COMPRESSED = (0.02, 0.1)
#: |corr(code, area)| of an encoder that "computes the area"
AREA = (0.99, 0.95)
#: |Spearman(code, radius)| of a code that "encodes the size" (orders the disks by it)
MONOTONE = (0.99, 0.95)
#: max ‖D(λz) − λD(z)‖ / max ‖D(z)‖ of a positively homogeneous decoder (float precision)
HOMOGENEOUS = 1e-5
#: unit-norm profile distance of "the same profile" (learned vs numerical optimum and Airy)
PROFILE = (0.1, 0.25)
#: a bias-free autoencoder whose relative error is at least this did not train (its output
#: explains under a tenth of the images' energy): its profile tests nothing about eq. 3
UNTRAINED = 0.9
#: max |filter − ϕ/2| of trained filters that "are the predicted ones"
FILTERS = (0.05, 0.15)
#: how much worse the max-pooling encoder fits than the strided one when it "breaks down"
BREAKS = 5.0
#: slides: the PCA-like AE's first three components correlate with image factors about so much
PCA_REPORTED = (0.98, 0.79, 0.75)
PCA_SLACK = 0.05
#: largest |corr(zᵢ, zⱼ)| of "decorrelated" components
DECORRELATED = (0.1, 0.3)
#: a PCA-like AE stage whose loss moved more than this over its last tenth had not converged
STAGE_PLATEAU = 0.02


def _level(value: float, bounds: tuple[float, float], below: bool = True) -> str:
    good, loose = bounds
    if (value <= good) if below else (value >= good):
        return "reproduced"
    if (value <= loose) if below else (value >= loose):
        return "partly"
    return "not reproduced"


_DISK = (
    Claim(
        "compress",
        "disks compress to one number: x = D(E(x)) with d = 1",
        '"Yes!" (reconstructions shown)',
        "slides 9-11",
    ),
    Claim(
        "size-code",
        "the encoder's one number encodes the disk's size (a code monotone in "
        "the radius; without the footnote's contractive loss no particular function of it)",
        '"encoding simple to understand" (code against size shown)',
        "slide 13",
    ),
    Claim(
        "area",
        "with a contractive loss the optimal encoding is the disk's area (an "
        "averaging filter): the code is linear in r², more than in r",
        '"the optimal encoding is indeed the area, when a contractive loss is used"',
        "slide 13, footnote",
    ),
    Claim(
        "homogeneous",
        "a decoder without biases is positively homogeneous, D(λz) = λD(z)",
        "eq. 2 (proved)",
        "slide 15",
    ),
    Claim(
        "airy",
        "the bias-free decoder's profile is the optimum of eq. 3, Airy's function (eq. 8)",
        "the three curves coincide",
        "slide 18",
    ),
)


def _judge_disk(results: dict[str, Any]) -> list[Verdict]:
    bias, h, p = results["models"]["bias"], results["homogeneity"], results["profiles"]
    monotone = abs(bias.get("spearman_radius", math.nan))
    return [
        Verdict(
            "compress",
            f"relative error {bias['relative_error']:.4f} (with biases)",
            _level(bias["relative_error"], COMPRESSED),
        ),
        Verdict(
            "size-code",
            f"|Spearman(z, r)| = {monotone:.4f} (with biases)",
            _level(monotone, MONOTONE, below=False) if not math.isnan(monotone) else "inconclusive",
            "" if monotone >= MONOTONE[0] else "the code does not order the disks by size",
        ),
        _judge_area(results["models"]),
        Verdict(
            "homogeneous",
            f"max relative deviation {h['max_rel_error']:.1e}",
            "reproduced" if h["max_rel_error"] <= HOMOGENEOUS else "not reproduced",
        ),
        _judge_airy(results["models"]["no_bias"], p),
    ]


def _judge_airy(free: dict[str, Any], p: dict[str, Any]) -> Verdict:
    """Slide 18 on the bias-free model's decoded profile; inconclusive when that model did not
    train (relative error ≥ :data:`UNTRAINED`): an untrained decoder's profile is no optimum of
    anything."""
    ours = (
        f"distance to the numerical optimum {p['learned_vs_numerical']:.3f}, to Airy "
        f"{p['learned_vs_airy']:.3f} (optimum vs Airy {p['numerical_vs_airy']:.1e})"
    )
    if free["relative_error"] >= UNTRAINED:
        tried = len(free.get("restart_losses") or [1])
        return Verdict(
            "airy",
            ours,
            "inconclusive",
            f"the bias-free autoencoder did not train (relative error "
            f"{free['relative_error']:.2f} with the best of {tried} "
            f"initialisation{'s' if tried > 1 else ''}): its profile tests nothing; "
            f"rerun with more restarts",
        )
    profile = max(p["learned_vs_numerical"], p["learned_vs_airy"])
    return Verdict("airy", ours, _level(profile, PROFILE))


def _judge_area(models: dict[str, Any]) -> Verdict:
    """The footnote's claim on the contractive model: |corr(z, r²)| at the :data:`AREA` bounds
    and above |corr(z, r)| (a code linear in r has corr(z, r²) = 0.968 for uniform r, so the
    bound alone could be met by a radius code; the comparison tells them apart)."""
    contractive = models.get("contractive")
    if contractive is None:
        return Verdict(
            "area",
            "no contractive model in this run",
            "inconclusive",
            "the run predates the contractive variant: rerun to judge the footnote",
        )
    area, radius = abs(contractive["corr_area"]), abs(contractive["corr_radius"])
    plain = models["bias"]
    ours = (
        f"|corr(z, r²)| = {area:.4f}, |corr(z, r)| = {radius:.4f} with the contractive "
        f"loss (λ = {contractive.get('contraction', math.nan):g}); without it "
        f"{abs(plain['corr_area']):.4f} and {abs(plain['corr_radius']):.4f}"
    )
    verdict = _level(area, AREA, below=False) if area > radius else "not reproduced"
    reason = ""
    if verdict != "reproduced":
        reason = (
            f"the code follows r (|corr| {radius:.3f}) at least as linearly as the area "
            f"({area:.3f})"
            if area <= radius
            else f"|corr(z, r²)| {area:.3f} is below {AREA[0]}"
        )
    return Verdict("area", ours, verdict, reason)


_POSITION = (
    Claim(
        "identity",
        "filtering with ϕ = [1, 2, 1] and subsampling extracts the position: E_L(δ_a) = 2^L − a",
        "proved by induction",
        "slides 25-26, appendix",
    ),
    Claim(
        "max-pool-identity",
        "with max pooling instead of subsampling the position is lost",
        '"max pooling makes this behaviour break down"',
        "slide 29",
    ),
    Claim(
        "trained-filters",
        "an encoder trained on positions learns the predicted filter ϕ",
        '"the (normalised) weights are correctly predicted"',
        "slide 27",
    ),
    Claim(
        "trained-max-pool",
        "a trained encoder with max pooling does not extract the position",
        "breaks down",
        "slide 29",
    ),
    Claim(
        "continuous-decoder",
        "a decoder trained on continuous Diracs (eq. 11) places "
        "positions better than one trained on the n integer Diracs (eq. 9)",
        '"can be partly addressed"',
        "slide 28",
    ),
)


def _judge_position(results: dict[str, Any]) -> list[Verdict]:
    rows = results["identity"]
    exact = [r for r in rows if r["max_error"] == 0]
    lost = [r for r in rows if r["levels"] >= 2 and r["max_pool_distinct"] < r["positions"]]
    deep = [r for r in rows if r["levels"] >= 2]
    stride, pooled = results["encoders"]["stride"], results["encoders"]["max"]
    integer, continuous = results["decoders"]["integer"], results["decoders"]["continuous"]
    better = continuous["barycentre_error"] < integer["barycentre_error"]
    depths = ", ".join(
        f"{d}-D L ≤ {max(r['levels'] for r in rows if r['dims'] == d)}"
        for d in sorted({r["dims"] for r in rows})
    )
    return [
        Verdict(
            "identity",
            f"exact for {len(exact)} of {len(rows)} networks ({depths})",
            "reproduced" if rows and len(exact) == len(rows) else "not reproduced",
        ),
        Verdict(
            "max-pool-identity",
            f"{len(lost)} of {len(deep)} networks with L ≥ 2 map "
            "different positions to the same output",
            "reproduced" if deep and len(lost) == len(deep) else "not reproduced",
            "" if deep else "no network with L ≥ 2 was run",
        ),
        Verdict(
            "trained-filters",
            f"max |filter − ϕ/2| {stride['filter_error']:.4f}, RMSE {stride['rmse']:.4f} positions",
            _level(stride["filter_error"], FILTERS),
        ),
        Verdict(
            "trained-max-pool",
            f"RMSE {pooled['rmse']:.3f} vs {stride['rmse']:.4f} strided",
            "reproduced"
            if pooled["rmse"] >= BREAKS * max(stride["rmse"], 1e-3)
            else "not reproduced",
        ),
        Verdict(
            "continuous-decoder",
            f"mean position error {continuous['barycentre_error']:.3f} "
            f"(continuous) vs {integer['barycentre_error']:.3f} (integer)",
            "reproduced" if better else "not reproduced",
        ),
    ]


_PCA = (
    Claim(
        "factors",
        "the PCA-like AE's first three components each follow one of the "
        "authors' image descriptors (pixel sum, centre row / column, the two diagonals)",
        "|corr| about 0.98, 0.79, 0.75",
        "slides 38-39 (authors' code)",
    ),
    Claim(
        "decorrelated",
        "the covariance loss decorrelates the components",
        "decorrelated components",
        "slides 36-37",
    ),
)


def _best_per_descriptor(table: dict[str, Any]) -> list[tuple[str, int, float]]:
    """(descriptor, component, |corr|): each descriptor matched to its own component, the
    assignment with the largest total |corr| (one component cannot follow two descriptors)."""
    from scipy.optimize import linear_sum_assignment

    corr = [[abs(v) for v in row] for row in table["matrix"]]  # components × descriptors
    rows, cols = linear_sum_assignment(corr, maximize=True)
    chosen = {int(j): int(i) for i, j in zip(rows, cols)}
    return [
        (name, chosen[j], corr[chosen[j]][j])
        for j, name in enumerate(table["factors"])
        if j in chosen
    ]


def _judge_pca(results: dict[str, Any]) -> list[Verdict]:
    """Judged on the authors' image descriptors S, H, V (what the slides' numbers measure):
    each one's best-following component against 0.98, 0.79, 0.75."""
    pca, ae = results["models"]["pca_ae"], results["models"]["ae"]
    best = _best_per_descriptor(pca["authors_descriptors"])
    close = sum(c >= r - PCA_SLACK for (_, _, c), r in zip(best, PCA_REPORTED))
    verdict = (
        "reproduced" if close == len(PCA_REPORTED) else "partly" if close else "not reproduced"
    )
    standard = ", ".join(f"{c:.2f}" for _, _, c in _best_per_descriptor(ae["authors_descriptors"]))
    ours = ", ".join(f"{name} z{i} {c:.2f}" for name, i, c in best)
    if "authors_descriptors_spearman" in pca:
        ranks = _best_per_descriptor(pca["authors_descriptors_spearman"])
        ours += "; Spearman " + ", ".join(f"{name} {c:.2f}" for name, _, c in ranks)
    scale = results.get("scale", {})
    worse = pca["relative_error"] / max(ae["relative_error"], 1e-12)
    reason = ""
    if verdict != "reproduced":
        missed = [
            f"{name} {c:.2f} (slides {r:.2f})"
            for (name, _, c), r in zip(best, PCA_REPORTED)
            if c < r - PCA_SLACK
        ]
        reason = "below the slides' values: " + ", ".join(missed)
        if worse > 1:
            reason += (
                f"; the PCA-like AE reconstructs {worse:.1f}× worse than the standard AE "
                f"(relative error {pca['relative_error']:.4f} vs "
                f"{ae['relative_error']:.4f})"
            )
        if scale.get("steps") and scale.get("components"):
            per_stage = scale["steps"] // scale["components"]
            reason += f"; {per_stage} steps per stage (the authors: 100 epochs per stage)"
        reason += " (docs/geometry.md)"
    moving = [
        (k + 1, c) for k, c in enumerate(pca.get("stage_loss_change", [])) if not c <= STAGE_PLATEAU
    ]
    if moving:  # an undertrained stage: the method is not what is measured
        verdict = "inconclusive"
        reason = "not converged: " + ", ".join(
            f"stage {k}'s loss still moved {c:.1%} over its last tenth" for k, c in moving
        )
    return [
        Verdict("factors", f"{ours} (standard AE: {standard})", verdict, reason),
        Verdict(
            "decorrelated",
            f"largest |corr(zᵢ, zⱼ)| {pca['largest_code_correlation']:.3f} "
            f"(standard AE {ae['largest_code_correlation']:.3f})",
            _level(pca["largest_code_correlation"], DECORRELATED),
        ),
    ]


_GENERATOR = (
    Claim(
        "organised",
        "the PCA-like AE on a generator's latent space finds axes that follow "
        "image attributes better than the generator's own coordinates",
        "first axis hair colour, second pose, third identity (PGAN)",
        "slides 42-46",
    ),
    Claim(
        "decorrelated", "its components are decorrelated", "decorrelated components", "slides 44-46"
    ),
)


#: the baselines the learned axes must beat: results key → words
GENERATOR_BASELINES = {
    "raw_best_axes": "the best raw coordinates",
    "image_pca_axes": "linear PCA of the images",
}


def _mean_best(table: dict[str, Any]) -> float:
    values = [b["abs_corr"] for b in table["best"]]
    return sum(values) / len(values)


def _judge_organised(results: dict[str, Any]) -> Verdict:
    """The learned axes against the strongest baselines: the raw coordinates that follow a
    factor best (the first few are no baseline: they can be collapsed) and linear PCA of the
    images; reproduced when they beat both, partly when one."""
    learned = _mean_best(results["learned_axes"])
    first = _mean_best(results["raw_axes"])
    if not all(key in results for key in GENERATOR_BASELINES):
        return Verdict(
            "organised",
            f"mean best |corr| {learned:.2f} (learned) vs {first:.2f} (the first raw coordinates)",
            "inconclusive",
            "the run predates the baselines the claim needs (the best raw "
            "coordinates, linear PCA): rerun to judge it",
        )
    baselines = {words: _mean_best(results[key]) for key, words in GENERATOR_BASELINES.items()}
    beaten = [words for words, value in baselines.items() if learned > value]
    ours = (
        f"mean best |corr| with an image factor {learned:.2f} (learned axes) vs "
        + ", ".join(f"{v:.2f} ({w})" for w, v in baselines.items())
        + f", {first:.2f} (the first raw coordinates)"
    )
    verdict = by_fraction(len(beaten), len(baselines))
    lost = [w for w in baselines if w not in beaten]
    reason = (
        ""
        if not lost
        else (f"not above {' or '.join(lost)}; ellipses stand in for PGAN faces (no weights here)")
    )
    return Verdict("organised", ours, verdict, reason)


def _judge_generator(results: dict[str, Any]) -> list[Verdict]:
    top = results["largest_code_correlation"]
    return [
        _judge_organised(results),
        Verdict(
            "decorrelated",
            f"largest |corr(zᵢ, zⱼ)| {top:.3f}",
            _level(top, DECORRELATED),
            ""
            if top <= DECORRELATED[0]
            else f"above the {DECORRELATED[0]} of fully "
            "decorrelated components with the covariance loss's weight λ = "
            f"{results.get('scale', {}).get('cov_weight', 'unrecorded')} (the authors: 1)",
        ),
    ]


CLAIMS = {
    "slides-disk": _DISK,
    "slides-position": _POSITION,
    "slides-pca-ae": _PCA,
    "slides-pca-ae-generator": _GENERATOR,
}
JUDGES = {
    "slides-disk": _judge_disk,
    "slides-position": _judge_position,
    "slides-pca-ae": _judge_pca,
    "slides-pca-ae-generator": _judge_generator,
}
