"""Claims of the directions paper (Plumerault et al., ICLR 2020).

Appendix D: image transformations are curved walks in pixel space, so the straight path to a
transformed image leaves the image manifold — nearly orthogonally for large translations and
rotations, less for scaling — while a brightness change is a straight line.
"""

from __future__ import annotations

from typing import Any

from . import Claim, Verdict

#: a chord "near orthogonal" to the first step of the walk
NEAR_ORTHOGONAL = 80.0
#: a walk "straight": its length within 1 % of its chord, and its chord within 5° of its steps
STRAIGHT = (1.01, 5.0)

_CURVATURE = (
    Claim("translation-orthogonal", "for a large translation the shortest path between the two "
          "images is near orthogonal to the manifold", "near orthogonal (fig. 8)", "appendix D"),
    Claim("rotation-orthogonal", "the same holds for rotation", "near orthogonal (fig. 8)",
          "appendix D"),
    Claim("scale-lesser", "scaling shows it to a smaller extent", "smaller than translation and "
          "rotation (fig. 8)", "appendix D"),
    Claim("brightness-linear", "a brightness change is linear in pixel space",
          "a straight walk", "appendix D"),
)  # fmt: skip


def _judge_curvature(results: dict[str, Any]) -> list[Verdict]:
    paths = results["paths"]

    def angle(name: str) -> float:
        return paths[name]["chord_angle_degrees"]

    def walk(name: str) -> str:
        p = paths[name]
        return (f"angle(chord, first step) {p['chord_angle_degrees']:.1f}°, path / chord "
                f"{p['length_over_chord']:.2f}")  # fmt: skip

    verdicts = []
    for name in ("translation", "rotation"):
        ok = angle(name) >= NEAR_ORTHOGONAL
        verdicts.append(Verdict(f"{name}-orthogonal", walk(name),
                                "reproduced" if ok else "not reproduced",
                                "" if ok else f"angle below {NEAR_ORTHOGONAL:g}°"))  # fmt: skip
    lesser = angle("scale") < min(angle("translation"), angle("rotation"))
    curved = paths["scale"]["length_over_chord"] > STRAIGHT[0]
    verdicts.append(
        Verdict(
            "scale-lesser", walk("scale"), "reproduced" if lesser and curved else "not reproduced"
        )
    )
    b = paths["brightness"]
    straight = b["length_over_chord"] <= STRAIGHT[0] and b["chord_angle_degrees"] <= STRAIGHT[1]
    verdicts.append(
        Verdict(
            "brightness-linear", walk("brightness"), "reproduced" if straight else "not reproduced"
        )
    )
    return verdicts


CLAIMS = {"directions-curvature": _CURVATURE}
JUDGES = {"directions-curvature": _judge_curvature}
