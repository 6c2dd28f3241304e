"""Validated settings of a reproduction's scales, and ``--set key=value`` on them.

Each experiment describes a scale (``quick``, ``full``, ...) by a frozen dataclass of plain
values: sizes, counts, steps, rates, tuples of them, nested scale dataclasses and data-set spec
mappings. :func:`settings_of` turns one into plain JSON data (what ``reproduction.json`` and the
records in ``reproductions/`` store), and :func:`resolve_settings` applies overrides to one and
rebuilds it with every value checked against the kind of value the named scale holds:

- a key must name a setting (unknown keys list the valid ones; ``a.b`` reaches into nested
  settings and data-set mappings);
- an integer stays an integer (``3.0`` is read as 3), a number a finite number, a flag true or
  false, a word a string, a tuple a non-empty list of values of its elements' kind;
- sizes, counts, steps and rates are never negative, and a setting that is positive in the
  named scale must stay positive (a zero batch or learning rate cannot train anything).

Data-set mappings are checked by the data set's own config when the experiment builds it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from ..config import MAX_INT, _show, apply_overrides
from ..errors import ConfigError

S = TypeVar("S")


def settings_of(scale: Any) -> Any:
    """``scale`` (a dataclass of settings) as plain JSON data: dicts, lists, numbers, strings."""
    if dataclasses.is_dataclass(scale) and not isinstance(scale, type):
        return {f.name: settings_of(getattr(scale, f.name)) for f in dataclasses.fields(scale)}
    if isinstance(scale, (tuple, list)):
        return [settings_of(v) for v in scale]
    if isinstance(scale, Mapping):
        return {str(k): settings_of(v) for k, v in scale.items()}
    return scale


def with_later_defaults(recorded: Mapping[str, Any], scale: Any) -> dict[str, Any]:
    """``recorded`` settings (of an earlier version of ``scale``'s class) with every setting
    added since then filled in with its declared default: a record or a run folder made before
    a setting existed ran with what is now that setting's default, so it still describes the
    scale when the scale keeps the default. Settings ``recorded`` holds are left as they are."""
    filled = dict(recorded)
    if dataclasses.is_dataclass(scale) and not isinstance(scale, type):
        for f in dataclasses.fields(scale):
            if f.name not in filled and f.default is not dataclasses.MISSING:
                filled[f.name] = settings_of(f.default)
    return filled


def resolve_settings(scale: S, overrides: Sequence[str] = (), where: str = "settings") -> S:
    """``scale`` with ``key=value`` ``overrides`` applied (values parsed as YAML), checked
    against the kinds of value ``scale`` holds; a :class:`ConfigError` naming the key otherwise.
    ``where`` names the settings in messages (e.g. the experiment and scale)."""
    if not overrides:
        return scale
    data = apply_overrides(settings_of(scale), list(overrides))
    return _rebuild(scale, data, "", where)


def _rebuild(template: Any, value: Any, key: str, where: str) -> Any:
    name = key or where
    if dataclasses.is_dataclass(template) and not isinstance(template, type):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{name}: expected a mapping of settings, got {_show(value)}")
        names = [f.name for f in dataclasses.fields(template)]
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ConfigError(
                f"{_join(key, unknown[0])}: no such setting of {where}; "
                f"settings: {', '.join(names)}"
            )
        return type(template)(
            **{n: _rebuild(getattr(template, n), value[n], _join(key, n), where) for n in names}
        )
    if isinstance(template, Mapping):  # a data-set spec: checked when the data set is built
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise ConfigError(f"{name}: expected a mapping with string keys, got {_show(value)}")
        return dict(value)
    if isinstance(template, tuple):
        if not isinstance(value, (list, tuple)) or not value:
            raise ConfigError(f"{name}: expected a non-empty list, got {_show(value)}")
        like = template[0] if template else value[0]
        return tuple(_rebuild(like, v, f"{name}[{i}]", where) for i, v in enumerate(value))
    return _scalar(template, value, name)


def _scalar(template: Any, value: Any, name: str) -> Any:
    """``value`` checked against the kind of ``template`` (bool, int, float, str or None)."""
    if isinstance(template, bool) or (template is None and isinstance(value, bool)):
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{name}: expected true or false, got {_show(value)}")
    if isinstance(template, str):
        if isinstance(value, str):
            return value
        raise ConfigError(f"{name}: expected a string, got {_show(value)}")
    if template is None and (value is None or isinstance(value, str)):
        return value
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or abs(value) >= MAX_INT:
        kind = "an integer" if isinstance(template, int) else "a finite number"
        raise ConfigError(f"{name}: expected {kind}, got {_show(value)}")
    if isinstance(template, int):
        if isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{name}: expected an integer, got {_show(value)}")
        value = int(value)
    elif isinstance(template, float):
        value = float(value)
    if value < 0 or (isinstance(template, (int, float)) and template > 0 and value <= 0):
        least = "a positive value" if template else "a value >= 0"
        raise ConfigError(f"{name}: expected {least}, got {_show(value)}")
    return value


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name
