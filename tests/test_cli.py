"""The command line end to end (in this process through conftest.run_cli, or in real
processes where signals matter): the demo, bad input, Ctrl-C, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from latentatlas.train import checkpoint as ckpt

from .conftest import CLI, run_cli, start_cli

TINY = [
    "--set=dataset.n=256",
    "--set=dataset.dim=12",
    "--set=model.encoder.hidden=[8]",
    "--set=model.decoder.hidden=[8]",
    "--set=train.batch_size=32",
    "--set=train.progress=false",
]


run = run_cli


def assert_clean_error(proc: subprocess.CompletedProcess, *fragments: str, code: int = 2) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr


@pytest.mark.slow
def test_demo_quick_writes_a_report(tmp_path):
    out = tmp_path / "demo"
    proc = run("demo", "--quick", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = Path(proc.stdout.strip().splitlines()[-1])
    assert report == out / "report.html" and report.is_file()
    html = report.read_text()
    assert "thesis table 5.1" in html and "data:image/png;base64," in html
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["n_points"] == 100 and evaluation["n_samples"] == 100
    assert "neg_elbo" in proc.stderr  # the side-by-side table is printed
    # the diffusion VAE and the reductions between R², S¹ and the ground truth Φ
    assert (out / "diffusion_vae" / "report.html").is_file()
    reduction = json.loads((out / "reduction.json").read_text())
    assert set(reduction["delta"]) == {
        f"{a} -> {b}" for a in ("R²", "S¹", "Φ") for b in ("R²", "S¹", "Φ") if a != b
    }
    assert "Diffusion VAE on S¹ and Δ-reduction" in html and "thesis table 7.1" in proc.stderr
    assert "eq. 7.5, is half uniform" in proc.stderr  # the KL beside 1.98 is explained
    # `report` re-renders the page and keeps the thesis column (read from references.json)
    report.unlink()
    assert run("report", str(out)).returncode == 0
    assert "−28.74 ± 0.16" in report.read_text()
    # run again, the same demo continues (its finished models reused), with or without --force
    for flags in ((), ("--force",)):
        again = run("demo", "--quick", *flags, "--out", str(out))
        assert again.returncode == 0, again.stderr
        assert json.loads((out / "evaluation.json").read_text()) == evaluation
    # a demo of other settings is refused without --force, replaced with it
    other = run("demo", "--quick", "--steps", "200", "--out", str(out))
    assert_clean_error(other, "train.steps = 300")
    replaced = run("demo", "--quick", "--steps", "200", "--force", "--out", str(out))
    assert replaced.returncode == 0, replaced.stderr
    assert report.is_file()


@pytest.mark.slow
def test_train_evaluate_report_list(tmp_path):
    out = tmp_path / "run"
    proc = run(
        "train",
        "--dataset",
        "sine_circle",
        "--model",
        "vae",
        *TINY,
        "--set=train.steps=30",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    proc = run("evaluate", str(out), "--samples", "5")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n_samples"] == 5
    assert json.loads((out / "evaluation.json").read_text())["n_points"] == 100
    proc = run("report", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out / "report.html") and (out / "report.html").is_file()
    listing = run("list", "models")
    assert listing.returncode == 0 and "beta_vae" in listing.stdout and "vae" in listing.stdout


@pytest.mark.slow
def test_train_from_a_yaml_file(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        "dataset: {name: sine_circle, n: 64, dim: 6}\nmodel: {name: ae}\n"
        "train: {steps: 3, batch_size: 16, progress: false}\n"
    )
    proc = run("train", str(cfg), "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "run" / ckpt.CONFIG).read_text())["model"]["name"] == "ae"


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, fragments",
    [
        (["train", "--dataset", "mnist3d"], ["unknown dataset 'mnist3d'", "sine_circle"]),
        (["train", "--model", "gan"], ["unknown model 'gan'", "beta_vae", "vae"]),
        (["train", "--set", "train.lr=-1"], ["train.lr: expected a value > 0.0"]),
        (["train", "--set", "train.steps=many"], ["train.steps: expected an integer"]),
        (["train", "--set", "model.beta=high"], ["model.beta: expected a number"]),
        (["train", "--set", "model.latent.dim=0"], ["latent.dim: expected a value >= 1"]),
        (["train", "--set", "nonsense"], ["expected key=value"]),
        (["train", "no-such-file.yaml"], ["does not exist"]),
        (["evaluate", "no/such/run"], ["does not exist"]),
        (["report", "no/such/run"], ["does not exist"]),
        (["list", "gizmos"], ["Invalid value"]),
        (["evaluate", "some/run", "--samples", "0"], ["Invalid value", "--samples"]),
        (["train", "--set", "seed=1125899906842624"], ["seed: expected a value < 4294967296"]),
        (["train", "--set", "train.device=cuda:3"], ["train.device: 'cuda:3' is not available"]),
        (
            [
                "train",
                "--dataset",
                "dsprites",
                "--set",
                "model.encoder.name=conv_encoder",
                "--set",
                "model.encoder.channels=[2,2,2,2,2,2,2,2]",
            ],
            ["too small"],
        ),
        (["demo", "--steps", "0", "--out", "."], ["train.steps: expected a value >= 1"]),
    ],
)
def test_bad_input_exits_2_without_traceback(args, fragments, tmp_path):
    proc = run(*args, "--out", str(tmp_path / "x")) if args[0] == "train" else run(*args)
    assert_clean_error(proc, *fragments)
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


@pytest.mark.slow
def test_nan_data_is_refused_before_training(tmp_path):
    x = np.random.default_rng(0).normal(size=(40, 5)).astype(np.float32)
    x[3, 1] = np.nan
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "run"
    proc = run(
        "train",
        "--dataset",
        "array",
        f"--set=dataset.path={tmp_path / 'x.npy'}",
        "--set=train.steps=2",
        "--out",
        str(out),
    )
    assert_clean_error(proc, "NaN")
    assert not (out / ckpt.WEIGHTS).exists()


@pytest.mark.slow
def test_corrupt_run_folder(tmp_path):
    out = tmp_path / "run"
    assert run("train", *TINY, "--set=train.steps=3", "--out", str(out)).returncode == 0
    (out / ckpt.WEIGHTS).write_bytes(b"\x00" * 10)
    assert_clean_error(run("evaluate", str(out)), "corrupt")
    again = run("train", *TINY, "--set=train.steps=3", "--out", str(out))
    assert_clean_error(again, "already holds a run")


@pytest.mark.slow
def test_resume_refusals_and_relative_data_paths(tmp_path):
    x = np.random.default_rng(0).normal(size=(64, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "run"
    proc = run(
        "train",
        "--dataset",
        "array",
        "--set=dataset.path=x.npy",
        "--set=train.steps=3",
        "--set=train.progress=false",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    stored = json.loads((out / ckpt.CONFIG).read_text())["dataset"]["path"]
    assert stored == str(tmp_path / "x.npy")  # absolute: the run works from anywhere
    assert run("evaluate", str(out), "--samples", "2").returncode == 0
    assert_clean_error(run("train", "--resume", "--out", str(out)), "already reached step 3")
    assert_clean_error(
        run("train", "--resume", "--out", str(out), "--set", "train=5"), "train: expected a mapping"
    )
    (out / ckpt.METADATA).write_text("[]")
    assert_clean_error(
        run("train", "--resume", "--out", str(out), "--set", "train.steps=5"), "corrupt metadata"
    )


@pytest.mark.slow
def test_demo_force_replaces_only_a_run_folder(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me")
    proc = run("demo", "--quick", "--force", "--out", str(folder))
    assert_clean_error(proc, "nothing was deleted")
    assert (folder / "precious.txt").read_text() == "keep me"


@pytest.mark.slow
def test_debug_shows_the_traceback():
    proc = run("--debug", "train", "--model", "gan")
    assert proc.returncode == 1 and "Traceback" in proc.stderr


@pytest.mark.slow
def test_ctrl_c_inside_generated_code_still_exits_130(tmp_path):
    """A Ctrl-C that lands while Python runs generated code (a dataclass or a namedtuple being
    made, as a lazy import does) leaves the interpreter remembering an "unhandled"
    KeyboardInterrupt; under ``python -m`` it then ended by SIGINT (-2) after our message,
    although the CLI had handled it and asked for 130."""
    (tmp_path / "ctrl_c_in_exec.py").write_text(
        "import sys\n"
        "from latentatlas import cli\n"
        "@cli.cli.command('ctrl-c')\n"
        "def ctrl_c():\n"
        "    exec('raise KeyboardInterrupt')\n"
        "sys.argv = ['latent-atlas', 'ctrl-c']\n"
        "cli.main()\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    proc = subprocess.run(
        [sys.executable, "-m", "ctrl_c_in_exec"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 130, proc.stderr
    assert "interrupted (Ctrl-C)" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(tmp_path):
    out = tmp_path / "run"
    args = [
        *CLI,
        "train",
        *TINY,
        "--set=train.steps=200000",
        "--set=train.log_every=1",
        "--set=train.checkpoint_every=0",
        "--out",
        str(out),
    ]
    proc = start_cli(*args[len(CLI) :])
    deadline = time.time() + 120
    while time.time() < deadline and len(ckpt.read_metrics(out)) < 20:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    state_step = int(json.loads((out / ckpt.METADATA).read_text())["step"])
    assert 20 <= state_step < 200000
    assert json.loads((out / ckpt.METADATA).read_text())["status"] == "interrupted"
    resumed = run("train", "--resume", "--out", str(out), f"--set=train.steps={state_step + 10}")
    assert resumed.returncode == 0, resumed.stderr
    meta = json.loads((out / ckpt.METADATA).read_text())
    assert meta["status"] == "finished" and meta["step"] == state_step + 10


@pytest.mark.slow
def test_environment_is_not_required(tmp_path):
    """The CLI trains and draws a report with a minimal environment (no HOME, no display)."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    out = tmp_path / "run"
    proc = run("train", *TINY, "--set=train.steps=3", "--out", str(out), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run("report", str(out), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (out / "report.html").is_file()


@pytest.mark.slow
def test_the_cli_shows_its_own_info_lines_but_not_torchs():
    """torch logs "FakeTensor cache stats" at INFO when a process exits; its logger is set to
    WARNING only at the end of torch's import, so a SIGTERM during that import (a command's
    first seconds) printed those lines before the clean message. Emulated here by the level a
    half-done import leaves."""
    script = (
        "import logging, sys, torch._subclasses.fake_tensor\n"
        "logging.getLogger('torch').setLevel(logging.NOTSET)\n"
        "from latentatlas.cli import main\n"
        "sys.argv = ['latent-atlas', 'list', 'latents']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "logging.getLogger('latentatlas.train').info('our line')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "our line" in proc.stderr and "FakeTensor" not in proc.stderr, proc.stderr


@pytest.mark.slow
def test_every_commands_short_help_reads_whole():
    """Click cuts a docstring's first sentence at "ch." or "eq." and adds "..."; every command
    names its own one-line help."""
    proc = run_cli("--help")
    commands = proc.stdout.split("Commands:")[1].strip().splitlines()
    assert len(commands) >= 12
    for line in commands:
        assert line.rstrip().endswith(".") and not line.rstrip().endswith("..."), line


@pytest.mark.slow
def test_positional_key_value_overrides_work_like_set(tmp_path):
    """Hydra's style: `latent-atlas train dataset=NAME train.steps=5` (was refused)."""
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"train": {"batch_size": 16}}))
    proc = run_cli(
        "train",
        str(config),
        "dataset=sine_circle",
        "model=vae",
        "dataset.n=200",
        "train.steps=12",
        "train.progress=false",
        "--set",
        "train.lr=0.002",
        "--out",
        str(tmp_path / "run"),
    )
    assert proc.returncode == 0, proc.stderr
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (saved["dataset"]["name"], saved["model"]["name"]) == ("sine_circle", "vae")
    assert saved["dataset"]["n"] == 200 and saved["train"]["steps"] == 12
    assert saved["train"]["batch_size"] == 16 and saved["train"]["lr"] == 0.002
    for args, message in (
        (("a.json", "b.json"), "one CONFIG_FILE at most"),
        (("dataset=sine_circle", "--dataset", "array"), "disagree"),
        (("train.stepz=3",), "stepz"),
    ):
        bad = run_cli("train", *args, "--out", str(tmp_path / "bad"))
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr


@pytest.mark.slow
def test_evaluate_says_what_it_is_computing(tmp_path):
    """`evaluate --metrics` ran silently for minutes: each step is named on stderr."""
    run = tmp_path / "run"
    proc = run_cli(
        "train",
        "dataset=sine_circle",
        "model=vae",
        "dataset.n=200",
        "train.steps=5",
        "train.progress=false",
        "--out",
        str(run),
    )
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("evaluate", str(run), "--metrics", "mig,sap", "--preset", "fast")
    assert proc.returncode == 0, proc.stderr
    assert "ELBO terms and MSE with L = 100 posterior samples on" in proc.stderr
    assert "metric 1 of 2: mig (fast preset)" in proc.stderr
    assert (
        "metric 2 of 2: sap (fast preset); " in proc.stderr and "left at that pace" in proc.stderr
    )


def test_an_interrupted_demo_run_continues_to_the_same_weights(tmp_path):
    """The demo's trainings resume from their last checkpoint (was: `make demo --force` could
    not even replace an interrupted demo); the result equals an uninterrupted run."""
    import torch

    from latentatlas import train_run
    from latentatlas.errors import RunFolderError
    from latentatlas.papers.thesis.demo import train_or_continue
    from latentatlas.train import RunConfig, build_dataset
    from latentatlas.train.callbacks import Callback

    from .conftest import tiny_run_dict

    config = RunConfig.from_dict(tiny_run_dict(steps=40, checkpoint_every=10))
    dataset = build_dataset(config)

    class StopAt(Callback):
        def on_step_end(self, trainer, step, record):
            if step == 25:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_run(config, tmp_path / "cut", [StopAt()], dataset=dataset)
    resumed, fit = train_or_continue(config, tmp_path / "cut", [], dataset)
    whole, _ = train_run(config, tmp_path / "whole", dataset=dataset)
    assert fit.status == "finished"
    for a, b in zip(resumed.state_dict().values(), whole.state_dict().values()):
        assert torch.equal(a, b)
    reused, again = train_or_continue(config, tmp_path / "cut", [], dataset)  # finished: reused
    assert again.status == "finished" and torch.equal(
        next(iter(reused.state_dict().values())), next(iter(whole.state_dict().values()))
    )
    other = RunConfig.from_dict(tiny_run_dict(steps=50, checkpoint_every=10))
    with pytest.raises(RunFolderError, match="train.steps = 40"):
        train_or_continue(other, tmp_path / "cut", [], dataset)
