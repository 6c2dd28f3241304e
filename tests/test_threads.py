"""Threads by the size of the work: tiny models train on one intra-op thread."""

from __future__ import annotations

import torch

from latentatlas import train_run
from latentatlas.threads import (
    CROSSOVER_MACS,
    forward_macs,
    thread_count,
    threads_for,
    training_threads,
)
from latentatlas.train import RunConfig
from latentatlas.train.callbacks import Callback

from .conftest import tiny_run_dict


def test_multiply_adds_of_linear_and_convolution_layers():
    mlp = torch.nn.Sequential(torch.nn.Linear(25, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    assert forward_macs(mlp, torch.zeros(100, 25)) == 100 * (25 * 8 + 8 * 2)
    conv = torch.nn.Conv2d(1, 4, 3, stride=2, padding=1)  # 4 outputs of 4×4, 9 taps each
    assert forward_macs(conv, torch.zeros(2, 1, 8, 8)) == 2 * 4 * 4 * 4 * 9
    up = torch.nn.ConvTranspose2d(4, 1, 4, stride=2, padding=1)  # each input to 16 outputs
    assert forward_macs(up, torch.zeros(2, 4, 4, 4)) == 2 * 4 * 4 * 4 * 16


def test_the_choice_is_one_thread_below_the_crossover_and_leaves_no_trace():
    default = torch.get_num_threads()
    assert threads_for(CROSSOVER_MACS - 1) == 1
    assert threads_for(CROSSOVER_MACS) == default
    assert threads_for(10, threads=3) == 3
    model = torch.nn.Sequential(
        torch.nn.Linear(25, 8), torch.nn.BatchNorm1d(8), torch.nn.Dropout(0.5)
    )
    model.train()
    x = torch.randn(64, 25)
    before = torch.random.get_rng_state()
    stats = model[1].running_mean.clone()
    assert training_threads(model, x) == 1
    assert torch.equal(torch.random.get_rng_state(), before)  # the RNG untouched (dropout)
    assert torch.equal(model[1].running_mean, stats) and model.training  # and the statistics
    big = torch.nn.Linear(4096, 4096)
    assert training_threads(big, torch.zeros(100, 4096)) == default
    assert training_threads(big, torch.zeros(1, 4096), configured=1) == 1
    assert training_threads(torch.nn.Linear(3, 3), torch.zeros(2, 5)) == default  # cannot run


class Threads(Callback):
    def __init__(self):
        self.seen = set()

    def on_step_end(self, trainer, step, record):
        self.seen.add(torch.get_num_threads())


def test_a_tiny_model_trains_on_one_thread_and_the_setting_overrides(tmp_path):
    default = torch.get_num_threads()
    seen = Threads()
    train_run(RunConfig.from_dict(tiny_run_dict(steps=5)), None, [seen])
    assert seen.seen == {1} and torch.get_num_threads() == default
    two = Threads()
    train_run(RunConfig.from_dict(tiny_run_dict(steps=5, threads=2)), None, [two])
    assert two.seen == {2} and torch.get_num_threads() == default


def test_analyses_of_tiny_models_run_on_one_thread():
    """The evaluation (L decodes per point) and Δ-reduction fits choose their threads by the size
    of their work like training: the thesis's tiny decoders on one thread, torch's default
    restored after."""
    from latentatlas.analysis.evaluation import evaluate
    from latentatlas.analysis.reduction import fit_reduction
    from latentatlas.train.run import build_dataset, build_model

    config = RunConfig.from_dict(tiny_run_dict(steps=1))
    data = build_dataset(config)
    models = [build_model(config.replace(seed=s), data) for s in (0, 1)]
    seen: set[int] = set()
    for model in models:
        decode = model.decode

        def counted(z, decode=decode):  # the work, not the two-point probes of the set-up
            if z.shape[0] > 2:
                seen.add(torch.get_num_threads())
            return decode(z)

        model.decode = counted
    with thread_count(2):
        evaluate(models[0], data.x[:50], n_samples=3)
        fit_reduction(models[0], models[1], steps=3, samples=20, eval_samples=20)
        assert torch.get_num_threads() == 2
    assert seen == {1}
