"""Base class for configs: dataclasses validated on construction, round-tripping to JSON/YAML.

Every object of the library that is saved or built from a file (datasets, models, trainers, runs)
is described by a subclass of :class:`Config`. Construction checks each field's type (from its
annotation), its range and allowed values (from :func:`field` metadata), and names that must be in
a registry; a failure raises :class:`~latentatlas.errors.ConfigError` naming the field and what was
expected. ``to_dict``/``from_dict`` are exact inverses, so a run folder's ``config.json`` rebuilds
the same objects.

Example::

    @dataclass(frozen=True)
    class MLPConfig(Config):
        hidden: tuple[int, ...] = field((8, 8), ge=1, doc="units per hidden layer")
        activation: str = field("relu", registry=ACTIVATIONS)
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import reprlib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import yaml

from .errors import ConfigError, LatentAtlasError


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats: ``1e-4`` is a number, not the string "1e-4".

    (YAML 1.1, which PyYAML implements, requires a dot in the mantissa: ``1.0e-4``.)
    """


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    """A YAML mapping whose keys must be unique: a key given twice is an error that names its
    line (PyYAML would silently keep the last value)."""
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key: the config check reports it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"{key!r:.60} appears twice in one mapping", key_node.start_mark
            )
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _yaml_load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)


C = TypeVar("C", bound="Config")
#: integers of a config must fit in 64 bits (what torch and NumPy index with)
MAX_INT = 2**63
#: the largest float32: a config number beyond it overflows the tensors it scales
FLOAT32_MAX = 3.4028234663852886e38
_MISSING = dataclasses.MISSING


def field(
    default: Any = _MISSING,
    *,
    default_factory: Any = _MISSING,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: Sequence[Any] | None = None,
    registry: Any = None,
    spec: Any = None,
    convert: Any = None,
    doc: str = "",
) -> Any:
    """A dataclass field with validation metadata.

    ``ge``/``gt``/``le``/``lt`` bound numbers (and each element of a tuple of numbers);
    ``choices`` lists allowed values; ``registry`` is a :class:`~latentatlas.registry.Registry`
    whose names the (string) value must be one of; ``spec`` (the registry of the component) marks
    a component spec ``{"name": ..., **params}`` whose name, when left out, comes from the default
    (so that ``--set model.encoder.hidden=[8]`` keeps the default encoder), and which
    :func:`~latentatlas.registry.resolve` expands with every default; ``convert`` turns a value of
    another accepted kind into the declared type before it is checked (e.g. a ``torch.device``
    into its name); ``doc`` is shown by ``latent-atlas list``.
    """
    meta = {"ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices, "registry": registry}
    meta.update(spec=spec, convert=convert, doc=doc)
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 3, 60, 60, 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 6
#: how deeply a config may nest (a real one nests 4 or 5 levels)
MAX_DEPTH = 32


def _show(value: Any) -> str:
    """A short repr of a user's value for an error message (long numbers, strings and deeply
    nested lists are abbreviated)."""
    return _SHORT.repr(value)


def _check_depth(data: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse mappings and lists nested deeper than ``limit`` (checked without recursion)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise ConfigError(f"config: nested more than {limit} levels deep")
        if isinstance(node, Mapping):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend((v, depth + 1) for v in node)


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if tp is type(None):
        return "null"
    if isinstance(tp, type):
        return {int: "an integer", float: "a number", bool: "true/false", str: "a string"}.get(
            tp, tp.__name__
        )
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (tuple, list):
        args = get_args(tp)
        return f"a list of {_describe(args[0])}" if args else "a list"
    if origin is dict:
        return "a mapping"
    return str(tp)


def _coerce(value: Any, tp: Any, name: str) -> Any:
    """Check ``value`` against annotation ``tp``; return it in canonical form (tuples, configs)."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        errors = []
        for arg in get_args(tp):
            try:
                return _coerce(value, arg, name)
            except ConfigError as exc:
                errors.append(exc)
        raise ConfigError(f"{name}: expected {_describe(tp)}, got {_show(value)}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{name}: expected null, got {_show(value)}")
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise ConfigError(f"{name}: expected {_describe(tp)}, got {_show(value)}")
    if isinstance(tp, type) and issubclass(tp, Config):
        if isinstance(value, tp):
            return value
        if isinstance(value, Mapping):
            return tp.from_dict(value, path=name)
        raise ConfigError(f"{name}: expected a mapping of {tp.__name__} fields, got {_show(value)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) >= MAX_INT:
                raise ConfigError(f"{name}: expected an integer below 2**63, got {_show(value)}")
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:  # an int beyond a float's range
                raise ConfigError(f"{name}: expected a finite number, got {_show(value)}") from None
            if not math.isfinite(value):
                raise ConfigError(f"{name}: expected a finite number, got {value}")
            if abs(value) > FLOAT32_MAX:  # the tensors it multiplies are float32
                raise ConfigError(
                    f"{name}: expected a finite number within float32's range (|x| <= "
                    f"3.4e38), got {_show(value)}"
                )
            return value
    elif tp is str:
        if isinstance(value, str):
            return value
    elif origin in (tuple, list) or tp in (tuple, list):
        if isinstance(value, (list, tuple)):
            args = get_args(tp)
            if args and args[-1] is not Ellipsis and origin is tuple:
                if len(args) != len(value):
                    raise ConfigError(f"{name}: expected {len(args)} values, got {_show(value)}")
                items = [_coerce(v, a, f"{name}[{i}]") for i, (v, a) in enumerate(zip(value, args))]
            else:
                elem = args[0] if args else Any
                items = [_coerce(v, elem, f"{name}[{i}]") for i, v in enumerate(value)]
            return tuple(items) if (origin is tuple or tp is tuple) else list(items)
    elif origin is dict or tp is dict:
        if isinstance(value, Mapping):
            bad = [k for k in value if not isinstance(k, str)]
            if bad:
                raise ConfigError(f"{name}: keys must be strings, got {_show(bad[0])}")
            return dict(value)
    else:  # an annotation we do not check (e.g. a callable); accept as is
        return value
    raise ConfigError(f"{name}: expected {_describe(tp)}, got {_show(value)}")


def _check_meta(value: Any, meta: Mapping[str, Any], name: str) -> None:
    if value is None:
        return
    values = value if isinstance(value, (tuple, list)) else (value,)
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            for key, ok, word in (
                ("ge", lambda a, b: a >= b, ">="),
                ("gt", lambda a, b: a > b, ">"),
                ("le", lambda a, b: a <= b, "<="),
                ("lt", lambda a, b: a < b, "<"),
            ):
                bound = meta.get(key)
                if bound is not None and not ok(v, bound):
                    raise ConfigError(
                        f"{name}: expected a value {word} {bound}, got {_show(value)}"
                    )
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(
            f"{name}: expected one of {', '.join(map(repr, choices))}, got {_show(value)}"
        )
    registry = meta.get("registry")
    if registry is not None and value not in registry:
        raise ConfigError(
            f"{name}: unknown {registry.kind} {_show(value)}; "
            f"valid names: {', '.join(registry.names())}"
        )


def _plain(value: Any) -> Any:
    """Convert a config value to JSON-compatible plain data."""
    if isinstance(value, Config):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints`` of a config class, resolved once per class: resolving
    evaluates every annotation string, which was most of the time of building a config."""
    return typing.get_type_hints(cls)


@dataclasses.dataclass(frozen=True)
class Config:
    """Base of all configs: validated on construction, immutable, serialisable.

    Subclasses are ``@dataclass(frozen=True)`` and may override :meth:`validate` for checks that
    involve several fields (raise :class:`ConfigError`).
    """

    def __post_init__(self) -> None:
        hints = _type_hints(type(self))
        for f in dataclasses.fields(self):
            if not f.init:
                continue
            value = getattr(self, f.name)
            if f.metadata.get("convert") is not None and value is not None:
                value = f.metadata["convert"](value)
            value = _coerce(value, hints.get(f.name, Any), f.name)
            if f.metadata.get("spec") and isinstance(value, dict) and "name" not in value:
                default = f.default_factory() if f.default_factory is not _MISSING else f.default
                if isinstance(default, dict):
                    value = {**default, **value}
            _check_meta(value, f.metadata, f.name)
            object.__setattr__(self, f.name, value)
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; override in subclasses."""

    # -- round trips -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (lists for tuples), the inverse of :meth:`from_dict`."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self) if f.init}

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any], path: str = "") -> C:
        """Build from a mapping; unknown keys and bad values raise :class:`ConfigError`."""
        if not isinstance(data, Mapping):
            where = path or cls.__name__
            raise ConfigError(f"{where}: expected a mapping of fields, got {_show(data)}")
        prefix = f"{path}." if path else ""
        if not path:
            _check_depth(data)
        keys = list(data)
        bad = [k for k in keys if not isinstance(k, str)]
        if bad:
            raise ConfigError(
                f"{prefix}{_show(bad[0])}: field names must be strings, got "
                f"{type(bad[0]).__name__} {_show(bad[0])} (quote it in YAML)"
            )
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        unknown = sorted(set(keys) - set(names))
        if unknown:
            raise ConfigError(
                f"{prefix}{unknown[0]}: unknown field of {cls.__name__}; "
                f"valid fields: {', '.join(names)}"
            )
        required = [
            f
            for f in dataclasses.fields(cls)
            if f.init
            and f.name not in data
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        if required:
            doc = required[0].metadata.get("doc")
            raise ConfigError(
                f"{prefix}{required[0].name}: required, not given" + (f" ({doc})" if doc else "")
            )
        try:
            return cls(**dict(data))
        except ConfigError as exc:
            if prefix and not str(exc).startswith(prefix):
                raise ConfigError(f"{prefix}{exc}") from None
            raise
        except TypeError as exc:  # a required field is missing
            raise ConfigError(f"{path or cls.__name__}: {exc}") from None

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_json(cls: type[C], text: str) -> C:
        return cls.from_dict(json.loads(text))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls: type[C], text: str) -> C:
        return cls.from_dict(_yaml_load(text) or {})

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def field_table(cls) -> list[tuple[str, str, str]]:
        """(name, default as text — ``"(required)"`` when there is none —, doc) per field, for
        help output such as ``latent-atlas list --fields``."""
        rows = []
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            if f.default is not _MISSING:
                default = f"= {f.default!r}"
            elif f.default_factory is not _MISSING:
                default = f"= {f.default_factory()!r}"
            else:
                default = "(required)"
            rows.append((f.name, default, f.metadata.get("doc", "")))
        return rows


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error on one line: where (line and column, 1-based) and what."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}" + (f" ({context})" if context else "") + " — not valid YAML/JSON"


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON file into a dict, with a clear error for missing or malformed files."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":  # strict JSON: YAML would accept a trailing comma
            data = json.loads(text)
        else:
            data = _yaml_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"config file {str(path)!r}: line {exc.lineno}, column {exc.colno}: {exc.msg} — not "
            "valid JSON"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r}: {yaml_problem(exc)}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8 text") from None
    except ValueError:  # an integer of more digits than Python converts (4300)
        raise ConfigError(
            f"config file {str(path)!r}: an integer of thousands of digits (integers must be "
            "below 2**63)"
        ) from None
    except RecursionError:
        raise ConfigError(f"config file {str(path)!r} is nested too deeply") from None
    except OSError as exc:
        raise ConfigError(f"config file {str(path)!r}: {exc.strerror or exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {str(path)!r} must hold a mapping, got {type(data).__name__}"
        )
    return data


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a nested dict, in place.

    >>> apply_overrides({"model": {"name": "vae"}}, ["model.latent_dim=2"])
    {'model': {'name': 'vae', 'latent_dim': 2}}
    """
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected key=value, e.g. train.steps=1000")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        if not key.strip():
            raise ConfigError(f"override {item!r}: empty key")
        if not all(parts):
            raise ConfigError(f"override {item!r}: the key has an empty part (e.g. 'a..b')")
        try:
            value = _yaml_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"override {item!r}: cannot parse value ({yaml_problem(exc)})"
            ) from None
        except RecursionError:
            raise ConfigError(f"override {item!r}: value nested too deeply") from None
        except ValueError:  # an integer of more digits than Python converts (4300)
            raise ConfigError(
                f"override {_show(item)}: cannot parse value (an integer of thousands of digits; "
                "integers must be below 2**63)"
            ) from None
        node = data
        for p in parts[:-1]:
            child = node.setdefault(p, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {p!r} is not a section")
            node = child
        node[parts[-1]] = value
    return data


__all__ = [
    "Config",
    "ConfigError",
    "LatentAtlasError",
    "apply_overrides",
    "field",
    "read_config_file",
]


def first_difference(old: Any, new: Any, key: str = "") -> tuple[str, Any, Any]:
    """The first (dotted) key at which two JSON values differ, with both values there."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for k in [*old, *[k for k in new if k not in old]]:
            if old.get(k) != new.get(k):
                return first_difference(old.get(k), new.get(k), f"{key}.{k}" if key else str(k))
    return key or "value", old, new
