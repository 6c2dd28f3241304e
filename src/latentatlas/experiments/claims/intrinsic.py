"""Claims of the intrinsic-disentanglement paper (Besserve et al.), sec. 5 and figs. 3-4.

The paper shows figures, not tables; each claim gets a measured criterion, fixed here before
any full run was judged. "Finer" and "coarser" scales are the two halves of the Haar scales
(1: coarsest … 5: finest; the middle one counts with neither).
"""

from __future__ import annotations

from typing import Any

from scipy import stats

from . import Claim, Verdict, by_fraction

#: the level whose stretch sec. 5.1.2 and 5.2 track
TRACKED = "fine"
#: Spearman correlation of (step, error) for an error that "grows" (partly: any positive trend)
GROWS = 0.5


def _halves(values: list[float]) -> tuple[float, float]:
    """(coarser half, finer half) sums of per-scale values ordered coarse → fine."""
    half = len(values) // 2
    return sum(values[:half]), sum(values[len(values) - half :])


_STRETCH = (
    Claim("finer-scales", "the mismatch of a stretched coarse, intermediate or fine level is "
          "concentrated on the finer scales, those encoded below it",
          "more concentrated on the finer scales", "fig. 3c, sec. 5.1.1"),
    Claim("modularity-degrades", "after longer training modularity is less satisfied, "
          "especially for the fine and image levels", "larger errors at 50 000 than at 10 000 "
          "iterations (fig. 3d)", "fig. 3c-d, sec. 5.1.1"),
)  # fmt: skip


def _judge_stretch(results: dict[str, Any]) -> list[Verdict]:
    lengths = sorted(results["lengths"], key=int)
    short, long = (
        results["lengths"][lengths[0]]["layers"],
        results["lengths"][lengths[-1]]["layers"],
    )
    finer = []
    for level in ("coarse", "intermediate", "fine"):
        coarse_half, fine_half = _halves(short[level]["mse_by_scale"])
        finer.append((level, fine_half > coarse_half, coarse_half, fine_half))
    grown = [(lv, long[lv]["mse"] > short[lv]["mse"], short[lv]["mse"], long[lv]["mse"])
             for lv in ("fine", "image")]  # fmt: skip
    return [
        Verdict("finer-scales", f"after {int(lengths[0]):,} steps: " + "; ".join(
            f"{lv} coarser {c:.2e} vs finer {f:.2e}" for lv, _, c, f in finer),
            by_fraction(sum(ok for _, ok, _, _ in finer), len(finer))),
        Verdict("modularity-degrades", "; ".join(
            f"{lv} {a:.2e} → {b:.2e}" for lv, _, a, b in grown)
            + f" ({int(lengths[0]):,} → {int(lengths[-1]):,} steps)",
            by_fraction(sum(ok for _, ok, _, _ in grown), len(grown)) if len(lengths) > 1
            else "not reproduced", "" if len(lengths) > 1 else "one training length only"),
    ]  # fmt: skip


_TRACKING = (
    Claim("error-grows", "the error of the fine-level stretch on the complete picture grows "
          "as training progresses", "a clearly growing curve", "fig. 4b, sec. 5.1.2"),
    Claim("coarser-rise", "the growth is mostly due to a progressive rise at the coarser scales",
          "the coarser scales rise most", "fig. 4a, sec. 5.1.2"),
)  # fmt: skip


def _trend(records: list[dict[str, Any]], key: str) -> float:
    """Spearman's ρ of the value against the step; NaN when there is no trend to rank."""
    values = [r[key] for r in records]
    if len(records) < 3 or len(set(values)) < 2:
        return float("nan")
    return float(stats.spearmanr([r["step"] for r in records], values).statistic)


def _scale_number(key: str) -> int:
    """``…/scale10`` → 10 (scales sorted as numbers, not text)."""
    digits = "".join(ch for ch in key.rsplit("scale", 1)[-1] if ch.isdigit())
    return int(digits) if digits else -1


def _judge_tracking(results: dict[str, Any]) -> list[Verdict]:
    records = results["runs"]["VAE"]["tracking"]
    rho = _trend(records, f"{TRACKED}/mse")
    first, last = records[0], records[-1]
    scales = sorted((k for k in first if k.startswith(f"{TRACKED}/scale")), key=_scale_number)
    rise = [last[k] - first[k] for k in scales]
    coarse_rise, fine_rise = _halves(rise)
    grows = "reproduced" if rho >= GROWS else "partly" if rho > 0 else "not reproduced"
    return [
        Verdict("error-grows", f"Spearman ρ(step, error) = {rho:.2f}; {first[TRACKED + '/mse']:.2e}"
                f" at step {first['step']:,} → {last[TRACKED + '/mse']:.2e} at {last['step']:,}",
                grows, "" if rho == rho else "fewer than 3 tracked points, or a constant error: "
                "no trend to rank"),
        Verdict("coarser-rise", f"rise over training: coarser scales {coarse_rise:+.2e}, finer "
                f"{fine_rise:+.2e}",
                "reproduced" if coarse_rise > max(fine_rise, 0) else "not reproduced"),
    ]  # fmt: skip


_SDR = (
    Claim("sdr-delays", "with SDR steps the error of the fine-level stretch rises later and "
          "slower", "a delayed, slower rise", "fig. 4c, sec. 5.2"),
    Claim("sdr-modularity", "after training with SDR, stretching the intermediate, fine and "
          "image levels is more modular", "better modularity than fig. 3d", "fig. 3e, sec. 5.2"),
)  # fmt: skip


def _judge_sdr(results: dict[str, Any]) -> list[Verdict]:
    plain, sdr = results["runs"]["VAE"], results["runs"]["VAE + SDR"]
    key = f"{TRACKED}/mse"
    mean_plain = sum(r[key] for r in plain["tracking"]) / len(plain["tracking"])
    mean_sdr = sum(r[key] for r in sdr["tracking"]) / len(sdr["tracking"])
    last_plain, last_sdr = plain["tracking"][-1][key], sdr["tracking"][-1][key]
    delays = ("reproduced" if mean_sdr < mean_plain and last_sdr < last_plain
              else "partly" if mean_sdr < mean_plain or last_sdr < last_plain
              else "not reproduced")  # fmt: skip
    levels = ("intermediate", "fine", "image")
    better = [sdr["final"]["layers"][lv]["mse"] < plain["final"]["layers"][lv]["mse"]
              for lv in levels]  # fmt: skip
    return [
        Verdict("sdr-delays", f"mean over training {mean_sdr:.2e} with SDR vs {mean_plain:.2e}; "
                f"last {last_sdr:.2e} vs {last_plain:.2e}", delays),
        Verdict("sdr-modularity", "; ".join(
            f"{lv} {sdr['final']['layers'][lv]['mse']:.2e} vs "
            f"{plain['final']['layers'][lv]['mse']:.2e}" for lv in levels),
            by_fraction(sum(better), len(better))),
    ]  # fmt: skip


CLAIMS = {
    "intrinsic-stretch": _STRETCH,
    "intrinsic-tracking": _TRACKING,
    "intrinsic-sdr-training": _SDR,
}
JUDGES = {
    "intrinsic-stretch": _judge_stretch,
    "intrinsic-tracking": _judge_tracking,
    "intrinsic-sdr-training": _judge_sdr,
}
