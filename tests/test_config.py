from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from latentatlas.config import Config, apply_overrides, field, read_config_file
from latentatlas.errors import ConfigError, UnknownNameError
from latentatlas.registry import DATASETS, MODELS, Registry


@dataclass(frozen=True)
class Inner(Config):
    width: int = field(4, ge=1)


@dataclass(frozen=True)
class Outer(Config):
    name: str = field("a", choices=("a", "b"))
    rate: float = field(0.5, gt=0.0, le=1.0)
    sizes: tuple[int, ...] = field((1, 2), ge=0)
    maybe: int | None = None
    inner: Inner = field(default_factory=Inner)
    dataset: str = field("sine_circle", registry=DATASETS)


def test_round_trip_dict_json_yaml():
    cfg = Outer(name="b", rate=1, sizes=[3, 4], inner={"width": 7})
    assert cfg.rate == 1.0 and isinstance(cfg.rate, float)
    assert cfg.sizes == (3, 4) and cfg.inner == Inner(7)
    assert Outer.from_dict(cfg.to_dict()) == cfg
    assert Outer.from_json(cfg.to_json()) == cfg
    assert Outer.from_yaml(cfg.to_yaml()) == cfg
    assert cfg.to_dict()["sizes"] == [3, 4]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rate": 0}, "rate: expected a value > 0.0"),
        ({"rate": "fast"}, "rate: expected a number"),
        ({"name": "c"}, "name: expected one of 'a', 'b'"),
        ({"sizes": [1, -1]}, "sizes: expected a value >= 0"),
        ({"sizes": [1, "x"]}, "sizes[1]: expected an integer"),
        ({"maybe": 1.5}, "maybe: expected an integer or null"),
        ({"inner": {"width": 0}}, "inner.width: expected a value >= 1"),
        ({"inner": {"height": 2}}, "inner.height: unknown field of Inner"),
        ({"dataset": "mnistt"}, "dataset: unknown dataset 'mnistt'; valid names:"),
        ({"colour": 1}, "colour: unknown field of Outer"),
    ],
)
def test_validation_names_the_field(kwargs, message):
    with pytest.raises(ConfigError) as info:
        Outer.from_dict(kwargs)
    assert message in str(info.value)


def test_bool_is_not_an_int():
    with pytest.raises(ConfigError):
        Inner(width=True)


def test_overrides_parse_yaml_values():
    data = apply_overrides({"model": {"name": "vae"}}, ["model.beta=4", "train.steps=10", "x=a"])
    assert data == {"model": {"name": "vae", "beta": 4}, "train": {"steps": 10}, "x": "a"}
    with pytest.raises(ConfigError, match="expected key=value"):
        apply_overrides({}, ["nonsense"])
    with pytest.raises(ConfigError, match="not a section"):
        apply_overrides({"model": "vae"}, ["model.beta=1"])


def test_read_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_config_file(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_config_file(bad)
    lst = tmp_path / "list.json"
    lst.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        read_config_file(lst)


def test_registry_lists_valid_names():
    with pytest.raises(UnknownNameError) as info:
        MODELS.get("nope")
    assert info.value.valid == MODELS.names()
    assert "vae" in str(info.value) and "beta_vae" in str(info.value)


def test_registry_refuses_duplicates():
    reg: Registry = Registry("thing")
    reg.register("a")(int)
    with pytest.raises(ConfigError, match="registered twice"):
        reg.register("a")(float)


@pytest.mark.slow
def test_registry_loads_only_its_own_builtins():
    """Looking up datasets registers the built-in datasets without importing models or training."""
    code = (
        "import sys\n"
        "from latentatlas.registry import DATASETS\n"
        "assert 'sine_circle' in DATASETS.names(), DATASETS.names()\n"
        "assert 'latentatlas.models' not in sys.modules\n"
        "assert 'latentatlas.train' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_yaml_numbers_in_exponent_notation_are_numbers(tmp_path):
    # PyYAML (YAML 1.1) reads 1e-4 as a string; configs and --set read it as YAML 1.2 does
    assert apply_overrides({}, ["train.lr=1e-4", "a=3E2", "b=1e30", "c=abc"]) == {
        "train": {"lr": 1e-4},
        "a": 300.0,
        "b": 1e30,
        "c": "abc",
    }
    path = tmp_path / "c.yaml"
    path.write_text("lr: 1e-4\nsteps: 10\nname: 1e-4x\n")
    assert read_config_file(path) == {"lr": 1e-4, "steps": 10, "name": "1e-4x"}
