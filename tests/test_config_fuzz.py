"""Property-based fuzzing of configs: every input — a config mapping or a command line's
``--set key=value`` list — either builds a valid config that round-trips, or raises
latent-atlas's own :class:`~latentatlas.errors.ConfigError` with a message. Never a raw
TypeError, OverflowError, RecursionError or the like."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latentatlas.config import apply_overrides
from latentatlas.errors import ConfigError
from latentatlas.train.run import RunConfig

from .conftest import run_cli

# field names that exist (so the fuzzer reaches deep validation) and some that do not
KEYS = st.sampled_from(
    [
        "dataset",
        "model",
        "train",
        "seed",
        "auxiliary",
        "name",
        "n",
        "dim",
        "sigma",
        "latent",
        "encoder",
        "decoder",
        "hidden",
        "likelihood",
        "beta",
        "steps",
        "epochs",
        "lr",
        "betas",
        "batch_size",
        "weight_decay",
        "momentum",
        "gamma",
        "device",
        "grad_clip",
        "schedule",
        "input_shape",
        "vae",
        "sine_circle",
        "euclidean",
        "circle",
        "mlp",
        "bogus",
        "",
    ]
)
NAMES = st.sampled_from(
    [
        "vae",
        "beta_vae",
        "ae",
        "sine_circle",
        "euclidean",
        "circle",
        "mlp",
        "gaussian",
        "bernoulli",
        "adam",
        "sgd",
        "nope",
        "",
    ]
)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-3, max_value=40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e-3, 0.1, 0.5, 1e12, 1e30, 1e400, -0.0]),
    NAMES,
    st.text(max_size=8),
)
VALUES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(KEYS, st.integers(0, 3), st.none()), children, max_size=4),
    ),
    max_leaves=12,
)
CONFIGS = st.dictionaries(st.one_of(KEYS, st.integers(0, 3)), VALUES, max_size=5)
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(data) -> None:
    try:
        config = RunConfig.from_dict(data)
    except ConfigError as exc:
        assert str(exc).strip(), "an error without a message"
        return
    again = RunConfig.from_dict(config.to_dict())
    assert again == config
    for value in (config.train.lr, config.train.weight_decay, config.train.gamma):
        assert math.isfinite(value) and abs(value) <= 3.5e38  # float32's range


@pytest.mark.slow
@FUZZ
@given(CONFIGS)
def test_any_config_mapping_builds_or_raises_a_config_error(data):
    check(data)


PATHS = st.lists(KEYS.filter(bool), min_size=1, max_size=4).map(".".join)
RAW = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "1e400",
            ".nan",
            "-.inf",
            "[1, [2, [3]]]",
            "{1: 2}",
            "[[[[",
            "9" * 30,
            "1e12",
            "null",
            "yes",
            "'x'",
            "{a: {b: {c: 1}}}",
            "[" * 200 + "]" * 200,
            "9" * 5000,
            "[" + "9" * 5000 + "]",
            "1e300",
            "-1e39",
            "9223372036854775808",
        ]
    ),
)


@FUZZ
@given(st.lists(st.tuples(PATHS, RAW), max_size=4))
def test_any_command_line_set_builds_or_raises_a_config_error(pairs):
    items = [f"{key}={raw}" for key, raw in pairs]
    try:
        data = apply_overrides({}, items)
    except ConfigError as exc:
        assert str(exc).strip()
        return
    check(data)


@pytest.mark.slow
def test_a_missing_required_setting_is_named_like_every_other_error(tmp_path):
    """Was: `dataset: ImageFolderConfig.__init__() missing 1 required positional argument`."""
    proc = run_cli(
        "train",
        "--dataset",
        "image_folder",
        "--set",
        "train.steps=5",
        "--out",
        str(tmp_path / "run"),
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: dataset.path: required, not given (folder of image files)"
    )
    assert "__init__" not in proc.stderr and not (tmp_path / "run").exists()
