from __future__ import annotations

import json
import math

import pytest
import torch

import latentatlas
from latentatlas import resume_run, train_run
from latentatlas.data import InMemoryDataset
from latentatlas.errors import ConfigError, DataError, RunFolderError, TrainingDiverged
from latentatlas.train import (
    RunConfig,
    StopAt,
    Trainer,
    TrainerConfig,
    load,
    safe_write,
)
from latentatlas.train import checkpoint as ckpt
from latentatlas.train.callbacks import Callback
from tests.conftest import tiny_run_dict


def params_of(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_run_folder_contents(tmp_path):
    model, fit = train_run(RunConfig.from_dict(tiny_run_dict(12)), tmp_path / "run")
    run = tmp_path / "run"
    assert fit.status == "finished" and fit.step == 12
    for name in (ckpt.CONFIG, ckpt.WEIGHTS, ckpt.STATE, ckpt.METRICS, ckpt.METADATA):
        assert (run / name).is_file(), name
    assert not list(run.glob(".*.tmp")), "temporary files left behind"
    modes = {(run / n).stat().st_mode & 0o777 for n in (ckpt.CONFIG, ckpt.WEIGHTS, ckpt.STATE)}
    assert modes == {0o666 & ~safe_write._UMASK}, [oct(m) for m in modes]  # not mkstemp 0600
    meta = json.loads((run / ckpt.METADATA).read_text())
    assert meta["status"] == "finished" and meta["step"] == 12 and meta["seed"] == 3
    assert meta["torch"] == torch.__version__ and len(meta["data_fingerprint"]) == 16
    config = json.loads((run / ckpt.CONFIG).read_text())
    assert config["model"]["input_shape"] == [12]
    # every default is written out, nested specs too: a later default change cannot alter the run
    assert config["model"]["encoder"]["activation"] == "relu" and config["model"]["beta"] == 1.0
    assert config["model"]["latent"]["scale_param"] == "log_var"
    assert config["dataset"]["n_vis"] == 100 and config["train"]["optimizer"] == "adam"
    steps = [r["step"] for r in ckpt.read_metrics(run) if r["split"] == "train"]
    assert steps == [5, 10, 12]
    state = torch.load(run / ckpt.STATE, weights_only=True)  # no pickle needed
    assert state["step"] == 12
    loaded = load(run)
    x = torch.randn(4, 12)
    assert torch.equal(loaded.representation(x), model.eval().representation(x))
    top_level = latentatlas.load(run)  # the package-level entry point of the README
    assert torch.equal(top_level.representation(x), loaded.representation(x))
    with pytest.raises(AttributeError, match="no attribute 'lod'"):
        latentatlas.lod  # noqa: B018


def test_resume_equals_uninterrupted_run(tmp_path):
    cfg = RunConfig.from_dict(tiny_run_dict(30, checkpoint_every=7))
    full, _ = train_run(cfg, tmp_path / "full")
    _, fit = train_run(cfg, tmp_path / "part", callbacks=[StopAt(12)])
    assert fit.status == "interrupted" and fit.step == 12
    meta = json.loads((tmp_path / "part" / ckpt.METADATA).read_text())
    assert meta["status"] == "interrupted"
    resumed, fit2 = resume_run(tmp_path / "part")
    assert fit2.step == 30 and fit2.status == "finished"
    a, b = params_of(full), params_of(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # the metrics log has no duplicated steps after resuming
    steps = [r["step"] for r in ckpt.read_metrics(tmp_path / "part") if r["split"] == "train"]
    assert steps == sorted(set(steps))
    full_steps = [r["step"] for r in ckpt.read_metrics(tmp_path / "full") if r["split"] == "train"]
    assert steps == full_steps


def test_resume_can_extend_training_but_not_change_the_model(tmp_path):
    cfg = RunConfig.from_dict(tiny_run_dict(10))
    train_run(cfg, tmp_path / "run")
    _, fit = resume_run(tmp_path / "run", {"train": {"steps": 15}})
    assert fit.step == 15
    with pytest.raises(ConfigError, match="only train settings"):
        resume_run(tmp_path / "run", {"model": {"beta": 2}})


class PoisonAt(Callback):
    """Sets a weight to NaN after ``step`` so that the next loss is NaN."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, trainer, step, scalars):
        if step == self.step:
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(float("nan"))


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    cfg = RunConfig.from_dict(tiny_run_dict(40, checkpoint_every=10))
    run = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match="at step 26.*Last good checkpoint: step 20"):
        train_run(cfg, run, callbacks=[PoisonAt(25)])
    weights = ckpt.load_weights(run / ckpt.WEIGHTS)
    assert all(torch.isfinite(v).all() for v in weights.values())
    assert torch.load(run / ckpt.STATE, weights_only=True)["step"] == 20
    assert json.loads((run / ckpt.METADATA).read_text())["status"] == "diverged"


def test_data_with_nan_is_refused_before_training(tmp_path):
    x = torch.randn(20, 4)
    x[7, 2] = float("inf")
    with pytest.raises(DataError, match="NaN or inf.*first bad index 7"):
        InMemoryDataset(x)


def test_existing_run_is_never_overwritten(tmp_path):
    cfg = RunConfig.from_dict(tiny_run_dict(5))
    train_run(cfg, tmp_path / "run")
    before = (tmp_path / "run" / ckpt.WEIGHTS).read_bytes()
    with pytest.raises(RunFolderError, match="already holds a run"):
        train_run(cfg, tmp_path / "run")
    assert (tmp_path / "run" / ckpt.WEIGHTS).read_bytes() == before


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "file.json"
    ckpt.atomic_write_json(target, {"a": 1})

    def failing(tmp: str) -> None:
        with open(tmp, "w") as fh:
            fh.write("{half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        ckpt.atomic_write(target, failing)
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_corrupt_and_missing_run_folders(tmp_path):
    with pytest.raises(RunFolderError, match="does not exist"):
        load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFolderError, match="not a latent-atlas run folder"):
        load(tmp_path / "empty")
    train_run(RunConfig.from_dict(tiny_run_dict(5)), tmp_path / "run")
    (tmp_path / "run" / ckpt.WEIGHTS).write_bytes(b"garbage")
    with pytest.raises(RunFolderError, match="corrupt"):
        load(tmp_path / "run")
    (tmp_path / "run" / ckpt.CONFIG).write_text("{not json")
    with pytest.raises(RunFolderError, match="corrupt JSON"):
        load(tmp_path / "run")


def test_trainer_without_run_folder_and_epochs():
    from latentatlas.data.synthetic.sine_circle import SineCircle, SineCircleConfig
    from latentatlas.registry import MODELS, build

    ds = SineCircle(SineCircleConfig(n=100, dim=6))
    model = build(MODELS, {"name": "vae", "input_shape": [6]})
    trainer = Trainer(model, ds, TrainerConfig(epochs=3, batch_size=32, progress=False))
    assert trainer.total_steps == 9
    fit = trainer.fit()
    assert fit.step == 9 and fit.status == "finished"
    # every epoch is a permutation: within one epoch no index repeats
    seen = torch.cat([trainer.batch_indices(s) for s in range(3)])
    assert len(set(seen.tolist())) == 96


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("constant", lambda s: 1.0),
        ("cosine", lambda s: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * s / 10))),
        ("linear", lambda s: 1 - 0.9 * s / 10),
        ("step", lambda s: 0.5 ** (s // 3)),
    ],
)
def test_learning_rate_schedules_follow_their_formulas(schedule, expected):
    from latentatlas.data.synthetic.sine_circle import SineCircle, SineCircleConfig
    from latentatlas.registry import MODELS, build

    ds = SineCircle(SineCircleConfig(n=64, dim=6))
    cfg = TrainerConfig(
        steps=10,
        lr=2.0,
        schedule=schedule,
        warmup_steps=4,
        min_lr_ratio=0.1,
        step_size=3,
        gamma=0.5,
        progress=False,
    )
    trainer = Trainer(build(MODELS, {"name": "ae", "input_shape": [6]}), ds, cfg)
    lrs = []
    for _ in range(10):
        lrs.append(trainer.scheduler.get_last_lr()[0])
        trainer.optimizer.step()
        trainer.scheduler.step()
    for step, lr in enumerate(lrs):
        ramp = min(1.0, (step + 1) / 4)  # linear warm-up over 4 steps
        assert lr == pytest.approx(2.0 * ramp * expected(step)), (schedule, step)


@pytest.mark.parametrize(
    "train, message",
    [
        ({"optimizer": "adamm"}, "unknown optimizer 'adamm'"),
        ({"schedule": "exp"}, "unknown schedule 'exp'"),
        ({"device": "gpu0"}, "device: expected a torch device"),
        ({"lr": 0}, "train.lr: expected a value > 0.0"),
        ({"batch_size": 2.5}, "train.batch_size: expected an integer"),
    ],
)
def test_bad_trainer_settings(train, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_dict({"train": train})


def test_resume_applies_a_new_learning_rate_and_refuses_another_optimizer(tmp_path):
    train_run(RunConfig.from_dict(tiny_run_dict(10, lr=1e-3)), tmp_path / "run")
    _, fit = resume_run(tmp_path / "run", {"train": {"steps": 15, "lr": 1e-4}})
    assert fit.step == 15
    lrs = [r["lr"] for r in ckpt.read_metrics(tmp_path / "run") if r["split"] == "train"]
    assert lrs[:2] == [1e-3, 1e-3] and lrs[-1] == pytest.approx(1e-4)
    state = torch.load(tmp_path / "run" / ckpt.STATE, weights_only=True)
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-4)
    with pytest.raises(ConfigError, match="optimiser cannot change"):
        resume_run(tmp_path / "run", {"train": {"steps": 20, "optimizer": "sgd"}})


def test_nan_parameters_are_never_checkpointed(tmp_path):
    # the poison lands right before a checkpoint: the loss of that step was still finite
    cfg = RunConfig.from_dict(tiny_run_dict(40, checkpoint_every=10))
    run = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match="parameters became NaN.*checkpoint: step 10"):
        train_run(cfg, run, callbacks=[PoisonAt(20)])
    assert torch.load(run / ckpt.STATE, weights_only=True)["step"] == 10
    weights = ckpt.load_weights(run / ckpt.WEIGHTS)
    assert all(torch.isfinite(v).all() for v in weights.values())


def test_divergence_before_the_first_checkpoint_says_so(tmp_path):
    cfg = RunConfig.from_dict(tiny_run_dict(40, checkpoint_every=10))
    with pytest.raises(TrainingDiverged, match="No checkpoint was written yet.*delete it"):
        train_run(cfg, tmp_path / "run", callbacks=[PoisonAt(3)])


def test_device_may_be_a_torch_device():
    assert TrainerConfig(device=torch.device("cpu")).device == "cpu"
    with pytest.raises(ConfigError, match="device: expected a string"):
        TrainerConfig(device=3)


class FailAtEnd(Callback):
    def on_train_end(self, trainer, step):
        raise RuntimeError("evaluation broke")


def test_a_failing_end_callback_keeps_the_final_weights(tmp_path):
    cfg = RunConfig.from_dict(tiny_run_dict(12, checkpoint_every=0))
    with pytest.raises(RuntimeError, match="evaluation broke"):
        train_run(cfg, tmp_path / "run", callbacks=[FailAtEnd()])
    assert torch.load(tmp_path / "run" / ckpt.STATE, weights_only=True)["step"] == 12
    meta = json.loads((tmp_path / "run" / ckpt.METADATA).read_text())
    assert meta["status"] == "failed" and "evaluation broke" in meta["error"]


def test_corrupt_trainer_state_gives_one_line(tmp_path):
    train_run(RunConfig.from_dict(tiny_run_dict(3)), tmp_path / "run")
    (tmp_path / "run" / ckpt.STATE).write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(RunFolderError, match="corrupt or unreadable trainer state") as info:
        resume_run(tmp_path / "run", {"train": {"steps": 6}})
    assert "\n" not in str(info.value) and "weights_only=False" not in str(info.value)


def test_memory_format_auto_is_channels_last_for_conv_models_on_the_cpu():
    """The default layout: NHWC for a model with 2-D convolutions on the CPU (measured faster,
    benchmarks/training_throughput.py), contiguous for an MLP; explicit choices win."""
    from latentatlas.train.trainer import uses_channels_last

    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten())
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 2))
    cpu = torch.device("cpu")
    assert TrainerConfig().memory_format == "auto"
    assert uses_channels_last("auto", conv, cpu) and not uses_channels_last("auto", mlp, cpu)
    assert not uses_channels_last("auto", conv, torch.device("meta"))  # not measured there
    assert not uses_channels_last("contiguous", conv, cpu)
    assert uses_channels_last("channels_last", mlp, cpu)


def test_bf16_and_channels_last_train_to_nearly_the_same_weights(tmp_path):
    """train.precision = bf16 runs the forward under bfloat16 autocast and train.memory_format =
    channels_last keeps convolutions in NHWC: both train, checkpoint and resume, and land near
    the fp32 run (bf16 within its rounding, channels-last within float rounding)."""
    from latentatlas import resume_run, train_run
    from latentatlas.train.run import RunConfig

    spec = {
        "dataset": {"name": "disks", "n": 64, "size": 16},
        "model": {
            "name": "ae",
            "latent": {"name": "point", "dim": 2},
            "encoder": {
                "name": "conv_encoder",
                "channels": [4, 8],
                "kernel": 4,
                "stride": 2,
                "dense": [16],
            },
            "decoder": {
                "name": "conv_decoder",
                "channels": [8, 4],
                "kernel": 4,
                "stride": 2,
                "dense": [16],
            },
            "likelihood": {"name": "bernoulli"},
        },
        "train": {"steps": 6, "batch_size": 16, "progress": False, "log_every": 1},
    }
    losses = {}
    for name, train in {
        "fp32": {"memory_format": "contiguous"},
        "bf16": {"precision": "bf16", "memory_format": "contiguous"},
        "cl": {"memory_format": "channels_last"},
    }.items():
        config = RunConfig.from_dict({**spec, "train": {**spec["train"], **train}})
        _, fit = train_run(config, tmp_path / name)
        assert fit.status == "finished"
        losses[name] = fit.last["loss"]
    assert losses["cl"] == pytest.approx(losses["fp32"], rel=1e-4)
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=2e-2)
    assert losses["bf16"] != losses["fp32"]  # autocast did run in bfloat16
    # a bf16 run resumes like any other
    _, more = resume_run(tmp_path / "bf16", {"train": {"steps": 8}})
    assert more.step == 8
    with pytest.raises(ConfigError, match="precision"):
        RunConfig.from_dict({**spec, "train": {**spec["train"], "precision": "fp16"}})


def test_an_ensemble_refuses_bf16():
    from latentatlas.train.ensemble import train_ensemble
    from latentatlas.train.run import RunConfig

    from .conftest import tiny_run_dict

    spec = tiny_run_dict(steps=2, precision="bf16")
    with pytest.raises(ConfigError, match="ensemble trains in fp32"):
        train_ensemble([RunConfig.from_dict(spec), RunConfig.from_dict({**spec, "seed": 4})])


def test_best_weights_ends_with_the_lowest_scoring_weights(tmp_path):
    """BestWeights keeps the weights where the score was lowest (here a score made to be lowest
    at step 8 of 20), gives them to the model at the end, writes them as the run's weights, and
    survives an interruption: the resumed run ends with the same best step and weights."""
    from latentatlas.train import BestWeights
    from latentatlas.train.run import restore_run

    cfg = RunConfig.from_dict(tiny_run_dict(20, checkpoint_every=4))
    at_step: dict[int, dict[str, torch.Tensor]] = {}

    class Record(Callback):  # the weights at every step, to compare with
        def on_step_end(self, trainer, step, scalars):
            at_step[step] = params_of(trainer.model)

    def scorer(trainer_box):
        def score(model):
            step = trainer_box[0].step
            return float("nan") if step == 12 else abs(step - 8)  # NaN never counts as best

        return score

    class Box(Callback):  # hands the scorer the trainer (to make the score a function of step)
        def __init__(self, box):
            self.box = box

        def on_train_start(self, trainer):
            self.box[:] = [trainer]

    box: list = []
    best = BestWeights(scorer(box), every=4)
    model, fit = train_run(cfg, tmp_path / "run", callbacks=[Box(box), Record(), best])
    assert fit.status == "finished" and best.best_step == 8 and best.best_score == 0.0
    assert all(torch.equal(v, at_step[8][k]) for k, v in params_of(model).items())
    loaded = load(tmp_path / "run")  # the run folder's weights are the best ones
    assert all(torch.equal(v, at_step[8][k]) for k, v in params_of(loaded).items())
    meta = json.loads((tmp_path / "run" / ckpt.METADATA).read_text())
    assert meta["best_step"] == 8 and meta["status"] == "finished"
    scores = [r for r in ckpt.read_metrics(tmp_path / "run") if r["split"] == "best"]
    assert [r["step"] for r in scores] == [4, 8, 12, 16, 20]
    # interrupted at step 10 (after the best) and resumed: the same best weights at the end
    box2: list = []
    best2 = BestWeights(scorer(box2), every=4)
    _, part = train_run(cfg, tmp_path / "part", callbacks=[Box(box2), best2, StopAt(10)])
    assert part.status == "interrupted"
    box3: list = []
    best3 = BestWeights(scorer(box3), every=4)
    resumed, _ = resume_run(tmp_path / "part", callbacks=[Box(box3), best3])
    assert best3.best_step == 8
    assert all(torch.equal(v, at_step[8][k]) for k, v in params_of(resumed).items())
    # a reproduction reusing the finished run (with its callbacks) restores the same model
    box4: list = []
    again = restore_run(tmp_path / "run", [Box(box4), Record(), BestWeights(scorer(box4), 4)])
    assert all(torch.equal(v, at_step[8][k]) for k, v in params_of(again).items())
    with pytest.raises(ValueError, match="every must be >= 1"):
        BestWeights(lambda m: 0.0, every=0)
    # the last step is scored before the final checkpoint, which then holds it
    odd = BestWeights(lambda m: 1.0, every=7)
    train_run(cfg, tmp_path / "odd", callbacks=[odd])
    steps = [r["step"] for r in ckpt.read_metrics(tmp_path / "odd") if r["split"] == "best"]
    assert steps == [7, 14, 20]
    saved = torch.load(tmp_path / "odd" / ckpt.STATE, weights_only=True)["callbacks"]
    assert any(state.get("last_step") == 20 for state in saved.values())


def test_the_regularizer_warmup_weighs_the_kl_by_step_over_warmup(tmp_path):
    """train.regularizer_warmup: the loss of step k is reconstruction + min(1, k/N)·KL (the
    KL annealing that kept the thesis's pixel-shift diffusion VAE from collapsing at σX = 1);
    resuming mid-warm-up continues the same weights, and the model leaves with its full
    objective."""
    cfg = RunConfig.from_dict(
        tiny_run_dict(30, log_every=1, regularizer_warmup=20, checkpoint_every=7)
    )
    model, _ = train_run(cfg, tmp_path / "full")
    records = [r for r in ckpt.read_metrics(tmp_path / "full") if r["split"] == "train"]
    assert len(records) == 30
    for r in records:  # the record of step k holds the loss of 0-based step k - 1
        weight = min(1.0, (r["step"] - 1) / 20)
        assert r["loss"] == pytest.approx(r["reconstruction"] + weight * r["kl"], rel=1e-5)
    assert records[0]["loss"] == pytest.approx(records[0]["reconstruction"], rel=1e-6)
    assert model.regularizer_scale == 1.0
    _, fit = train_run(cfg, tmp_path / "part", callbacks=[StopAt(12)])
    assert fit.step == 12
    resumed, _ = resume_run(tmp_path / "part")
    a, b = params_of(model), params_of(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_evaluations_during_a_regularizer_warmup_use_the_full_objective():
    cfg = RunConfig.from_dict(tiny_run_dict(10, regularizer_warmup=100))
    data = latentatlas.train.run.build_dataset(cfg)
    cfg = latentatlas.train.run.complete_config(cfg, data)
    model = latentatlas.train.run.build_model(cfg, data)
    trainer = Trainer(model, data, cfg.train, None, cfg.seed)
    trainer._curriculum(10, 10)
    assert model.regularizer_scale == pytest.approx(0.1)
    seen = trainer.run_on_model(lambda m: m.regularizer_scale)
    assert seen == 1.0 and model.regularizer_scale == pytest.approx(0.1)
