"""The vectorised ensemble trains each member exactly as train_run would alone."""

from __future__ import annotations

import pytest
import torch

from latentatlas import train_run
from latentatlas.errors import ConfigError, Interrupted
from latentatlas.train import RunConfig
from latentatlas.train.ensemble import train_ensemble


def member(
    seed: int, data_sigma: float, sigma_x: float, name: str = "vae", latent=None
) -> RunConfig:
    model = {
        "name": name,
        "encoder": {"name": "mlp", "hidden": [6, 6]},
        "decoder": {"name": "mlp", "hidden": [6, 6]},
        "likelihood": {"name": "gaussian", "sigma": sigma_x},
    }
    if latent is not None:
        model["latent"] = latent
    return RunConfig.from_dict(
        {
            "dataset": {"name": "sine_circle", "n": 200, "dim": 9, "sigma": data_sigma},
            "model": model,
            "train": {
                "steps": 40,
                "batch_size": 32,
                "lr": 3e-3,
                "schedule": "cosine",
                "progress": False,
            },
            "seed": seed,
        }
    )


@pytest.mark.slow
@pytest.mark.parametrize("trace", [False, True], ids=["eager", "traced"])
@pytest.mark.parametrize(
    ("name", "latent"),
    [
        ("vae", None),
        ("diffusion_vae", None),
        ("ae", {"name": "point"}),
        # posteriors whose noise is not one normal per coordinate (latent.noise_size)
        ("diffusion_vae", {"name": "sphere"}),
        ("vae", {"name": "sphere", "posterior": "power_spherical"}),
        ("vae", {"name": "sphere", "posterior": "von_mises_fisher"}),
    ],
)
def test_members_match_training_alone(name, latent, trace, caplog):
    """Eager (vmap) or replayed as a traced graph, each member ends as its lone run does."""
    configs = [
        member(s, ds, sx, name, latent)
        for s, ds, sx in [(0, 0.1, 0.1), (1, 0.1, 1.0), (2, 0.5, 0.1)]
    ]
    with caplog.at_level("DEBUG", logger="latentatlas.train.traced_step"):
        result = train_ensemble(configs, trace=trace)
    assert ("step traced" in caplog.text) == trace, caplog.text  # the trace did run
    assert result.losses.shape == (40, 3)
    for config, model in zip(configs, result.models):
        alone, _ = train_run(config, None)
        for key, value in alone.state_dict().items():
            torch.testing.assert_close(model.state_dict()[key], value, rtol=1e-4, atol=1e-5)


def test_checkpoints_hand_over_members_that_resume_alone_to_the_same_end(tmp_path):
    """Every train.checkpoint_every steps (not at the last) on_checkpoint gets the members as
    they are; one written there resumes alone (resume_run) to the ensemble's final weights."""
    from latentatlas import resume_run
    from latentatlas.train import read_metadata
    from latentatlas.train.ensemble import write_member_run

    configs = [
        RunConfig.from_dict({**c.to_dict(), "train": {**c.train.to_dict(), "checkpoint_every": 15}})
        for c in (member(0, 0.1, 0.1), member(1, 0.1, 1.0))
    ]
    seen = []

    def on_checkpoint(result):
        assert not result.finished and result.stopped_by is None
        assert result.losses.shape == (result.step, 2) and result.total_steps == 40
        seen.append(result.step)
        if result.step == 15:
            k = 1
            write_member_run(
                tmp_path / "m1",
                result.configs[k],
                result.models[k],
                result.losses[:, k],
                result.states[k],
                None,
                result.total_steps,
            )

    final = train_ensemble(configs, on_checkpoint=on_checkpoint)
    assert seen == [15, 30] and final.finished and final.step == 40
    meta = read_metadata(tmp_path / "m1")
    assert (meta["status"], meta["step"], meta["total_steps"]) == ("interrupted", 15, 40)
    resumed, fit = resume_run(tmp_path / "m1")
    assert fit.status == "finished" and fit.step == 40
    for key, value in final.models[1].state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=1e-4, atol=1e-5)


def test_an_ensemble_resumes_from_its_members_checkpoints_as_one(tmp_path):
    """start= takes each member's trainer state at one step (a checkpoint) and continues as
    the uninterrupted ensemble does; states at different steps are refused."""
    from latentatlas.errors import RunFolderError
    from latentatlas.train import checkpoint as ckpt
    from latentatlas.train.ensemble import write_member_run

    configs = [
        RunConfig.from_dict(
            {**c.to_dict(), "train": {**c.train.to_dict(), "checkpoint_every": 15, "log_every": 5}}
        )
        for c in (member(0, 0.1, 0.1), member(1, 0.5, 1.0))
    ]
    at: dict[int, list] = {}

    def keep(result):
        at.setdefault(result.step, result.states)
        if result.step == 15:  # member 1's folder at the checkpoint
            write_member_run(
                tmp_path,
                result.configs[1],
                result.models[1],
                result.losses[:, 1],
                result.states[1],
                None,
                40,
            )

    whole = train_ensemble(configs, on_checkpoint=keep)
    resumed = train_ensemble(configs, start=at[15])
    assert (resumed.first_step, resumed.step, resumed.losses.shape) == (15, 40, (25, 2))
    torch.testing.assert_close(resumed.losses, whole.losses[15:], rtol=1e-5, atol=1e-6)
    write_member_run(
        tmp_path,
        resumed.configs[1],
        resumed.models[1],
        resumed.losses[:, 1],
        resumed.states[1],
        None,
        40,
        first_step=15,
    )
    records = ckpt.read_metrics(tmp_path)
    assert [r["step"] for r in records] == list(range(5, 41, 5))  # 5-15 kept, 20-40 added
    losses = [r["loss"] for r in records]
    torch.testing.assert_close(torch.tensor(losses), whole.losses[4::5, 1], rtol=1e-5, atol=1e-5)
    for a, b in zip(resumed.models, whole.models):
        for key, value in b.state_dict().items():
            torch.testing.assert_close(a.state_dict()[key], value, rtol=1e-5, atol=1e-6)
    with pytest.raises(RunFolderError, match="different steps"):
        train_ensemble(configs, start=[at[15][0], at[30][1]])


def test_sigterm_stops_the_ensemble_after_its_step_and_restores_the_handler():
    import os
    import signal

    configs = [member(0, 0.1, 0.1), member(1, 0.1, 0.1)]
    configs = [
        RunConfig.from_dict({**c.to_dict(), "train": {**c.train.to_dict(), "checkpoint_every": 10}})
        for c in configs
    ]
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as stop:  # the caller's program stops, with the members
        train_ensemble(configs, on_checkpoint=lambda r: os.kill(os.getpid(), signal.SIGTERM))
    assert isinstance(stop.value, SystemExit) and stop.value.code == 143
    result = stop.value.result
    assert (result.stopped_by, result.step, result.total_steps) == ("SIGTERM", 10, 40)
    assert stop.value.step == 10
    assert not result.finished and len(result.states) == 2
    assert signal.getsignal(signal.SIGTERM) is previous


def test_members_must_share_the_architecture():
    a = member(0, 0.1, 0.1)
    b = RunConfig.from_dict({**a.to_dict(), "model": {**a.model, "beta": 2.0}})
    with pytest.raises(ConfigError, match="differs from member 0 in model"):
        train_ensemble([a, b])
    c = RunConfig.from_dict({**a.to_dict(), "dataset": {**a.dataset, "n": 100}})
    with pytest.raises(ConfigError, match="differ in size or shape"):
        train_ensemble([a, c])
    thesis = member(0, 0.1, 0.1, "diffusion_vae", {"name": "circle", "thesis_compatible": True})
    with pytest.raises(ConfigError, match="Monte-Carlo KL"):
        train_ensemble([thesis, thesis])


def test_the_ensemble_trains_on_the_members_train_device():
    """An ensemble runs on ``train.device`` (models come back on the CPU); a device this machine
    lacks is refused before anything trains, naming the field."""
    on_cpu = [
        RunConfig.from_dict(
            {
                **member(s, 0.1, 0.1).to_dict(),
                "train": {**member(s, 0.1, 0.1).train.to_dict(), "device": "cpu"},
            }
        )
        for s in (0, 1)
    ]
    result = train_ensemble(on_cpu)
    assert all(p.device.type == "cpu" for m in result.models for p in m.parameters())
    assert result.losses.device.type == "cpu"
    if not torch.cuda.is_available():
        absent = [
            RunConfig.from_dict({**c.to_dict(), "train": {**c.train.to_dict(), "device": "cuda:0"}})
            for c in on_cpu
        ]
        with pytest.raises(ConfigError, match="train.device: 'cuda:0' is not available"):
            train_ensemble(absent)


CPU = torch.device("cpu")


def test_batches_are_gathered_in_one_indexing_with_the_values_of_get_batch():
    from latentatlas.data import InMemoryDataset
    from latentatlas.train.ensemble import _batch_gatherer

    g = torch.Generator().manual_seed(0)
    a = InMemoryDataset(torch.rand(50, 3, generator=g))
    b = InMemoryDataset(torch.rand(50, 3, generator=g))
    datasets = [a, b, a]
    indices = [torch.randint(50, (8,), generator=g) for _ in datasets]
    expected = torch.stack([d.get_batch(i).x for d, i in zip(datasets, indices)])
    assert torch.equal(_batch_gatherer(datasets, CPU)(indices), expected)
    assert torch.equal(
        _batch_gatherer([a, a], CPU)(indices[:2]),
        torch.stack([a.get_batch(i).x for i in indices[:2]]),
    )

    class Shifted(InMemoryDataset):  # a get_batch of its own: gathered through it
        def get_batch(self, indices):
            batch = super().get_batch(indices)
            return type(batch)(batch.x + 1, batch.factors)

    shifted = Shifted(a.x.clone())
    out = _batch_gatherer([shifted, a], CPU)(indices[:2])
    assert torch.equal(out[0], a.x[indices[0]] + 1) and torch.equal(out[1], a.x[indices[1]])
    with pytest.raises(ConfigError, match="out of range"):
        _batch_gatherer([a, b], CPU)([torch.tensor([50]), torch.tensor([0])])


def test_stacked_batch_orders_equal_each_members_trainer_order():
    """One column slice of the stacked permutations gives every member the batch its own
    Trainer would draw, across epochs (n % batch != 0) and where a batch is larger than the
    data (it wraps around the permutation)."""
    from latentatlas.data import InMemoryDataset
    from latentatlas.train import Trainer, TrainerConfig
    from latentatlas.train.ensemble import _BatchSchedules

    seeds = [0, 3, 7]
    for n in (23, 3):  # 4 batches of 5 per epoch; one batch of 5 from 3 points
        data = InMemoryDataset(torch.zeros(n, 2))
        trainers = [
            Trainer(torch.nn.Linear(2, 2), data, TrainerConfig(batch_size=5), seed=s) for s in seeds
        ]
        orders = _BatchSchedules(seeds, n, 5)
        for step in range(13):
            stacked = orders(step)
            assert stacked.shape == (3, 5)
            for k, trainer in enumerate(trainers):
                assert torch.equal(stacked[k], trainer.batch_indices(step)), (n, step, k)


def test_a_written_member_resumes_like_a_run_trained_alone(tmp_path):
    """write_member_run's folder is a full run: its trainer state (the member's slice of Adam's
    moments, the schedule, its noise generator) continues training exactly as the lone run's
    checkpoint does."""
    from latentatlas import resume_run
    from latentatlas.train import checkpoint as ckpt
    from latentatlas.train import load
    from latentatlas.train.ensemble import write_member_run

    configs = [member(s, 0.1, 0.1) for s in (0, 1)]
    result = train_ensemble(configs)
    assert all(state is not None for state in result.states)
    write_member_run(
        tmp_path / "member",
        result.configs[1],
        result.models[1],
        result.losses[:, 1],
        result.states[1],
    )
    train_run(configs[1], tmp_path / "alone")
    records = ckpt.read_metrics(tmp_path / "member")
    assert [r["step"] for r in records] == [10, 20, 30, 40]  # log_every 10
    assert records[-1]["loss"] == pytest.approx(float(result.losses[-1, 1]))
    more = {"train": {"steps": 60}}
    resumed, _ = resume_run(tmp_path / "member", more)
    alone, _ = resume_run(tmp_path / "alone", more)
    for key, value in alone.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=1e-4, atol=1e-5)
    for key, value in load(tmp_path / "member").state_dict().items():  # the resumed weights
        torch.testing.assert_close(value, resumed.state_dict()[key])


@pytest.mark.parametrize("name", ["adam", "adamw", "rmsprop", "sgd"])
def test_one_flat_optimizer_equals_one_per_stacked_parameter(name):
    """The ensemble steps one flat tensor; its state, cut per parameter, must equal the state of
    an optimiser that stepped each stacked parameter (what a member's lone Trainer loads)."""
    from latentatlas.train.ensemble import _FlatLayout
    from latentatlas.train.optim import make_optimizer

    g = torch.Generator().manual_seed(0)
    stacked = {"w": torch.randn(3, 4, 5, generator=g), "b": torch.randn(3, 4, generator=g)}
    layout = _FlatLayout(stacked)
    flat = layout.flatten(stacked).requires_grad_(True)
    apart = {k: v.clone().requires_grad_(True) for k, v in stacked.items()}
    opt_flat = make_optimizer(name, [flat], 0.01, (0.9, 0.999), 0.01, 0.9)
    opt_apart = make_optimizer(name, list(apart.values()), 0.01, (0.9, 0.999), 0.01, 0.9)
    for _ in range(3):
        views = layout.views(flat)
        loss_flat = sum((v**2).sum() * (i + 1) for i, v in enumerate(views.values()))
        loss_apart = sum((v**2).sum() * (i + 1) for i, v in enumerate(apart.values()))
        for opt, loss in ((opt_flat, loss_flat), (opt_apart, loss_apart)):
            opt.zero_grad()
            loss.backward()
            opt.step()
    for key, value in layout.views(flat.detach()).items():
        torch.testing.assert_close(value, apart[key].detach())
    cut = layout.optimizer_state(opt_flat)
    expected = opt_apart.state_dict()
    assert cut["param_groups"] == expected["param_groups"]
    assert cut["state"].keys() == expected["state"].keys()
    for i, state in expected["state"].items():
        assert cut["state"][i].keys() == state.keys()
        for key, value in state.items():
            torch.testing.assert_close(cut["state"][i][key], value)


def test_a_regularizer_warmup_member_matches_training_alone():
    """train.regularizer_warmup weighs the KL by step/warmup in the ensemble as in the Trainer."""
    configs = [
        RunConfig.from_dict(
            {**c.to_dict(), "train": {**c.train.to_dict(), "regularizer_warmup": 30}}
        )
        for c in (member(0, 0.1, 0.1), member(1, 0.5, 1.0))
    ]
    result = train_ensemble(configs, trace=True)  # traced once the warm-up is over
    plain = train_ensemble([member(0, 0.1, 0.1)])
    assert not torch.allclose(result.losses[:, 0], plain.losses[:, 0])  # the warm-up acts
    for config, model in zip(configs, result.models):
        alone, _ = train_run(config, None)
        for key, value in alone.state_dict().items():
            torch.testing.assert_close(model.state_dict()[key], value, rtol=1e-4, atol=1e-5)


def test_a_members_trainer_state_holds_only_its_own_moments():
    """Each member's state is its slice of the stacked optimiser state: saved, it is the size
    of a lone run's (it once kept views of the whole flat moments, so every member's
    trainer_state.pt held every member's: 10× the size for 45 members)."""
    import io

    def saved_size(state) -> int:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        return len(buffer.getvalue())

    configs = [
        RunConfig.from_dict({**c.to_dict(), "train": {**c.train.to_dict(), "steps": 3}})
        for c in (member(seed, 0.1, 0.1) for seed in range(6))
    ]
    grid = train_ensemble(configs)
    alone = train_ensemble(configs[:1])
    assert saved_size(grid.states[5]) <= 1.1 * saved_size(alone.states[0])
    moments = grid.states[5]["optimizer"]["state"][0]["exp_avg"]
    assert moments.untyped_storage().nbytes() == moments.numel() * moments.element_size()


@pytest.mark.parametrize(
    ("name", "what"), [("annealed_vae", "phases"), ("factor_vae", "auxiliary")]
)
def test_models_with_training_phases_or_auxiliary_steps_are_refused(name, what):
    """The ensemble steps one loss; a model whose Trainer also switches phases (annealed
    capacity, the PCA-AE's stages) or takes an auxiliary step (FactorVAE's discriminator) would
    silently train differently than alone, so train_ensemble refuses it, as the sweep does."""
    configs = [member(seed, 0.1, 0.1, name) for seed in (0, 1)]
    with pytest.raises(ConfigError, match=what):
        train_ensemble(configs)


def test_each_members_trainer_state_is_the_state_its_lone_run_checkpoints(tmp_path):
    """Member states are built from one helper Trainer's layout: each must still equal, key by
    key, the trainer_state.pt its lone run writes (weights and moments to float rounding; the
    step, schedule, seed, callbacks and noise stream exactly)."""
    from latentatlas.train import checkpoint as ckpt

    configs = [member(s, ds, sx) for s, ds, sx in [(0, 0.1, 0.1), (3, 0.5, 1.0)]]
    result = train_ensemble(configs)

    def compare(ours, theirs, where="state"):
        if isinstance(theirs, dict):
            assert set(ours) == set(theirs), where
            for key in theirs:
                compare(ours[key], theirs[key], f"{where}.{key}")
        elif torch.is_tensor(theirs):
            if theirs.dtype == torch.uint8:  # the RNG state: the same stream exactly
                assert torch.equal(ours, theirs), where
            else:
                torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5, msg=where)
        elif isinstance(theirs, list) and theirs and isinstance(theirs[0], dict):
            assert len(ours) == len(theirs), where
            for i, (a, b) in enumerate(zip(ours, theirs)):
                compare(a, b, f"{where}[{i}]")
        else:
            assert ours == theirs, where

    for k, config in enumerate(configs):
        train_run(config, tmp_path / f"alone{k}")
        compare(result.states[k], ckpt.load_state(tmp_path / f"alone{k}" / ckpt.STATE))
    # no tensor is shared between members (a later load or step must not reach another member)
    a, b = result.states
    assert a["optimizer"]["state"][0]["step"] is not b["optimizer"]["state"][0]["step"]


def test_a_model_whose_loss_reads_state_its_forward_changes_stays_eager(monkeypatch, caplog):
    """A trace bakes Python values in. A user's model that counts its calls in ``forward`` and
    lets the count enter the loss changes between the eager step and the trace (the trace is a
    second call), so the replay check refuses it and the ensemble stays eager, with the eager
    numbers."""
    from latentatlas.models.vae import VAE
    from latentatlas.registry import MODELS

    class CountingVAE(VAE):
        def __init__(self, config):
            super().__init__(config)
            self.calls = 0

        def forward(self, x, n_samples=None, noise=None):
            out = super().forward(x, n_samples, noise)
            self.calls += 1
            out.loss = out.loss * (1.0 + 0.01 * self.calls)
            return out

    monkeypatch.setitem(MODELS._items, "test_counting_vae", CountingVAE)
    configs = [member(s, 0.1, 0.1, "test_counting_vae") for s in (0, 1)]
    eager = train_ensemble(configs, trace=False)
    with caplog.at_level("INFO", logger="latentatlas.train.traced_step"):
        traced = train_ensemble(configs, trace=True)
    assert "does not reproduce" in caplog.text
    assert torch.equal(traced.losses, eager.losses)


def test_weight_decay_on_a_parameter_the_loss_does_not_use_is_refused(monkeypatch):
    """A lone run's optimiser skips a parameter without a gradient; the flat ensemble gives it a
    zero gradient, which weight decay would turn into shrinking. So, with weight decay, such a
    model is refused (naming the parameter); with weight decay on used parameters only, or
    without weight decay, members still equal their lone runs."""
    from latentatlas.models.vae import VAE
    from latentatlas.registry import MODELS

    class SpareVAE(VAE):
        def __init__(self, config):
            super().__init__(config)
            self.spare = torch.nn.Parameter(torch.ones(3))

    monkeypatch.setitem(MODELS._items, "test_spare_vae", SpareVAE)

    def with_train(config: RunConfig, **train) -> RunConfig:
        return RunConfig.from_dict(
            {**config.to_dict(), "train": {**config.train.to_dict(), **train}}
        )

    decayed = {"optimizer": "adamw", "weight_decay": 0.1}
    spare = [with_train(member(s, 0.1, 0.1, "test_spare_vae"), **decayed) for s in (0, 1)]
    with pytest.raises(ConfigError, match="weight_decay.*spare"):
        train_ensemble(spare)
    for configs in (
        [with_train(member(s, 0.1, 0.1), **decayed) for s in (0, 1)],
        [member(s, 0.1, 0.1, "test_spare_vae") for s in (0, 1)],
    ):
        result = train_ensemble(configs, trace=True)
        for config, model in zip(configs, result.models):
            alone, _ = train_run(config, None)
            for key, value in alone.state_dict().items():
                torch.testing.assert_close(model.state_dict()[key], value, rtol=1e-4, atol=1e-5)
