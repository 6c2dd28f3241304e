"""Analysis steps kept in a reproduction's ``results`` folder and reused only for equal inputs."""

from __future__ import annotations

import pytest
import torch

from latentatlas.errors import RunFolderError
from latentatlas.experiments.model_store import ModelStore
from latentatlas.experiments.result_cache import RESULTS, cached, digest


class Counter:
    def __init__(self, value: torch.Tensor):
        self.value, self.calls = value, 0

    def __call__(self) -> dict[str, torch.Tensor]:
        self.calls += 1
        return {"z": self.value.clone()}


def test_a_result_is_computed_once_and_reused_for_the_same_inputs(tmp_path):
    net = torch.nn.Linear(3, 2)
    inputs = {"generator": net, "targets": torch.ones(4, 3), "steps": 10, "loss": "mse"}
    compute = Counter(torch.arange(6.0).reshape(3, 2))
    first = cached(tmp_path, "inversion-mse", inputs, compute)
    again = cached(tmp_path, "inversion-mse", dict(inputs), compute)
    assert compute.calls == 1 and torch.equal(first["z"], again["z"])
    files = list((tmp_path / RESULTS).iterdir())
    assert len(files) == 1 and files[0].name.startswith("inversion-mse-")
    assert not [p for p in (tmp_path / RESULTS).iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "change",
    ["setting", "tensor", "weights", "dtype", "scalar"],
)
def test_other_inputs_are_computed_again(tmp_path, change):
    net = torch.nn.Linear(3, 2)
    inputs = {"generator": net, "targets": torch.ones(4, 3), "steps": 10}
    compute = Counter(torch.zeros(2))
    cached(tmp_path, "step", inputs, compute)
    other = dict(inputs)
    if change == "setting":
        other["steps"] = 11
    elif change == "tensor":
        other["targets"] = torch.ones(4, 3).index_put_((torch.tensor([0]),), torch.tensor(2.0))
    elif change == "weights":  # a retrained model: same shapes, other numbers
        other["generator"] = torch.nn.Linear(3, 2)
    elif change == "dtype":
        other["targets"] = torch.ones(4, 3, dtype=torch.float64)
    else:  # a 0-d tensor (a scalar buffer) and a bfloat16 one hash too
        other["targets"] = [torch.tensor(2.0), torch.ones(2, dtype=torch.bfloat16)]
    assert digest(other) != digest(inputs)
    cached(tmp_path, "step", other, compute)
    assert compute.calls == 2


def test_each_step_says_whether_it_was_computed_or_reused(tmp_path, caplog):
    """A long analysis (hours of inversions) shows its progress in the log, step by step."""
    import logging

    with caplog.at_level(logging.INFO, logger="latentatlas.experiments.result_cache"):
        cached(tmp_path, "inversion-mse", {"x": 1}, Counter(torch.ones(1)))
        cached(tmp_path, "inversion-mse", {"x": 1}, Counter(torch.ones(1)))
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "inversion-mse: computing"
    assert messages[1].startswith("inversion-mse: done in ") and "results" in messages[1]
    assert messages[2].startswith("inversion-mse: reused from ")


def test_a_corrupt_result_is_computed_again_and_replaced(tmp_path):
    inputs = {"x": 1}
    compute = Counter(torch.ones(3))
    cached(tmp_path, "step", inputs, compute)
    (path,) = (tmp_path / RESULTS).iterdir()
    path.write_bytes(b"not a safetensors file")
    assert torch.equal(cached(tmp_path, "step", inputs, compute)["z"], torch.ones(3))
    assert compute.calls == 2
    assert torch.equal(cached(tmp_path, "step", inputs, compute)["z"], torch.ones(3))
    assert compute.calls == 2  # the replacement is read


def test_without_a_folder_nothing_is_kept_and_bad_labels_are_refused(tmp_path):
    compute = Counter(torch.ones(1))
    cached(None, "step", {}, compute)
    cached(None, "step", {}, compute)
    assert compute.calls == 2
    with pytest.raises(ValueError, match="letters, digits"):
        cached(tmp_path, "../escape", {}, compute)
    with pytest.raises(TypeError):
        digest({"unhashable": object()})


def test_the_store_keeps_results_beside_its_models(tmp_path):
    store = ModelStore(tmp_path)
    compute = Counter(torch.ones(2))
    store.cached("inversion-Gaussian-sigma=3", {"a": 1}, compute)
    store.cached("inversion-Gaussian-sigma=3", {"a": 1}, compute)
    assert compute.calls == 1
    (path,) = (tmp_path / RESULTS).iterdir()
    assert path.name.startswith("inversion-Gaussian-sigma=3-")
    memory = ModelStore()
    memory.cached("x", {}, compute)
    assert compute.calls == 2


def test_steps_with_other_labels_never_share_a_result(tmp_path):
    """The label names the computation: two of them on the same inputs are two results (the
    store once reduced labels to file-name characters, so "spread σ" and "spread β" met)."""
    store = ModelStore(tmp_path)
    x = torch.arange(4.0)
    std = store.cached("spread-std", {"x": x}, lambda: {"v": x.std()[None]})
    mean = store.cached("spread-mean", {"x": x}, lambda: {"v": x.mean()[None]})
    assert not torch.equal(std["v"], mean["v"])
    for bad in ("spread σ", ".hidden", ""):
        with pytest.raises(ValueError, match="result label"):
            store.cached(bad, {"x": x}, lambda: {"v": x})


@pytest.mark.parametrize(
    ("a", "b"),
    [([1, 23], [12, 3]), ([1.5, 2], [1.52]), ({1: 0}, {"1": 0}), ([[1], 2], [1, [2]])],
)
def test_digests_tell_apart_inputs_that_print_alike(a, b):
    assert digest({"v": a}) != digest({"v": b})


def test_a_result_that_cannot_be_kept_fails_before_it_is_computed(tmp_path):
    compute = Counter(torch.ones(1))
    (tmp_path / RESULTS).write_text("a file where the folder should be")
    with pytest.raises(RunFolderError, match="cannot keep analysis results"):
        cached(tmp_path, "step", {}, compute)
    with pytest.raises(ValueError, match="too long"):
        cached(tmp_path / "other", "x" * 250, {}, compute)
    assert compute.calls == 0


def test_a_result_that_cannot_be_written_is_returned_anyway(tmp_path, monkeypatch, caplog):
    from latentatlas.experiments import result_cache

    def disk_full(path, write):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(result_cache, "atomic_write", disk_full)
    result = cached(tmp_path, "step", {}, Counter(torch.ones(3)))
    assert torch.equal(result["z"], torch.ones(3))
    assert "computed but not kept" in caplog.text


def test_computed_and_reused_results_look_alike(tmp_path):
    """Detached CPU tensors of their own either way; one tensor under two names is saved too
    (safetensors refuses tensors that share memory)."""
    z = torch.ones(3, requires_grad=True) * 2

    def compute():
        return {"z": z, "again": z}

    first = cached(tmp_path, "step", {}, compute)
    again = cached(tmp_path, "step", {}, compute)
    for result in (first, again):
        assert set(result) == {"z", "again"}
        assert not result["z"].requires_grad and torch.equal(result["z"], z.detach())


def test_a_file_written_for_other_inputs_is_not_reused(tmp_path):
    """The file name holds 16 hex digits of the digest; the whole digest is checked."""
    compute = Counter(torch.ones(1))
    cached(tmp_path, "step", {"x": 1}, compute)
    (path,) = (tmp_path / RESULTS).iterdir()
    other = Counter(torch.zeros(1))
    key = digest({"x": 2})
    path.rename(path.with_name(f"step-{key[:16]}.safetensors"))
    assert torch.equal(cached(tmp_path, "step", {"x": 2}, other)["z"], torch.zeros(1))
    assert other.calls == 1
