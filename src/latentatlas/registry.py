"""Decorator registries: names → classes for datasets, models, latent spaces, networks, ...

A registry replaces if/elif ladders: a class registers itself with ``@DATASETS.register("name")``
and is built with ``DATASETS.get("name")``. Unknown names raise :class:`UnknownNameError`, which
lists the valid names.

This module sits below everything else: it imports no part of the library statically but the
leaf modules errors and memory (allocation failures become one-line errors). Each
registry knows the *name* of the package whose import registers its built-in entries (e.g.
``latentatlas.data`` for datasets) and imports it on the first lookup, so ``DATASETS.names()``
is complete even when only the registry was imported, and looking up a dataset never imports the
models or the trainer.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import ConfigError, UnknownNameError
from .memory import allocation_errors

T = TypeVar("T")


class Registry(Generic[T]):
    """A named mapping from string keys to objects, filled by a decorator."""

    def __init__(self, kind: str, builtins: str | None = None):
        """``kind`` names the entries in messages; ``builtins`` is the module that registers the
        built-in entries when imported (imported lazily, on the first lookup)."""
        self.kind = kind
        self.builtins = builtins
        self._builtins_loaded = builtins is None
        self._items: dict[str, T] = {}
        self._library: set[str] = set()  # names registered by the library's own modules

    def _load_builtins(self) -> None:
        if not self._builtins_loaded:
            self._builtins_loaded = True
            importlib.import_module(self.builtins)

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering an object under ``name`` (names are unique per registry)."""
        caller = sys._getframe(1).f_globals.get("__name__", "")
        library = caller == "latentatlas" or caller.startswith("latentatlas.")

        def decorator(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ConfigError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            if library:
                self._library.add(name)
            try:
                obj.registry_name = name
            except (AttributeError, TypeError):
                pass
            return obj

        return decorator

    def get(self, name: str) -> T:
        """The object registered under ``name``; raises :class:`UnknownNameError` otherwise."""
        self._load_builtins()
        if not isinstance(name, str) or name not in self._items:
            raise UnknownNameError(self.kind, str(name), self.names())
        return self._items[name]

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self._load_builtins()
        return sorted(self._items)

    def builtin_names(self) -> list[str]:
        """The names the library itself registers (not a user's), sorted."""
        self._load_builtins()
        return [n for n in self.names() if n in self._library]

    def __contains__(self, name: object) -> bool:
        self._load_builtins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self) -> list[tuple[str, T]]:
        return [(n, self._items[n]) for n in self.names()]


DATASETS: Registry = Registry("dataset", "latentatlas.data")
MODELS: Registry = Registry("model", "latentatlas.models")
LATENT_SPACES: Registry = Registry("latent space", "latentatlas.latent")
NETWORKS: Registry = Registry("network", "latentatlas.nets")
LIKELIHOODS: Registry = Registry("likelihood", "latentatlas.models.likelihoods")
ACTIVATIONS: Registry = Registry("activation", "latentatlas.nets.blocks")
OPTIMIZERS: Registry = Registry("optimizer", "latentatlas.train.optim")
SCHEDULES: Registry = Registry("schedule", "latentatlas.train.optim")
REDUCTORS: Registry = Registry("reductor", "latentatlas.analysis.reductors")
AUXILIARY: Registry = Registry("auxiliary objective", "latentatlas.analysis.spectral")
EXPERIMENTS: Registry = Registry("experiment", "latentatlas.papers.catalogue")
LOGGERS: Registry = Registry("logger", "latentatlas.train.loggers")


def _split_spec(registry: Registry, spec: dict, path: str) -> tuple[type, dict]:
    """The registered class named by ``spec`` and the other entries (its parameters)."""
    if not isinstance(spec, dict) or "name" not in spec:
        raise ConfigError(
            f"{path or registry.kind}: expected a mapping with a 'name' key, got {spec!r}"
        )
    return registry.get(spec["name"]), {k: v for k, v in spec.items() if k != "name"}


def build(registry: Registry, spec: dict, path: str = "", **extra):
    """Build a registered component from ``{"name": ..., **params}``.

    The class registered under ``name`` must define a nested ``Config`` and a
    ``from_config(config, **extra)`` classmethod; ``params`` are validated by that config.
    """
    cls, params = _split_spec(registry, spec, path)
    config = cls.Config.from_dict(params, path=path)
    with allocation_errors(path or registry.kind):  # sizes no machine here can hold
        return cls.from_config(config, **extra)


def check_spec(registry: Registry, spec: dict, path: str) -> None:
    """Validate ``{"name": ..., **params}`` against the registered class's ``Config``."""
    cls, params = _split_spec(registry, spec, path)
    cls.Config.from_dict(params, path=path)


def resolve(registry: Registry, spec: dict, path: str = "") -> dict:
    """The complete spec: ``name`` plus every parameter, defaults filled in, nested specs too.

    What a run folder stores, so that a run is rebuilt with the settings it was trained with
    even after a default changes.
    """
    cls, params = _split_spec(registry, spec, path)
    config = cls.Config.from_dict(params, path=path)
    out = {"name": spec["name"], **config.to_dict()}
    for f in dataclasses.fields(config):
        nested = f.metadata.get("spec")
        if isinstance(nested, Registry) and isinstance(out.get(f.name), dict):
            out[f.name] = resolve(nested, out[f.name], f"{path}.{f.name}" if path else f.name)
    return out


LISTED = {
    "datasets": "DATASETS",
    "models": "MODELS",
    "latents": "LATENT_SPACES",
    "networks": "NETWORKS",
    "likelihoods": "LIKELIHOODS",
    "optimizers": "OPTIMIZERS",
    "schedules": "SCHEDULES",
    "reductors": "REDUCTORS",
    "loggers": "LOGGERS",
}
"""The registries ``latent-atlas list WHAT`` shows, by ``WHAT``."""

_TABLE_ORDER = (
    ("DATASETS", "`latent-atlas list datasets`"),
    ("MODELS", "`latent-atlas list models`"),
    ("LATENT_SPACES", "`latent-atlas list latents`"),
    ("NETWORKS", "`latent-atlas list networks`"),
    ("LIKELIHOODS", "`latent-atlas list likelihoods`"),
    ("ACTIVATIONS", "—"),
    ("OPTIMIZERS", "`latent-atlas list optimizers`"),
    ("SCHEDULES", "`latent-atlas list schedules`"),
    ("REDUCTORS", "`latent-atlas list reductors`"),
    ("AUXILIARY", "— (`auxiliary:` of a run config)"),
    ("EXPERIMENTS", "`latent-atlas reproduce --list`"),
    ("LOGGERS", "`latent-atlas list loggers`"),
)


def registries_markdown() -> str:
    """The table of every registry and its built-in names, as docs/models.md shows it (a test
    keeps the page in sync: regenerate with
    ``python -c "from latentatlas.registry import registries_markdown as r; print(r())"``)."""
    rows = ["| registry | listed by | built-in names |", "|---|---|---|"]
    for name, listed in _TABLE_ORDER:
        entries = globals()[name].builtin_names()
        rows.append(f"| `{name}` | {listed} | " + ", ".join(f"`{n}`" for n in entries) + " |")
    return "\n".join(rows)
