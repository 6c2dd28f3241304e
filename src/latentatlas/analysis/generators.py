"""Generators G: z → image batch, from a model of this library or from a user's own module.

Methods that work on "any generator" (inversion, directions, organisation) call
:func:`as_generator` once and :func:`check_image_batch` on what it returns, so a decoder of this
library, a GAN written elsewhere (any ``torch.nn.Module``) and a plain callable are treated alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import DataError


class DecoderGenerator(nn.Module):
    """A trained autoencoder's decoder as a generator: z → mean image μX(z)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    @property
    def latent_dim(self) -> int:
        return int(self.model.latent.dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.likelihood.mean(self.model.decode(z))


def as_generator(model: nn.Module | Callable[[torch.Tensor], torch.Tensor]) -> Callable:
    """``model`` as G: an autoencoder of this library becomes its decoder's mean image; any other
    module or callable is used as it is."""
    if hasattr(model, "decode") and hasattr(model, "likelihood") and hasattr(model, "latent"):
        return DecoderGenerator(model)
    if not callable(model):
        raise DataError(f"a generator must be callable (z → images), got {type(model).__name__}")
    return model


def check_image_batch(images: object, n: int, what: str = "the generator") -> torch.Tensor:
    """Refuse an output that is not a finite image batch ``(n, C, H, W)``."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[0] != n:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise DataError(
            f"{what} must return an image batch of shape ({n}, C, H, W) for {n} codes, got {got}"
        )
    return images


@contextmanager
def frozen(generator: object) -> Iterator[None]:
    """A module generator in eval mode with parameter gradients off for the duration, restored
    afterwards. Inversion only needs gradients with respect to z (this saves the weight-gradient
    work), and eval mode makes each image depend on its own code only (no batch statistics), so a
    batched inversion equals one inversion per target. A plain callable is left alone."""
    if not isinstance(generator, nn.Module):
        yield
        return
    params = list(generator.parameters())
    flags = [p.requires_grad for p in params]
    modes = [(m, m.training) for m in generator.modules()]
    generator.eval()
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)
        for m, mode in modes:
            m.train(mode)


@dataclass
class UserGenerator:
    """A generator from a user's own code (:func:`import_generator`)."""

    module: nn.Module
    latent_dim: int
    sampler: Callable[[int], torch.Tensor] | None
    spec: str

    def codes(self, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` codes from the user's sampler, or N(0, I) with ``seed``."""
        if self.sampler is None:
            return torch.randn(n, self.latent_dim, generator=torch.Generator().manual_seed(seed))
        codes = self.sampler(n)
        if not isinstance(codes, torch.Tensor) or codes.shape != (n, self.latent_dim):
            got = tuple(codes.shape) if isinstance(codes, torch.Tensor) else type(codes).__name__
            raise DataError(
                f"{self.spec}: the sampler must return ({n}, {self.latent_dim}), got {got}"
            )
        return codes.detach().float()


def _load_callable(spec: str) -> Callable[[], object]:
    """``module.path:name`` (importable, the working folder included) or ``file.py:name``."""
    import importlib
    import importlib.util
    import sys
    from pathlib import Path

    module_name, sep, attribute = spec.rpartition(":")
    if not sep or not module_name or not attribute:
        raise DataError(f"--generator: expected MODULE:CALLABLE or FILE.py:CALLABLE, got {spec!r}")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name).expanduser()
            if not path.is_file():
                raise DataError(f"--generator: {str(path)!r} does not exist")
            loader_spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(loader_spec)
            loader_spec.loader.exec_module(module)
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))
            module = importlib.import_module(module_name)
    except DataError:
        raise
    except Exception as exc:  # the user's module failed to import: say which and why
        raise DataError(f"--generator: importing {module_name!r} failed: {exc!r}") from None
    if not hasattr(module, attribute):
        raise DataError(f"--generator: {module_name!r} has no {attribute!r}")
    return getattr(module, attribute)


def _first_linear_width(module: nn.Module) -> int | None:
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            return int(layer.in_features)
    return None


def import_generator(spec: str, latent_dim: int | None = None) -> UserGenerator:
    """Build a user's generator from ``spec`` (``my_module:make_generator``): the callable returns
    an ``nn.Module`` mapping codes ``(n, d)`` to images ``(n, C, H, W)``, or a pair (module,
    sampler) with ``sampler(k)`` returning ``(k, d)`` codes. The latent size is ``latent_dim``
    if given, else the module's ``latent_dim`` attribute, else the width of the sampler's codes,
    else the input width of its first linear layer. The module is checked on two codes."""
    made = _load_callable(spec)()
    sampler = None
    if isinstance(made, tuple) and len(made) == 2:
        made, sampler = made
    if not isinstance(made, nn.Module):
        raise DataError(
            f"--generator: {spec} must return a torch.nn.Module (or a pair (module, sampler)), "
            f"got {type(made).__name__}"
        )
    if sampler is not None and not callable(sampler):
        raise DataError(f"--generator: the sampler of {spec} is not callable")
    d = latent_dim or getattr(made, "latent_dim", None)
    if d is None and sampler is not None:
        probe = sampler(1)
        d = int(probe.shape[1]) if isinstance(probe, torch.Tensor) and probe.ndim == 2 else None
    d = d or _first_linear_width(made)
    if not d:
        raise DataError(
            f"--generator: cannot tell the latent size of {spec} (no latent_dim attribute, "
            "sampler or linear first layer): pass --latent-dim"
        )
    made.eval()
    user = UserGenerator(made, int(d), sampler, spec)
    with torch.no_grad():
        try:
            out = made(user.codes(2))
        except Exception as exc:
            raise DataError(
                f"--generator: {spec} fails on codes of shape (2, {d}): {exc!r}"
            ) from None
    check_image_batch(out, 2, what=spec)
    return user
