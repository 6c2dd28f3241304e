"""Model settings chosen from the data when a run's config leaves them out, and named presets.

The models' own defaults (an MLP encoder and decoder with hidden layers [8, 8], a 2-D latent
space, a Gaussian likelihood with σX = 0.1) are the thesis's sine benchmark (ch. 5). On images
they give a model that cannot fit (a 2-D code for an RGB image through 8 units; loss ≈ 1.6e4 on a
user's 64×64 folder). :func:`choose_model_defaults` looks at the data first:

- **images** (observations C×H×W with both sides ≥ 16): a convolutional encoder and decoder with
  up to four stride-2 stages of 32 channels (as many as both sides can be halved exactly, at
  least 4 pixels left), the 4×4 kernels and 256-unit dense layers of Higgins et al. (2017) and
  Locatello et al. (2019);
- a **latent size of 10** (the size of the disentanglement studies) for models whose default
  latent space has a size (the Euclidean and point latents; not the circle, the torus, the
  atomic blocks or the PCA-like autoencoder, whose latents are their method);
- a **Bernoulli likelihood** for data in [0, 1] (binary images such as dSprites, and grey or
  colour images scaled to [0, 1], as disentanglement_lib trains every data set); data outside
  [0, 1] keep the Gaussian.

Only parts the config leaves out are chosen (``model.encoder`` given at all keeps it); vector
data and every part given keep the model's own defaults. What was chosen is returned (the CLI
prints it) and saved with the run's config. ``PRESETS`` name whole model settings instead:
``mlp`` (the models' own defaults, to opt out), ``conv`` (the image choice above, whatever the
data) and ``locatello`` (the study's 64×64 network, :func:`~latentatlas.models.disentangling.\
locatello_spec`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import ConfigError
from ..registry import MODELS

#: the smallest image side that gets convolutional defaults, and the most stride-2 stages
MIN_IMAGE_SIDE = 16
MAX_STAGES = 4
LATENT_SIZE = 10
#: observations read to find the data's range
PROBE_SIZE = 4096


@dataclass(frozen=True)
class ModelDefaults:
    """A model spec with the parts chosen from the data filled in, what was chosen, and why."""

    model: dict[str, Any]
    chosen: dict[str, Any]
    data: str = ""

    def describe(self) -> str:
        """One line: the data seen and the settings chosen (empty when nothing was chosen)."""
        if not self.chosen:
            return ""
        parts = []
        for key in ("encoder", "decoder"):
            if key in self.chosen:
                stages = len(self.chosen[key].get("channels", ()))
                parts.append(f"{key} {self.chosen[key]['name']} ({stages} stages)")
        if "latent" in self.chosen:
            parts.append(
                f"latent {self.chosen['latent']['name']} dim {self.chosen['latent']['dim']}"
            )
        if "likelihood" in self.chosen:
            parts.append(f"likelihood {self.chosen['likelihood']['name']}")
        return (
            f"defaults chosen from the data ({self.data}): {', '.join(parts)}; set model.* or "
            "--preset mlp to choose otherwise"
        )


def _default_latent(model_name: str) -> dict | None:
    fields = {f.name: f for f in dataclasses.fields(MODELS.get(model_name).Config)}
    latent = fields.get("latent")
    if latent is None or latent.default_factory is dataclasses.MISSING:
        return None
    return dict(latent.default_factory())


def conv_stages(height: int, width: int) -> int:
    """How many stride-2 stages an image of this size takes: both sides halve exactly and keep
    at least 4 pixels, at most :data:`MAX_STAGES`."""
    stages = 0
    while (
        stages < MAX_STAGES
        and height % 2 ** (stages + 1) == 0
        and width % 2 ** (stages + 1) == 0
        and min(height, width) // 2 ** (stages + 1) >= 4
    ):
        stages += 1
    return stages


def _value_range(dataset: Any) -> tuple[float, float, bool]:
    """(min, max, binary) over the first :data:`PROBE_SIZE` observations."""
    n = min(len(dataset), PROBE_SIZE)
    x = dataset.get_batch(torch.arange(n)).x
    binary = bool(((x == 0) | (x == 1)).all())
    return float(x.min()), float(x.max()), binary


def conv_networks(shape: tuple[int, ...]) -> dict[str, dict] | None:
    """The convolutional encoder and decoder for observations of ``shape`` (None when it is not
    an image large enough)."""
    if len(shape) != 3 or min(shape[1:]) < MIN_IMAGE_SIDE:
        return None
    stages = conv_stages(shape[1], shape[2])
    if stages == 0:
        return None
    channels = [32] * stages
    return {
        "encoder": {"name": "conv_encoder", "channels": channels},
        "decoder": {"name": "conv_decoder", "channels": channels},
    }


def choose_model_defaults(model: dict[str, Any], dataset: Any) -> ModelDefaults:
    """``model`` (a run config's model spec) with the parts it leaves out chosen from
    ``dataset`` (see the module docstring)."""
    spec = dict(model)
    name = spec.get("name")
    if name not in MODELS:
        return ModelDefaults(spec, {})
    latent = _default_latent(name)
    if latent is None or "dim" not in latent:  # a latent that is the method: keep its defaults
        return ModelDefaults(spec, {})
    shape = tuple(int(s) for s in dataset.observation_shape)
    networks = conv_networks(shape)
    if networks is None:
        return ModelDefaults(spec, {})  # vectors: the models' own defaults are made for them
    lo, hi, binary = _value_range(dataset)
    kind = "×".join(map(str, shape)) + " images"
    values = "{0, 1}" if binary else f"[{lo:.3g}, {hi:.3g}]"
    chosen: dict[str, Any] = {}
    for key, net in networks.items():
        if key not in spec:
            chosen[key] = net
    if "latent" not in spec:
        chosen["latent"] = {**latent, "dim": LATENT_SIZE}
    if "likelihood" not in spec and lo >= 0.0 and hi <= 1.0:
        chosen["likelihood"] = {"name": "bernoulli"}
    return ModelDefaults({**spec, **chosen}, chosen, f"{kind} with values in {values}")


def _locatello(model: str, shape: tuple[int, ...]) -> dict:
    from ..models.disentangling import locatello_spec

    if len(shape) != 3 or shape[1:] != (64, 64):
        raise ConfigError(f"preset locatello: the study's network takes 64×64 images, got {shape}")
    spec = locatello_spec(model, channels=shape[0])
    spec.pop("name", None)
    return spec


def _conv(model: str, shape: tuple[int, ...]) -> dict:
    networks = conv_networks(shape)
    if networks is None:
        raise ConfigError(
            f"preset conv: expected images C×H×W with sides >= {MIN_IMAGE_SIDE}, got {shape}"
        )
    return networks


#: name → function(model name, observation shape) → model settings (merged under the config's)
PRESETS: dict[str, Callable[[str, tuple[int, ...]], dict]] = {
    "mlp": lambda model, shape: {},
    "conv": _conv,
    "locatello": _locatello,
}


def apply_preset(name: str, model: dict[str, Any], shape: tuple[int, ...]) -> dict[str, Any]:
    """``model`` over the settings of preset ``name`` (the config's own values win)."""
    if name not in PRESETS:
        raise ConfigError(f"preset: unknown preset {name!r}; valid names: {', '.join(PRESETS)}")
    return {**PRESETS[name](str(model.get("name")), tuple(shape)), **model}
