"""Disentanglement metrics: the semantic checks every metric must pass without training."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from latentatlas.analysis.metrics import (
    METRICS,
    GroundTruth,
    dci_from_importance,
    evaluate_metrics,
    mig_from,
    modularity_from,
    posterior_mean,
    sap_from,
)
from latentatlas.data.base import Batch, FactorDataset, InMemoryDataset
from latentatlas.data.factors import Factor, FactorSpace
from latentatlas.errors import ConfigError, DataError, UnknownNameError

SPACE = FactorSpace(
    [
        Factor("shape", 0, 2, size=3, labels=("square", "ellipse", "heart")),
        Factor("scale", 0.5, 1.0, size=6),
        Factor("angle", 0, 2 * np.pi, size=10, periodic=True),
        Factor("x", 0, 1, size=8),
        Factor("y", 0, 1, size=8),
        Factor("hue", 0, 1),  # continuous: 20 bins for the classifiers
    ]
)


class Factors(FactorDataset):
    """Observations are the factor values themselves (rendered on demand)."""

    factor_space = SPACE

    def __len__(self) -> int:
        return 100_000

    @property
    def observation_shape(self):
        return (len(SPACE),)

    def render(self, factors):
        return torch.as_tensor(factors, dtype=torch.float32)

    def get_batch(self, indices):
        g = torch.Generator().manual_seed(int(torch.as_tensor(indices).sum()))
        values = SPACE.sample(len(indices), g)
        return Batch(self.render(values), values)


def true_factors(x):
    return x


def zeros(x):
    return torch.zeros(len(x), 4)


def duplicated(x):
    return torch.cat([x, x], 1)


FAST = dict(preset="fast", seed=0)


def test_true_factors_score_near_one_and_zeros_score_low():
    data = Factors()
    good = evaluate_metrics(
        data, true_factors, ["mig", "factor_vae", "beta_vae", "sap", "modularity"], **FAST
    )
    for name in ("mig", "factor_vae", "beta_vae", "sap", "modularity"):
        assert good[name] >= 0.9, (name, good[name])
    bad = evaluate_metrics(
        data, zeros, ["mig", "factor_vae", "beta_vae", "sap", "modularity"], **FAST
    )
    for name in ("mig", "factor_vae", "beta_vae", "sap", "modularity"):
        assert bad[name] <= 0.2, (name, bad[name])
    assert bad["factor_vae_active_dims"] == 0


def test_duplicating_each_factor_drives_mig_down():
    scores = evaluate_metrics(Factors(), duplicated, ["mig"], **FAST)
    assert scores["mig"] <= 0.1
    assert set(scores) == {"mig", *(f"mig/{n}" for n in SPACE.names)}


def test_dci_on_hand_built_importance_matrices():
    assert dci_from_importance(np.eye(4)) == pytest.approx(
        {"dci_disentanglement": 1.0, "dci_completeness": 1.0}, abs=1e-6
    )
    # every factor split evenly over two codes: disentangled codes, half-complete factors
    redundant = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=float)
    scores = dci_from_importance(redundant)
    assert scores["dci_disentanglement"] == pytest.approx(1.0, abs=1e-6)
    assert scores["dci_completeness"] == pytest.approx(1 - np.log(2) / np.log(4), abs=1e-6)
    # one code for all factors: complete but not disentangled
    shared = np.array([[1, 1, 1], [0, 0, 0]], dtype=float)
    scores = dci_from_importance(shared)
    assert scores["dci_disentanglement"] == pytest.approx(0.0, abs=1e-6)
    assert scores["dci_completeness"] == pytest.approx(1.0, abs=1e-6)
    # a factor no code captures adds nothing (its weight is zero); informativeness shows it
    missed = np.array([[1, 0, 0], [0, 1, 0]], dtype=float)
    assert dci_from_importance(missed)["dci_disentanglement"] == pytest.approx(1.0, abs=1e-6)
    assert dci_from_importance(np.zeros((3, 2)))["dci_disentanglement"] == 0.0


def test_dci_end_to_end_on_true_factors_and_on_noise():
    data = Factors()
    good = evaluate_metrics(data, true_factors, ["dci"], **FAST)
    assert good["dci_disentanglement"] > 0.9 and good["dci_completeness"] > 0.9
    assert good["dci_informativeness_test"] > 0.9

    def noise(x):
        return torch.randn(len(x), 6, generator=torch.Generator().manual_seed(len(x)))

    bad = evaluate_metrics(data, noise, ["dci"], **FAST)
    assert bad["dci_informativeness_test"] < 0.5


@pytest.mark.slow
def test_dci_lightgbm_trees_agree_with_the_studys_sklearn_trees():
    """The default LightGBM trees give scores close to the study's scikit-learn estimator (the
    gap has either sign; measured up to 0.064 here), on three draws of a mixed representation."""
    from latentatlas.analysis.metrics.dci import importance_matrix

    mixing = np.array([[1.0, 0.3, 0.0], [0.0, 1.0, 0.0], [0.0, 0.5, 1.0], [0.2, 0.2, 0.2]])
    for seed in (1, 3, 5):
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, 4, (600, 3))
        codes = labels @ mixing.T + 0.3 * rng.standard_normal((600, 4))
        split = (codes[:400], labels[:400], codes[400:], labels[400:])
        scores = {}
        for trees in ("lightgbm", "sklearn"):
            r, _, acc_test = importance_matrix(*split, 1, trees)
            assert r.sum(0) == pytest.approx(np.ones(3))  # each factor's importances sum to 1
            scores[trees] = {**dci_from_importance(r), "test": acc_test}
        for key, value in scores["sklearn"].items():
            assert scores["lightgbm"][key] == pytest.approx(value, abs=0.08), (seed, key)
    # scikit-learn's trees fitted in parallel processes: the same importances
    serial, _, _ = importance_matrix(*split, 1, "sklearn")
    parallel, _, _ = importance_matrix(*split, 2, "sklearn")
    assert np.allclose(serial, parallel)
    with pytest.raises(UnknownNameError, match="DCI trees"):
        importance_matrix(*split, 1, "xgboost")


def test_presets_study_is_standard_with_the_studys_estimator():
    from latentatlas.analysis.metrics import PRESETS

    assert METRICS["dci"].settings("study") == {**METRICS["dci"].standard, "trees": "sklearn"}
    assert METRICS["mig"].settings("study") == METRICS["mig"].standard
    assert METRICS["sap"].settings("study") == {**METRICS["sap"].standard, "classify": "all"}
    assert "trees" not in METRICS["dci"].settings("standard")  # the LightGBM default
    with pytest.raises(UnknownNameError, match="metric preset"):
        METRICS["dci"].settings("slow")
    from latentatlas.cli import evaluate

    preset_option = next(p for p in evaluate.params if p.name == "preset")
    assert tuple(preset_option.type.choices) == PRESETS
    from dataclasses import fields

    from latentatlas.tools.sweep import SweepConfig

    sweep_preset = next(f for f in fields(SweepConfig) if f.name == "preset")
    assert tuple(sweep_preset.metadata["choices"]) == PRESETS


def test_gap_functions_and_modularity_from_matrices():
    assert sap_from(np.array([[0.9, 0.1], [0.1, 0.8], [0.0, 0.0]])) == pytest.approx(0.75)
    assert modularity_from(np.array([[1.0, 0.0], [0.0, 1.0]])) == pytest.approx(1.0)
    assert modularity_from(np.array([[1.0, 1.0], [0.0, 0.0]])) == pytest.approx(0.0)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, (1000, 2))
    codes = np.concatenate([labels, rng.normal(size=(1000, 1))], 1).astype(float)
    assert mig_from(codes, labels).min() > 0.9


def test_unsupervised_scores_are_zero_for_independent_codes():
    space = FactorSpace([Factor("a", 0, 1), Factor("b", 0, 1), Factor("c", 0, 1)])
    x = torch.rand(4000, 3, generator=torch.Generator().manual_seed(1))
    data = InMemoryDataset(x, x, space)
    independent = evaluate_metrics(data, true_factors, ["unsupervised"], **FAST)
    assert abs(independent["gaussian_total_correlation"]) < 0.01
    assert abs(independent["gaussian_wasserstein_correlation"]) < 0.01

    def mixed(x):
        return torch.stack([x[:, 0], x[:, 0] + 0.1 * x[:, 1], x[:, 2]], 1)

    dependent = evaluate_metrics(data, mixed, ["unsupervised"], **FAST)
    assert dependent["gaussian_total_correlation"] > 1.0
    assert dependent["mutual_info_score"] > independent["mutual_info_score"]


def test_in_memory_datasets_fix_factors_by_their_labels():
    values = SPACE.sample(3000, torch.Generator().manual_seed(2))
    data = InMemoryDataset(values.float(), values, SPACE)
    gt = GroundTruth(data)
    assert not gt.renders
    x = gt.sample_fixed(np.array([1, 4]), 16, torch.Generator().manual_seed(3))
    labels = gt.labels(x.double())
    assert len(set(labels[:16, 1])) == 1 and len(set(labels[16:, 4])) == 1
    a, b = gt.sample_pairs(np.array([0]), 32, torch.Generator().manual_seed(4))
    assert np.array_equal(gt.labels(a.double())[:, 0], gt.labels(b.double())[:, 0])
    scores = evaluate_metrics(data, true_factors, ["factor_vae", "beta_vae"], **FAST)
    assert scores["factor_vae"] >= 0.9 and scores["beta_vae"] >= 0.9


def test_bad_input_is_refused_clearly():
    no_factors = InMemoryDataset(torch.rand(100, 3))
    with pytest.raises(DataError, match="needs ground-truth factors.*mig"):
        evaluate_metrics(no_factors, true_factors, ["mig"], **FAST)

    def nan(x):
        out = x.clone()
        out[0, 0] = float("nan")
        return out

    with pytest.raises(DataError, match="NaN"):
        evaluate_metrics(Factors(), nan, ["mig"], **FAST)
    with pytest.raises(UnknownNameError, match="unknown metric 'mgi'"):
        evaluate_metrics(Factors(), true_factors, ["mgi"])
    with pytest.raises(DataError, match="fewer than the 20 bins"):
        mig_from(np.zeros((10, 3)), np.zeros((10, 2), dtype=int))
    assert set(METRICS) == {
        "beta_vae",
        "factor_vae",
        "mig",
        "dci",
        "sap",
        "modularity",
        "irs",
        "mig_sup",
        "jemmig",
        "dcimig",
        "dci_es",
        "infomec",
        "z_max_var",
        "unsupervised",
    }


def test_posterior_mean_representation_of_a_model():
    from latentatlas.registry import MODELS, build

    torch.manual_seed(0)
    vae = build(
        MODELS, {"name": "vae", "input_shape": [6], "latent": {"name": "euclidean", "dim": 3}}
    )
    represent = posterior_mean(vae, batch_size=7)
    x = torch.rand(20, 6)
    codes = represent(x)
    assert codes.shape == (20, 3)
    assert torch.allclose(codes, vae.latent.mean(vae.encode(x)).detach())
    sampled = posterior_mean(vae, sample=True, seed=1)(x)
    assert not torch.allclose(sampled, codes)


def test_scores_that_compare_factors_need_two_of_them():
    space = FactorSpace([Factor("a", 0, 1, size=5)])
    data = InMemoryDataset(torch.rand(200, 1), space.sample(200), space)
    with pytest.raises(DataError, match="at least two factors"):
        evaluate_metrics(data, true_factors, ["beta_vae"], **FAST)
    for represent in (true_factors, zeros):  # zeros: no active code, refused all the same
        with pytest.raises(DataError, match="at least two factors"):
            evaluate_metrics(data, represent, ["factor_vae"], **FAST)


@pytest.mark.slow
def test_evaluate_command_writes_disentanglement_scores(tmp_path):
    import json

    from .conftest import run_cli

    run = tmp_path / "disks"
    proc = run_cli(
        "train",
        "--dataset",
        "disks",
        "--model",
        "vae",
        "--set",
        "dataset.n=200",
        "--set",
        "dataset.size=16",
        "--set",
        "dataset.position_range=4",
        "--set",
        "dataset.radius_min=2",
        "--set",
        "dataset.radius_max=4",
        "--set",
        "model.latent.dim=3",
        "--set",
        "train.steps=20",
        "--set",
        "train.progress=false",
        "--out",
        str(run),
    )
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(
        "evaluate",
        str(run),
        "--samples",
        "2",
        "--metrics",
        "mig,sap,unsupervised",
        "--preset",
        "fast",
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads((run / "disentanglement.json").read_text())
    assert record["preset"] == "fast" and record["representation"] == "mean"
    assert {"mig", "sap", "gaussian_total_correlation"} <= set(record["scores"])
    # disks render fresh factors: the sizes are the preset's, recorded with how points were drawn
    assert record["drawn"]["sap"]["sizes"] == {"num_train": 1000, "num_test": 500}
    assert record["drawn"]["sap"]["points"].startswith("factors sampled and rendered afresh")
    assert record["drawn"]["sap"]["rows"] is None and record["drawn"]["sap"]["seed"] == 0
    sized = run_cli("evaluate", str(run), "--metrics", "sap", "--num-train", "300")
    assert sized.returncode == 0, sized.stderr
    record = json.loads((run / "disentanglement.json").read_text())
    assert record["drawn"]["sap"]["sizes"] == {"num_train": 300, "num_test": 5000}
    bad = run_cli("evaluate", str(run), "--metrics", "mgi")
    assert bad.returncode == 2 and "unknown metric 'mgi'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_mutual_information_matrix_equals_sklearn_pair_by_pair():
    from sklearn.metrics import mutual_info_score

    from latentatlas.analysis.metrics.information import entropies, mutual_information

    rng = np.random.default_rng(5)
    codes = rng.integers(0, 7, (500, 4))
    codes[:, 3] = 3  # a constant code
    labels = np.stack([codes[:, 0] // 2, rng.integers(0, 3, 500), codes[:, 1] + 10], 1)
    m = mutual_information(codes, labels)
    expected = [[mutual_info_score(labels[:, j], codes[:, i]) for j in range(3)] for i in range(4)]
    assert np.allclose(m, expected, atol=1e-12)
    assert np.allclose(entropies(labels), [mutual_info_score(c, c) for c in labels.T])


PERIODIC_SPACE = FactorSpace(
    [
        Factor("angle", 0, 2 * np.pi, size=36, periodic=True),
        Factor("x", 0, 1, size=10),
        Factor("y", 0, 1, size=10),
    ]
)


class AngleFactors(FactorDataset):
    factor_space = PERIODIC_SPACE

    def __len__(self) -> int:
        return 3600

    @property
    def observation_shape(self):
        return (3,)

    def render(self, factors):
        return torch.as_tensor(factors, dtype=torch.float32)

    def get_batch(self, indices):
        values = PERIODIC_SPACE.index_to_values(torch.as_tensor(indices))
        return Batch(self.render(values), values)


def rotated_angle(x):
    """A circle latent that is the angle factor up to a rotation (cut at ±π), and the positions."""
    angle = torch.remainder(x[:, 0] + 2.0 + torch.pi, 2 * torch.pi) - torch.pi
    return torch.stack([angle, x[:, 1], x[:, 2]], 1)


def test_periodic_aware_metrics_read_a_rotated_angle_as_the_angle():
    data = AngleFactors()
    names = ["factor_vae", "beta_vae", "sap", "mig", "dci"]
    flags = [True, False, False]
    aware = evaluate_metrics(data, rotated_angle, names, periodic_codes=flags, **FAST)
    plain = evaluate_metrics(data, rotated_angle, names, **FAST)
    for name in ("factor_vae", "beta_vae", "sap", "mig", "dci_disentanglement"):
        assert aware[name] >= 0.9, (name, aware[name])
    # reading the angle as a line: the cut makes fixed-angle batches look spread out and the
    # relation to the factor non-linear
    assert plain["sap"] < aware["sap"] - 0.2
    assert plain["factor_vae"] <= aware["factor_vae"]


def test_circle_and_torus_latents_are_flagged_periodic():
    from latentatlas.analysis.metrics import periodic_codes_of
    from latentatlas.registry import MODELS, build

    torus = build(
        MODELS, {"name": "diffusion_vae", "input_shape": [6], "latent": {"name": "torus", "dim": 2}}
    )
    assert periodic_codes_of(torus).tolist() == [True, True]
    plain = build(MODELS, {"name": "vae", "input_shape": [6]})
    assert periodic_codes_of(plain) is None
    with pytest.raises(DataError, match="expected 3 flags"):
        evaluate_metrics(AngleFactors(), rotated_angle, ["mig"], periodic_codes=[True], **FAST)


def test_factors_that_do_not_vary_are_left_out():
    from latentatlas.data.synthetic.dsprites import DSprites

    gt = GroundTruth(DSprites())
    assert gt.names == ["shape", "scale", "orientation", "pos_x", "pos_y"]  # not colour
    x, values, labels = gt.sample(8, torch.Generator().manual_seed(0))
    assert values.shape == (8, 5) and labels.shape == (8, 5) and x.shape == (8, 1, 64, 64)
    fixed = gt.sample_fixed(np.array([2]), 6, torch.Generator().manual_seed(1))  # orientation
    assert fixed.shape == (6, 1, 64, 64)


def test_metrics_callback_scores_the_model_during_training(tmp_path):
    from latentatlas import train_run
    from latentatlas.analysis.metrics import metrics_callback
    from latentatlas.train import build_dataset
    from latentatlas.train import checkpoint as ckpt
    from latentatlas.train.run import RunConfig

    config = RunConfig.from_dict(
        {
            "dataset": {
                "name": "disks",
                "n": 200,
                "size": 16,
                "position_range": 4,
                "radius_min": 2,
                "radius_max": 4,
            },
            "model": {"name": "vae", "latent": {"name": "euclidean", "dim": 3}},
            "train": {"steps": 10, "batch_size": 32, "progress": False},
        }
    )
    callback = metrics_callback(build_dataset(config), ["mig", "unsupervised"], every=5)
    train_run(config, tmp_path / "run", callbacks=[callback])
    assert [r["step"] for r in callback.records] == [5, 10]
    assert {"mig", "gaussian_total_correlation"} <= set(callback.records[0])
    logged = [r for r in ckpt.read_metrics(tmp_path / "run") if r["split"] == "metrics"]
    assert [r["step"] for r in logged] == [5, 10]


def test_gaussian_total_correlation_of_a_singular_covariance_is_infinite():
    from latentatlas.analysis.metrics.unsupervised import gaussian_total_correlation

    rng = np.random.default_rng(0)
    codes = rng.standard_normal((500, 3))
    regular = np.cov(codes, rowvar=False)
    expected = 0.5 * (np.log(np.diag(regular)).sum() - np.linalg.slogdet(regular)[1])
    assert gaussian_total_correlation(regular) == pytest.approx(expected, rel=1e-9)
    duplicated_codes = np.concatenate([codes, codes[:, :1] * 3.0], 1)
    cov = np.cov(duplicated_codes, rowvar=False)
    for layout in (np.ascontiguousarray(cov), np.asfortranarray(cov), cov.T.copy()):
        assert gaussian_total_correlation(layout) == float("inf")


def test_sap_weights_categorical_classes_by_their_frequency():
    """With 90 % of one class and a code of small range, an unweighted SVM at C = 0.01 predicts
    the majority everywhere (accuracy 0.896); the study's balanced weights separate the classes
    that the code tells apart (0.994)."""
    from latentatlas.analysis.metrics.sap import svm_accuracy as score

    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.1).astype(int)
    code = 0.1 * (y + 0.2 * rng.standard_normal(4000))
    assert score(code[:2000], y[:2000], code[2000:], y[2000:]) > 0.98


def test_dci_tree_kinds_differ_most_on_duplicated_codes():
    """docs/metrics.md's measured deviation: on exactly duplicated codes LightGBM gives all of a
    factor's importance to one copy (completeness up), scikit-learn's trees split it between the
    copies (disentanglement up). Measured gap ≈ 0.28 on completeness, ≈ 0.15 on
    disentanglement."""
    from latentatlas.analysis.metrics.dci import importance_matrix

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, (600, 3))
    codes = labels + 0.3 * rng.standard_normal((600, 3))
    codes = np.concatenate([codes, codes], 1)
    split = (codes[:400], labels[:400], codes[400:], labels[400:])
    light = dci_from_importance(importance_matrix(*split, 1, "lightgbm")[0])
    study = dci_from_importance(importance_matrix(*split, 1, "sklearn")[0])
    assert light["dci_completeness"] - study["dci_completeness"] > 0.2
    assert study["dci_disentanglement"] - light["dci_disentanglement"] > 0.1


# -- codes you already have (issue 22) -------------------------------------------------------------
def _codes_and_factors(n: int = 1200, seed: int = 0):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, 4, size=(n, 2))
    codes = np.c_[factors + 0.05 * rng.normal(size=(n, 2)), rng.normal(size=n)]
    return codes, factors


SMALL = {
    "beta_vae": dict(num_train=300, num_eval=100),
    "factor_vae": dict(num_train=300, num_eval=100, num_variance_estimate=500),
    "mig": dict(num_train=600),
    "dci": dict(num_train=600, num_test=300),
    "sap": dict(num_train=600, num_test=300),
    "modularity": dict(num_train=600, num_test=300),
    "irs": dict(num_train=600),
    "mig_sup": dict(num_train=600),
    "jemmig": dict(num_train=600),
    "dcimig": dict(num_train=600),
    "dci_es": dict(num_train=600, num_test=300, trees=20),
    "infomec": dict(num_train=600),
    "z_max_var": dict(num_train=100, num_eval=100, batch_size=50),
}
HEADLINE = {"dci": "dci_disentanglement", "dci_es": "dci_es_explicitness", "infomec": "infom"}


@pytest.mark.parametrize("name", list(SMALL))
def test_every_metric_takes_codes_and_factors_as_arrays_or_tensors(name):
    codes, factors = _codes_and_factors()
    metric = METRICS[name].function
    from_arrays = metric(codes, factors, **SMALL[name])
    named = {"shape": torch.tensor(factors[:, 0]), "scale": factors[:, 1].tolist()}
    tensor_codes = torch.tensor(codes, requires_grad=True)  # straight from an encoder
    from_tensors = metric(tensor_codes, named, **SMALL[name])
    assert from_arrays.keys() == {
        k.replace("shape", "factor_0").replace("scale", "factor_1") for k in from_tensors
    }
    headline = HEADLINE.get(name, name)
    assert from_arrays[headline] == pytest.approx(from_tensors[headline])
    if name != "z_max_var":  # a pure-noise code varies as freely as the free factor's code
        assert from_arrays[headline] > 0.6  # two codes follow the two factors


def test_evaluate_metrics_on_codes_matches_a_hand_built_dataset():
    codes, factors = _codes_and_factors(n=3000, seed=1)
    scores = evaluate_metrics(codes, factors, ["mig", "sap"], preset="fast")
    space = FactorSpace([Factor(f"factor_{j}", 0, 3, values=(0, 1, 2, 3)) for j in range(2)])
    data = InMemoryDataset(torch.tensor(codes, dtype=torch.float32), factors, space)
    by_hand = evaluate_metrics(data, lambda x: x, ["mig", "sap"], preset="fast")
    assert scores == pytest.approx(by_hand)
    unsupervised = METRICS["unsupervised"].function(codes, num_train=500)
    assert unsupervised["gaussian_total_correlation"] < 0.05


def test_a_preset_too_large_for_the_rows_is_fitted_to_distinct_rows_and_recorded():
    """Issue 38: a 500-image folder scored DCI informativeness 0.972 on test rows that repeated
    training rows (0.857 on a proper split), with one printed caveat saved nowhere."""
    codes, factors = _codes_and_factors(n=800)
    details = {}
    evaluate_metrics(codes, factors, ["dci", "mig"], preset="standard", details=details)
    dci_drawn = details["dci"]
    assert dci_drawn["sizes"]["num_train"] == 533 and dci_drawn["sizes"]["num_test"] == 267
    assert dci_drawn["rows"] == 800 and dci_drawn["rows_repeated"] is False
    assert "'standard' preset's num_train 10000 + num_test 5000 need 15000" in dci_drawn["fitted"]
    assert dci_drawn["points"].startswith("distinct rows") and dci_drawn["seed"] == 0
    assert details["mig"]["sizes"]["num_train"] == 800
    message = (
        "dci: num_train 1000 + num_test 500 need 1500 distinct rows and the dataset has 800; "
        "sizes that fit: num_train=533, num_test=267"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        evaluate_metrics(codes, factors, ["dci"], sizes={"num_train": 1000, "num_test": 500})
    small = {}
    evaluate_metrics(codes, factors, ["dci"], sizes={"num_train": 300}, details=small)
    assert small["dci"]["sizes"] == {"num_train": 300, "num_test": 500}  # the rows left
    assert "num_train 300 + num_test 500" in small["dci"]["fitted"]
    with pytest.raises(ConfigError, match="sizes: expected positive integers"):
        evaluate_metrics(codes, factors, ["dci"], sizes={"num_trian": 300})


def test_training_and_test_points_are_distinct_rows_until_the_rows_run_out():
    from latentatlas.analysis.metrics import GroundTruth, codes_dataset

    codes, factors = _codes_and_factors(n=800)
    gt = GroundTruth(codes_dataset(codes, factors))
    g = torch.Generator().manual_seed(0)
    train, test = gt.distinct_rows(500, g), gt.distinct_rows(300, g)
    assert len(set(train.tolist()) | set(test.tolist())) == 800 and not gt.repeated
    again = gt.distinct_rows(10, g)  # the rows ran out: a row is used twice, and it is known
    assert gt.repeated and len(again) == 10
    other = gt.distinct_rows(800, torch.Generator().manual_seed(0))  # another metric's draws
    assert len(set(other.tolist())) == 800


def test_metrics_drawing_groups_of_rows_say_when_rows_repeat():
    from latentatlas.analysis.metrics import RepeatedRowsWarning

    codes, factors = _codes_and_factors(n=800)
    details = {}
    with pytest.warns(RepeatedRowsWarning, match=r"'fast' preset draws 1500 points for beta_vae"):
        evaluate_metrics(codes, factors, ["beta_vae"], preset="fast", details=details)
    assert details["beta_vae"]["rows_repeated"] is True
    assert details["beta_vae"]["points"].startswith("rows drawn with replacement")


@pytest.mark.parametrize(
    ("codes", "factors", "match"),
    [
        (np.zeros(5), np.zeros(5), r"codes: expected an array \(n, d\)"),
        (np.full((5, 2), np.nan), np.zeros(5), "codes contain NaN"),
        (np.zeros((5, 2)), np.zeros(4), r"factors: expected \(5,\) or \(5, k\)"),
        (np.zeros((5, 2)), {"a": np.zeros(4)}, "factor 'a' has 4 values for 5 codes"),
        (np.zeros((5, 2)), {"a": ["x"] * 5}, "factor 'a': expected numbers"),
    ],
)
def test_bad_codes_and_factors_are_refused_clearly(codes, factors, match):
    with pytest.raises(DataError, match=match):
        evaluate_metrics(codes, factors, ["mig"])


@pytest.mark.slow
def test_score_command_reads_codes_from_a_file(tmp_path):
    import json

    from .conftest import run_cli

    codes, factors = _codes_and_factors(n=600)
    path = tmp_path / "codes.npz"
    np.savez(path, codes=codes, factors=factors, factor_names=np.array(["shape", "size"]))
    out = tmp_path / "scores.json"
    proc = run_cli(
        "score",
        str(path),
        "--metrics",
        "mig,sap",
        "--preset",
        "fast",
        "--out",
        str(out),
        "--periodic-factors",
        "size",
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads(out.read_text())
    assert {"mig", "mig/shape", "mig/size", "sap"} <= set(record["scores"])
    # 600 rows: the fast preset's 2000 points for MIG fitted to 600 distinct rows, said and saved
    assert "mig: the 'fast' preset's num_train 2000 need 2000 distinct rows" in proc.stderr
    assert record["drawn"]["mig"]["sizes"] == {"num_train": 600}
    assert record["drawn"]["sap"]["rows_repeated"] is False
    # sizes asked that do not fit are refused in one line, naming sizes that fit
    args = ["score", str(path), "--metrics", "sap", "--num-train", "500", "--num-test", "200"]
    too_many = run_cli(*args, "--out", str(tmp_path / "none.json"))
    assert too_many.returncode == 2 and "Traceback" not in too_many.stderr
    assert "sizes that fit: num_train=400, num_test=200" in too_many.stderr
    assert not (tmp_path / "none.json").exists()
    for args, message in (
        (["--codes-key", "z"], "has no array 'z'"),
        (["--metrics", "mgi"], "unknown metric 'mgi'"),
        (["--periodic-factors", "colour"], "unknown factor 'colour'"),
    ):
        bad = run_cli("score", str(path), *args)
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr
    missing = run_cli("score", str(tmp_path / "none.npz"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
