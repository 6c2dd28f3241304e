"""Continuous factor directions (directions paper): a latent direction that applies a known image
transformation, found from the generator alone.

Module map, in the order the method runs:

================ ==========================================================================
``inversion``    z* = argmin L(G(z), target) in the ball ‖z‖ ≤ √d (eq. 4): the paper's
                 blurred masked loss, MSE or DSSIM, batched Adam
``trajectories`` Algorithm 1: follow increasing amounts of a transformation by recursive
                 inversion (eq. 5), records (z₀, z_δt, δt) with their errors
``estimators``   the minimal-move estimate of u through the generator's Jacobian (the
                 default; beyond the paper) and the names of the estimators
``fit``          the direction model t = g(⟨z, u⟩) (eq. 8-9): fit, save, load
``evaluation``   control precision of a direction: traversals at fixed α measured on the
                 images (sec. 3.1), calibration error
``search``       :func:`find_direction`: trajectories → u and g → evaluation, in one call
``image_factors`` measures that read a transformation's amount from images
``baselines``    directions from an encoder, PCA of codes, GANSpace and SeFa (sec. 4)
``bench``        analytic generators whose directions are known exactly (the estimators'
                 bench)
================ ==========================================================================

The transformations themselves live in :mod:`latentatlas.data.transforms`; the adapters that
make any model a generator z → images in :mod:`latentatlas.analysis.generators` (the intrinsic
analyses use them too).
"""

from .evaluation import DirectionEvaluation, evaluate_direction
from .fit import DirectionFit, DirectionModel, fit_direction, linear_direction
from .inversion import InversionResult, invert
from .search import DirectionSearch, find_direction
from .trajectories import TrajectoryDataset, trajectories

__all__ = [
    "DirectionEvaluation",
    "DirectionFit",
    "DirectionModel",
    "DirectionSearch",
    "InversionResult",
    "TrajectoryDataset",
    "evaluate_direction",
    "find_direction",
    "fit_direction",
    "invert",
    "linear_direction",
    "trajectories",
]
