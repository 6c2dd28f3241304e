"""Nothing lost, nothing corrupted: --force, folder locks, kills before the first checkpoint,
outputs written only after success, and one clear line for every corrupt run folder."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from latentatlas import resume_run, train_run
from latentatlas.analysis.evaluation import evaluate
from latentatlas.errors import (
    ConfigError,
    DataError,
    FolderLockedError,
    RunFolderError,
)
from latentatlas.train import checkpoint as ckpt
from latentatlas.train.outputs import (
    LOCK,
    MARKER,
    FolderLock,
    OutputFolder,
    claim_output_folder,
    read_marker,
)
from latentatlas.train.run import (
    RunConfig,
    load,
    load_dataset,
    run_status,
)
from latentatlas.viz.report import ReportSection, write_report

from .conftest import CLI, run_cli, tiny_run_dict


def one_line_error(proc: subprocess.CompletedProcess, *fragments: str, code: int = 2) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("safety") / "run"
    train_run(RunConfig.from_dict(tiny_run_dict(steps=10, checkpoint_every=5)), run_dir)
    return run_dir


def copy_of(run_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(run_dir, target)
    return target


# -- --force --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_force_refuses_a_folder_latent_atlas_did_not_write(tmp_path):
    """The issue's case: a config.json next to a user's thesis is not a licence to delete."""
    folder = tmp_path / "p"
    (folder / "src").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "thesis.tex").write_text("x")
    proc = run_cli("demo", "--out", str(folder), "--quick", "--force")
    one_line_error(proc, "nothing was deleted")
    assert (folder / "thesis.tex").read_text() == "x" and (folder / "src").is_dir()
    assert not (folder / LOCK).exists()  # the lock went with the refused command


def test_force_removes_only_what_the_marker_lists(tmp_path):
    folder = tmp_path / "out"
    with OutputFolder(folder, "reproduction"):
        (folder / "results.json").write_text("{}")
        (folder / "figures").mkdir()
        (folder / "figures" / "a.png").write_bytes(b"png")
    marker = read_marker(folder)
    assert marker["sealed"] and marker["files"] == ["figures/a.png", "results.json"]
    assert not (folder / LOCK).exists()
    # files the user put there afterwards, at the top or inside a folder of ours: refused
    for note in (folder / "notes.txt", folder / "figures" / "mine.txt", folder / ".x.tmp"):
        note.write_text("mine")
        with pytest.raises(RunFolderError, match="nothing was deleted"):
            claim_output_folder(folder, "reproduction", force=True)
        assert (folder / "results.json").exists() and (folder / "figures" / "a.png").exists()
        note.unlink()
    with pytest.raises(RunFolderError, match="not empty"):
        claim_output_folder(folder, "reproduction", force=False)
    claim_output_folder(folder, "reproduction", force=True)
    assert sorted(p.name for p in folder.iterdir()) == [MARKER]


def test_force_refuses_the_folder_of_a_command_that_did_not_finish(tmp_path, trained):
    """A command killed before writing its manifest: which files are its own is unknown, so
    --force deletes nothing (not even a marked run folder, which could be a user's)."""
    folder = tmp_path / "demo"
    claim_output_folder(folder, "demo")
    shutil.copytree(trained, folder / "diffusion_vae")
    with pytest.raises(RunFolderError, match="did not finish"):
        claim_output_folder(folder, "demo", force=True)
    assert (folder / "diffusion_vae" / ckpt.WEIGHTS).is_file()


def test_a_symlink_in_an_output_folder_is_never_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    folder = tmp_path / "out"
    with OutputFolder(folder, "probe result"):
        (folder / "link").symlink_to(outside, target_is_directory=True)
    claim_output_folder(folder, "probe result", force=True)
    assert (outside / "keep.txt").read_text() == "keep" and not (folder / "link").exists()


FORGED_ENTRIES = {
    "parent": "../victim.txt",
    "absolute": "ABS/victim_abs.txt",
    "through a symlinked folder": "sub/secret.txt",
    "not a string": ["a"],
    "not normal": "./thesis.tex",
    "our lock": LOCK,
}


@pytest.mark.parametrize("case", sorted(FORGED_ENTRIES))
def test_force_never_deletes_outside_the_folder_whatever_the_marker_lists(tmp_path, case):
    """A marker is a file anyone can edit (a folder received from someone else): an entry that
    leaves the folder, is absolute, goes through a symlink or is not a path is refused, naming
    it, and nothing at all is deleted, inside or out."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "victim.txt").write_text("precious")
    (outside / "victim_abs.txt").write_text("precious")
    (outside / "secret.txt").write_text("precious")
    forge = tmp_path / "forge"
    forge.mkdir()
    (forge / "thesis.tex").write_text("thesis")
    (forge / "sub").symlink_to(outside, target_is_directory=True)
    entry = FORGED_ENTRIES[case]
    if isinstance(entry, str):
        entry = entry.replace("ABS", str(outside))
    files = ["thesis.tex", "sub", entry]
    marker = {"tool": "latent-atlas", "kind": "reproduction", "sealed": True, "files": files}
    (forge / MARKER).write_text(json.dumps(marker))
    with pytest.raises(RunFolderError, match="deleted nothing") as info:
        claim_output_folder(forge, "reproduction", force=True)
    assert repr(entry)[:40] in str(info.value)
    survivors = [
        tmp_path / "victim.txt",
        outside / "victim_abs.txt",
        outside / "secret.txt",
        forge / "thesis.tex",
    ]
    assert all(p.read_text() in ("precious", "thesis") for p in survivors)
    assert (forge / "sub").is_symlink() and (forge / MARKER).is_file()


@pytest.mark.slow
def test_a_forged_marker_is_refused_by_the_cli_with_exit_2(tmp_path):
    """The issue's command: exit 2, one line naming the entry, the victim kept."""
    forge = tmp_path / "forge"
    forge.mkdir()
    (forge / "thesis.tex").write_text("thesis")
    (tmp_path / "victim.txt").write_text("precious")
    marker = {
        "tool": "latent-atlas",
        "kind": "reproduction",
        "sealed": True,
        "files": ["thesis.tex", "../victim.txt"],
    }
    (forge / MARKER).write_text(json.dumps(marker))
    proc = run_cli("reproduce", "directions-curvature", "--out", str(forge), "--force")
    one_line_error(proc, "'../victim.txt'", "leaves the folder", "deleted nothing")
    assert (tmp_path / "victim.txt").read_text() == "precious"
    assert (forge / "thesis.tex").read_text() == "thesis"
    marker["files"] = [["a"]]
    (forge / MARKER).write_text(json.dumps(marker))
    proc = run_cli("reproduce", "directions-curvature", "--out", str(forge), "--force")
    one_line_error(proc, "['a']", "not a file path")
    marker["files"] = "thesis.tex"
    (forge / MARKER).write_text(json.dumps(marker))
    one_line_error(
        run_cli("reproduce", "directions-curvature", "--out", str(forge), "--force"), "not a list"
    )


# -- locks ----------------------------------------------------------------------------------------
HOLD = """
import sys, time
from latentatlas.train.outputs import FolderLock
with FolderLock(sys.argv[1], command="holder"):
    print("locked", flush=True)
    time.sleep(60)
"""


@pytest.mark.slow
def test_a_second_command_on_a_locked_folder_exits_2_naming_the_holder(tmp_path):
    folder = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = run_cli("train", "--set=train.steps=2", "--out", str(folder))
        one_line_error(proc, "is in use by process", str(holder.pid), "holder")
        proc = run_cli("sweep", "nonexistent.yaml", "--out", str(folder))
        assert proc.returncode == 2
        with pytest.raises(FolderLockedError, match="in use"):
            FolderLock(folder).acquire()
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed: its lock is stale, reported with how to clear it
    proc = run_cli("train", "--set=train.steps=2", "--out", str(folder))
    one_line_error(proc, "stale lock", f"remove {folder / LOCK}")
    (folder / LOCK).unlink()
    assert (
        run_cli(
            "train", "--set=train.steps=2", "--set=train.progress=false", "--out", str(folder)
        ).returncode
        == 0
    )


@pytest.mark.slow
def test_report_is_refused_while_another_command_holds_the_run(trained, tmp_path):
    """report writes report.html and figures/ into the run folder: not while a training (or
    any other command) holds it."""
    run_dir = copy_of(trained, tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        one_line_error(run_cli("report", str(run_dir)), "is in use by process", str(holder.pid))
        assert not (run_dir / "report.html").exists() and not (run_dir / "figures").exists()
    finally:
        holder.kill()
        holder.wait()
    (run_dir / LOCK).unlink()
    assert run_cli("report", str(run_dir)).returncode == 0
    assert (run_dir / "report.html").is_file() and not (run_dir / LOCK).exists()


@pytest.mark.slow
def test_two_trainings_into_one_folder_at_once(tmp_path):
    folder = tmp_path / "run"
    args = [
        *CLI,
        "train",
        "--set=train.steps=400",
        "--set=train.progress=false",
        "--out",
        str(folder),
    ]
    procs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=240), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "in use by process" in loser or "already holds a run" in loser
    config = json.loads((folder / ckpt.CONFIG).read_text())
    assert config["train"]["steps"] == 400 and ckpt.read_metrics(folder)[-1]["step"] == 400
    steps = [r["step"] for r in ckpt.read_metrics(folder) if r.get("split") == "train"]
    assert steps == sorted(steps) and len(steps) == len(set(steps))  # not interleaved


def test_locks_nest_within_one_process(tmp_path):
    with FolderLock(tmp_path), FolderLock(tmp_path):
        assert (tmp_path / LOCK).exists()
    assert not (tmp_path / LOCK).exists()


# -- kills, SIGTERM and resume --------------------------------------------------------------------
LONG = [
    "--set=dataset.n=256",
    "--set=dataset.dim=12",
    "--set=train.batch_size=32",
    "--set=train.progress=false",
    "--set=train.log_every=1",
    "--set=train.checkpoint_every=0",
    "--set=train.steps=1000000",
]


def start_training(out: Path, *extra: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [*CLI, "train", *LONG, *extra, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not (out / ckpt.METRICS).is_file():
        time.sleep(0.05)
    return proc


@pytest.mark.slow
def test_sigterm_before_the_first_checkpoint_saves_one_and_exits_143(tmp_path):
    out = tmp_path / "run"
    proc = start_training(out)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr and "SIGTERM" in stderr
    meta = json.loads((out / ckpt.METADATA).read_text())
    assert meta["status"] == "interrupted" and (out / ckpt.STATE).is_file()
    assert not (out / LOCK).exists() and run_status(out) == "interrupted"


LOOP = """
import json, sys
from pathlib import Path
import latentatlas as la

config = json.loads(sys.argv[2])
for i in range(3):
    print("run", i, flush=True)
    la.train_run(la.RunConfig.from_dict(config), Path(sys.argv[1]) / f"r{i}")
print("loop finished", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_python_loop_of_trainings_ends_at_the_first_signal(tmp_path, sig):
    """train_run saves its checkpoint, then raises: the script's loop does not go on to the
    next model (SIGTERM: SystemExit 143; Ctrl-C: KeyboardInterrupt)."""
    from .conftest import _default_sigint

    config = tiny_run_dict(steps=10**6, checkpoint_every=0, log_every=1)
    proc = subprocess.Popen(
        [sys.executable, "-c", LOOP, str(tmp_path), json.dumps(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not (tmp_path / "r0" / ckpt.METRICS).is_file():
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(getattr(signal, sig))
    stdout, stderr = proc.communicate(timeout=120)
    assert "run 1" not in stdout and "loop finished" not in stdout, stdout
    assert not (tmp_path / "r1").exists()
    if sig == "SIGTERM":
        assert proc.returncode == 143 and "Traceback" not in stderr, stderr
    else:
        # a KeyboardInterrupt's traceback (Python exits with 130 only for the exact class)
        assert proc.returncode in (1, 130) and "InterruptedByCtrlC: stopped by SIGINT" in stderr
    meta = json.loads((tmp_path / "r0" / ckpt.METADATA).read_text())
    assert meta["status"] == "interrupted" and (tmp_path / "r0" / ckpt.STATE).is_file()
    assert not (tmp_path / "r0" / LOCK).exists()


@pytest.mark.slow
def test_a_run_killed_before_its_first_checkpoint_resumes_from_step_0(tmp_path):
    out = tmp_path / "run"
    proc = start_training(out)
    proc.kill()
    proc.wait()
    assert not (out / ckpt.STATE).exists() and (out / ckpt.CONFIG).is_file()
    assert run_status(out) == "running" or (out / LOCK).exists()
    (out / LOCK).unlink()  # the stale lock (reported as such by any command)
    assert run_status(out) == "stopped"  # recorded "running", but nobody runs it
    proc = run_cli("train", "--resume", "--out", str(out), "--set=train.steps=12")
    assert proc.returncode == 0, proc.stderr
    assert "starts from step 0" in proc.stderr
    # the same weights as an uninterrupted run of the same config
    config = json.loads((out / ckpt.CONFIG).read_text())
    fresh = tmp_path / "fresh"
    train_run(RunConfig.from_dict(config), fresh)
    a, b = load_file(out / ckpt.WEIGHTS), load_file(fresh / ckpt.WEIGHTS)
    assert all(torch.equal(a[k], b[k]) for k in a)
    records = ckpt.read_metrics(out)
    assert [r["step"] for r in records if r.get("split") == "train"] == list(range(1, 13))


def test_training_into_a_non_empty_folder_is_refused(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / ckpt.METRICS).write_text('{"step": 1, "loss": 3}\n')
    with pytest.raises(RunFolderError, match="not empty"):
        train_run(RunConfig.from_dict(tiny_run_dict(steps=2)), folder)
    assert (folder / ckpt.METRICS).read_text() == '{"step": 1, "loss": 3}\n'


@pytest.mark.slow
@pytest.mark.parametrize("out", ["/proc/latent-atlas-x", "FILE/sub"])
def test_an_unusable_out_fails_before_any_data_is_built(tmp_path, out):
    (tmp_path / "FILE").write_text("a file")
    proc = run_cli(
        "train", "--set=dataset.n=100000000", "--out", out.replace("FILE", str(tmp_path / "FILE"))
    )
    one_line_error(proc, "cannot write into")


# -- full disks and read-only folders: one line naming the file, no empty lock, a true status --
def _mount_small_tmpfs(folder: Path, size: str) -> bool:
    """Mount a tmpfs of ``size`` at ``folder`` when this process may (root in a container that
    allows it); False otherwise."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    return proc.returncode == 0


def _fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` to the last block."""
    filler = folder / "filler.bin"
    with open(filler, "wb", buffering=0) as fh:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError:
                continue
    return filler


@pytest.fixture
def full_disk(tmp_path):
    """A tiny trained run folder on a small file system, which the test fills."""
    mount = tmp_path / "disk"
    if not _mount_small_tmpfs(mount, "4m"):
        pytest.skip("cannot mount a tmpfs here (the injected-ENOSPC tests cover the same paths)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.slow
def test_a_full_disk_is_one_line_with_a_true_status_and_no_lock(full_disk):
    run_dir = full_disk / "run"
    (full_disk / "run.json").write_text(json.dumps(tiny_run_dict(steps=10, checkpoint_every=5)))
    proc = run_cli("train", str(full_disk / "run.json"), "--out", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    filler = _fill(full_disk)
    for args in (
        ["train", "--resume", "--out", str(run_dir), "--set=train.steps=400"],
        ["evaluate", str(run_dir), "--samples", "2"],
        ["report", str(run_dir)],
    ):
        line = one_line_error(run_cli(*args), "No space left on device")
        assert str(full_disk) in line, line  # the file or folder is named
        assert not (run_dir / LOCK).exists(), args
        assert json.loads((run_dir / ckpt.METADATA).read_text())["status"] != "running", args
        assert run_status(run_dir) in ("finished", "failed"), args
    filler.unlink()  # with room again, every command works: nothing stale was left
    assert run_cli("evaluate", str(run_dir), "--samples", "2").returncode == 0
    proc = run_cli("train", "--resume", "--out", str(run_dir), "--set=train.steps=20")
    assert proc.returncode == 0, proc.stderr
    assert run_status(run_dir) == "finished"


@pytest.mark.slow
def test_a_disk_filling_up_during_training_records_the_failure(full_disk):
    """The disk fills while the run trains: the checkpoint write fails with one line, and the
    metadata says "failed" (rewritten in place: there is no room for a new file)."""
    run_dir = full_disk / "run"
    config = tiny_run_dict(steps=10**6, checkpoint_every=200, log_every=1)
    config["dataset"]["n"] = 256
    (full_disk / "run.json").write_text(json.dumps(config))
    proc = start_training_from(full_disk / "run.json", run_dir)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (run_dir / ckpt.STATE).is_file():
            time.sleep(0.05)
        _fill(full_disk)
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 2 and "Traceback" not in stderr, stderr
    assert "No space left on device" in stderr and str(run_dir) in stderr
    meta = json.loads((run_dir / ckpt.METADATA).read_text())
    assert meta["status"] == "failed" and "No space left" in meta["error"]
    assert not (run_dir / LOCK).exists()


def start_training_from(config: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "train", str(config), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _enospc(*args, **kwargs):
    import errno

    raise OSError(errno.ENOSPC, "No space left on device")


def test_an_injected_full_disk_fails_one_line_keeping_the_status_true(tmp_path, monkeypatch):
    """Without a small file system to fill: no new file can be made from a checkpoint on. The
    fit raises the library's error naming the file, metadata.json says "failed"."""
    from latentatlas.errors import OutputWriteError
    from latentatlas.train import trainer as trainer_module

    run_dir = tmp_path / "run"
    save = trainer_module.ckpt.save_state
    calls = []

    def save_then_fill(path, state):
        calls.append(path)
        if len(calls) == 2:  # the second checkpoint: the disk is full from here on
            monkeypatch.setattr("tempfile.mkstemp", _enospc)
        save(path, state)

    monkeypatch.setattr(trainer_module.ckpt, "save_state", save_then_fill)
    with pytest.raises(OutputWriteError, match="cannot write .*trainer_state.pt: No space left"):
        train_run(RunConfig.from_dict(tiny_run_dict(steps=20, checkpoint_every=5)), run_dir)
    meta = json.loads((run_dir / ckpt.METADATA).read_text())
    assert meta["status"] == "failed" and meta["step"] == 5 and "No space left" in meta["error"]
    assert not (run_dir / LOCK).exists() and run_status(run_dir) == "failed"


def test_a_lock_that_cannot_be_written_leaves_nothing(tmp_path, monkeypatch):
    """The lock is made whole or not at all: an empty lock would refuse every later command."""
    from latentatlas.errors import OutputWriteError

    folder = tmp_path / "run"
    folder.mkdir()
    real_fdopen = os.fdopen

    def full_fdopen(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)
        handle.write = _enospc
        return handle

    monkeypatch.setattr(os, "fdopen", full_fdopen)
    with pytest.raises(OutputWriteError, match=f"cannot write {folder / LOCK}: No space"):
        FolderLock(folder).acquire()
    monkeypatch.undo()
    assert sorted(os.listdir(folder)) == []
    with FolderLock(folder):
        assert json.loads((folder / LOCK).read_text())["pid"] == os.getpid()


def test_report_on_a_read_only_folder_is_one_line(trained, tmp_path, monkeypatch):
    import errno

    from latentatlas.errors import OutputWriteError

    run_dir = copy_of(trained, tmp_path)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("tempfile.mkstemp", read_only)
    with pytest.raises(OutputWriteError, match="cannot write .*: Read-only file system"):
        write_report(run_dir, dpi=20)


# -- outputs only after success -------------------------------------------------------------------
@pytest.mark.slow
def test_a_failing_evaluate_leaves_the_earlier_results(tmp_path, trained):
    run_dir = copy_of(trained, tmp_path)
    assert run_cli("evaluate", str(run_dir), "--samples", "7").returncode == 0
    before = (run_dir / "evaluation.json").read_text()
    proc = run_cli("evaluate", str(run_dir), "--samples", "1", "--metrics", "beta_vae")
    one_line_error(proc)
    assert (run_dir / "evaluation.json").read_text() == before


@pytest.mark.slow
def test_report_keeps_the_sections_it_cannot_recompute(tmp_path, trained):
    run_dir = copy_of(trained, tmp_path)
    section = ReportSection(title="Δ-reduction between three models", lead="kept <b>lead</b>")
    first = write_report(run_dir, extras=[section], dpi=30).read_text(encoding="utf-8")
    again = write_report(run_dir, dpi=30).read_text(encoding="utf-8")
    assert "Δ-reduction between three models" in first and "kept <b>lead</b>" in again
    assert "Δ-reduction between three models" in again


# -- corrupt run folders: one line naming the file, for resume, evaluate, report and explore ------
def _state(run_dir: Path) -> dict:
    return torch.load(run_dir / ckpt.STATE, weights_only=True)


def _save_state(run_dir: Path, state: dict) -> None:
    torch.save(state, run_dir / ckpt.STATE)


def _edit_state(**changes):
    def edit(run_dir: Path) -> None:
        state = _state(run_dir)
        for key, value in changes.items():
            if value is _DROP:
                del state[key]
            else:
                state[key] = value(state) if callable(value) else value
        _save_state(run_dir, state)

    return edit


_DROP = object()


def _edit_json(name: str, change):
    def edit(run_dir: Path) -> None:
        path = run_dir / name
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))

    return edit


def _write(name: str, content: bytes | str):
    def edit(run_dir: Path) -> None:
        path = run_dir / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    return edit


def _weights(transform):
    def edit(run_dir: Path) -> None:
        weights = load_file(run_dir / ckpt.WEIGHTS)
        save_file({k: transform(v) for k, v in weights.items()}, run_dir / ckpt.WEIGHTS)

    return edit


def _replace_with_folder(name: str):
    def edit(run_dir: Path) -> None:
        (run_dir / name).unlink()
        (run_dir / name).mkdir()
        (run_dir / name / "x").write_text("x")

    return edit


def _link(name: str, target: str):
    def edit(run_dir: Path) -> None:
        (run_dir / name).unlink()
        (run_dir / name).symlink_to(target)

    return edit


def _shrink_latent(data: dict) -> None:
    data["model"]["latent"]["dim"] = 5


CORRUPTIONS = {
    # trainer state: what train --resume reads
    "state missing key": (_edit_state(optimizer=_DROP), {"resume"}, "'optimizer' is missing"),
    "state mistyped key": (_edit_state(step="ten"), {"resume"}, "'step' should be"),
    "state negative step": (_edit_state(step=-4), {"resume"}, "'step' should be >= 0"),
    "state wrong shapes": (
        _edit_state(model=lambda s: {k: torch.zeros(3, 3) for k in s["model"]}),
        {"resume"},
        "do not fit",
    ),
    "state garbage rng": (
        _edit_state(torch_rng=torch.zeros(7, dtype=torch.uint8)),
        {"resume"},
        "torch_rng",
    ),
    "state optimiser buffer shape": (
        _edit_state(
            optimizer=lambda s: {
                **s["optimizer"],
                "state": {
                    k: {**v, "exp_avg": torch.zeros(2)} for k, v in s["optimizer"]["state"].items()
                },
            }
        ),
        {"resume"},
        "optimiser buffer 'exp_avg'",
    ),
    "state schedule step": (
        _edit_state(scheduler=lambda s: {**s["scheduler"], "last_epoch": "x"}),
        {"resume"},
        "schedule step",
    ),
    "state not a mapping": (
        lambda run_dir: torch.save([1, 2], run_dir / ckpt.STATE),
        {"resume"},
        "trainer state",
    ),
    # config and metadata: every command
    "latent size changed": (
        _edit_json(ckpt.CONFIG, _shrink_latent),
        {"resume", "evaluate", "report", "explore"},
        "do not",
    ),
    "deeply nested config": (
        _write(ckpt.CONFIG, "[" * 100_000 + "]" * 100_000),
        {"resume", "evaluate", "report", "explore"},
        "config.json",
    ),
    "metadata wrong types": (
        _edit_json(ckpt.METADATA, lambda d: d.update(step="x")),
        {"resume", "report"},
        "'step' should be",
    ),
    "metadata negative step": (
        _edit_json(ckpt.METADATA, lambda d: d.update(step=-1)),
        {"resume", "report"},
        "'step' should be",
    ),
    # metrics
    "metrics not utf-8": (
        _write(ckpt.METRICS, b'{"step": 1}\n\xff\xfe\n{"step": 2}\n'),
        {"resume", "report"},
        "line 2 is not UTF-8",
    ),
    "metrics malformed line": (
        _write(ckpt.METRICS, '{"step": 1}\n[1, 2]\n{"step": 3}\n'),
        {"resume", "report"},
        "line 2",
    ),
    "metrics negative step": (
        _write(ckpt.METRICS, '{"step": -3}\n{"step": 3}\n'),
        {"resume", "report"},
        "step >= 0",
    ),
    # weights: what evaluate, report and explore load
    "weights float64": (
        _weights(lambda t: t.double()),
        {"evaluate", "report", "explore"},
        "dtype float64",
    ),
    "weights int64": (
        _weights(lambda t: t.long()),
        {"evaluate", "report", "explore"},
        "dtype int64",
    ),
    "weights all NaN": (
        _weights(lambda t: torch.full_like(t, float("nan"))),
        {"evaluate", "report", "explore"},
        "NaN",
    ),
    # the checkpoint itself unusable: named as such, not as "the last good checkpoint"
    "state all NaN": (
        _edit_state(
            model=lambda s: {k: torch.full_like(v, float("nan")) for k, v in s["model"].items()}
        ),
        {"resume"},
        "the checkpoint of step 10 is unusable",
    ),
    # huge integers (beyond Python's 4300-digit conversion, or beyond 64 bits)
    "config with a 5000-digit integer": (
        _write(ckpt.CONFIG, '{"seed": ' + "9" * 5000 + "}"),
        {"resume", "evaluate", "report", "explore"},
        "thousands of digits",
    ),
    "metadata with a 5000-digit integer": (
        _write(ckpt.METADATA, '{"step": ' + "9" * 5000 + "}"),
        {"resume", "report"},
        "thousands of digits",
    ),
    "metadata step beyond 64 bits": (
        _edit_json(ckpt.METADATA, lambda d: d.update(step=10**30)),
        {"resume", "report"},
        "below 2**63",
    ),
    "metrics step near 1e30": (
        _write(
            ckpt.METRICS,
            '{"step": 1, "loss": 2}\n{"step": 1' + "0" * 30 + ', "loss": 1}\n'
            '{"step": 3, "loss": 1}\n',
        ),
        {"resume", "report"},
        "below 2**63",
    ),
    # files that are not regular files
    "weights a folder": (
        _replace_with_folder(ckpt.WEIGHTS),
        {"resume", "evaluate", "report", "explore"},
        "a folder",
    ),
    "metrics a folder": (_replace_with_folder(ckpt.METRICS), {"resume", "report"}, "a folder"),
    "marker a folder": (
        _replace_with_folder(MARKER),
        {"resume", "evaluate", "report"},
        "a folder",
    ),
    "metrics a symlink loop": (
        _link(ckpt.METRICS, ckpt.METRICS),
        {"resume", "report"},
        "cannot open",
    ),
    "metrics a link to /dev/zero": (
        _link(ckpt.METRICS, "/dev/zero"),
        {"resume", "report"},
        "outside the run folder",
    ),
}


def _resume(run_dir: Path) -> None:
    resume_run(run_dir, {"train": {"steps": 20}})


def _evaluate(run_dir: Path) -> None:
    evaluate(load(run_dir), load_dataset(run_dir).evaluation_set().x, 2)


def _report(run_dir: Path) -> None:
    write_report(run_dir, dpi=20)


def _explore(run_dir: Path) -> None:
    from latentatlas.explorer import ExplorerSession

    ExplorerSession(run_dir)


COMMANDS = {"resume": _resume, "evaluate": _evaluate, "report": _report, "explore": _explore}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupt_run_folders_get_one_clear_error(case, trained, tmp_path):
    corrupt, commands, fragment = CORRUPTIONS[case]
    run_dir = copy_of(trained, tmp_path)
    corrupt(run_dir)
    for name in sorted(commands):
        with pytest.raises(RunFolderError) as info:
            COMMANDS[name](run_dir)
        message = str(info.value)
        assert fragment in message, (name, message)
        assert "\n" not in message and len(message) < 700, (name, message)


@pytest.fixture(scope="module")
def cli_trained(tmp_path_factory) -> Path:
    """The tiny run trained by the command line, as a user's run folder is (the resume below
    then compares data built in two fresh processes)."""
    folder = tmp_path_factory.mktemp("cli-safety")
    (folder / "run.json").write_text(json.dumps(tiny_run_dict(steps=10, checkpoint_every=5)))
    proc = run_cli("train", str(folder / "run.json"), "--out", str(folder / "run"))
    assert proc.returncode == 0, proc.stderr
    return folder / "run"


@pytest.mark.slow
def test_a_corrupt_folder_is_one_line_from_the_cli(cli_trained, tmp_path):
    run_dir = copy_of(cli_trained, tmp_path)
    _edit_json(ckpt.CONFIG, _shrink_latent)(run_dir)
    for args in (
        ["evaluate", str(run_dir)],
        ["report", str(run_dir)],
        ["train", "--resume", "--out", str(run_dir), "--set=train.steps=20"],
    ):
        line = one_line_error(run_cli(*args), "do not", str(run_dir))
        assert len(line) < 700


# -- the Python API -------------------------------------------------------------------------------
def test_python_api_refuses_bad_input_with_its_own_errors(trained):
    model = load(trained)
    x = load_dataset(trained).evaluation_set().x
    with pytest.raises(DataError, match="at least one sample"):
        evaluate(model, x[:0])
    assert evaluate(model, x.double(), 2).n_points == len(x)  # float64 data are converted
    for bad in (2.5, "3", True, 0):
        with pytest.raises(ConfigError, match="n_samples"):
            evaluate(model, x, bad)
    with pytest.raises(ConfigError, match="seed"):
        evaluate(model, x, 2, seed=2**70)
    with pytest.raises(ConfigError, match="more than this machine can give"):
        evaluate(model, x, 10**12)
    for device in ("cuda:7", "gpu", 3.5):
        with pytest.raises(ConfigError, match="device"):
            load(trained, device=device)


def test_a_nan_posterior_time_reaches_the_nan_report():
    from latentatlas.latent.heat_kernel import heat_kernel_kl_to_uniform

    kl = heat_kernel_kl_to_uniform(torch.tensor([0.5, float("nan"), 2.0], dtype=torch.float64))
    assert torch.isnan(kl[1]) and torch.isfinite(kl[[0, 2]]).all()


@pytest.mark.slow
def test_environment_lock_does_not_outlive_the_command(trained, tmp_path):
    run_dir = copy_of(trained, tmp_path)
    assert run_cli("evaluate", str(run_dir), "--samples", "2").returncode == 0
    assert not (run_dir / LOCK).exists() and os.listdir(run_dir)


@pytest.mark.slow
def test_config_errors_are_one_line_with_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: {name: sine_circle}\ntrain:\n  steps: [1\n")
    one_line_error(
        run_cli("train", str(bad), "--out", str(tmp_path / "a")),
        f"config file {str(bad)!r}: line 4, column 1",
    )
    trailing = tmp_path / "run.json"
    trailing.write_text('{"train": {"steps": 3,}}')
    one_line_error(run_cli("train", str(trailing), "--out", str(tmp_path / "d")), "not valid JSON")
    twice = tmp_path / "twice.yaml"
    twice.write_text("train: {steps: 3}\ntrain: {steps: 4}\n")
    one_line_error(
        run_cli("train", str(twice), "--out", str(tmp_path / "e")),
        "line 2",
        "'train' appears twice",
    )
    keys = tmp_path / "keys.yaml"
    keys.write_text("1: foo\n")
    one_line_error(
        run_cli("train", str(keys), "--out", str(tmp_path / "b")), "field names must be strings"
    )
    for setting, fragment in (
        ("model.input_shape=[7]", "does not match the data's shape [25]"),
        ("model.latent.dim=1e12", "more than the"),
        ("dataset.n=1e13", "reduce the dataset's sizes"),
        ("dataset.dim=1e9", "reduce the dataset's sizes"),
        ("dataset.n_vis=1e12", "reduce the dataset's sizes"),
        ("model.latent.dim=" + "9" * 400, "below 2**63"),
        ("model..beta=1", "empty part"),
        ("train.steps=1e30", "train.steps"),
        ("train.lr=.inf", "expected a finite number"),
        ("model.likelihood.sigma=.nan", "model.likelihood.sigma"),
        ("train.weight_decay=1e400", "expected a finite number"),
        ("train.lr=1e300", "within float32's range"),
        ("train.steps=" + "9" * 5000, "thousands of digits"),
        ("seed=" + "9" * 5000, "thousands of digits"),
        ("dataset.sigma=9223372036854775808", "dataset.sigma: expected a value <= 1000"),
    ):
        proc = run_cli("train", "--set", setting, "--out", str(tmp_path / "c"))
        one_line_error(proc, fragment)
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").iterdir())


def test_huge_numbers_from_python_are_the_librarys_errors(tmp_path):
    from latentatlas.config import apply_overrides, read_config_file

    with pytest.raises(ConfigError, match="thousands of digits"):
        apply_overrides({}, ["train.steps=" + "9" * 5000])
    path = tmp_path / "c.json"
    path.write_text('{"seed": ' + "9" * 5000 + "}")
    with pytest.raises(ConfigError, match="thousands of digits"):
        read_config_file(path)
    with pytest.raises(ConfigError, match="float32's range"):
        RunConfig.from_dict({**tiny_run_dict(), "train": {"lr": 1e300}})


@pytest.mark.slow
def test_other_data_than_the_runs_is_refused_naming_both_fingerprints(trained, tmp_path):
    run_dir = copy_of(trained, tmp_path)
    _edit_json(ckpt.METADATA, lambda meta: meta.update(data_fingerprint="00000000"))(run_dir)
    with pytest.raises(RunFolderError, match=r"dataset differs .*fingerprint 00000000 recorded, "):
        resume_run(run_dir, {"train": {"steps": 20}})
    proc = run_cli("train", "--resume", "--out", str(run_dir), "--set=train.steps=20")
    assert "fingerprint 00000000 recorded" in one_line_error(proc, "dataset differs")


def test_datasets_are_built_and_fingerprinted_on_one_thread(monkeypatch):
    """With torch's two threads, one process in about 80 built the sine data 1 ulp apart in
    the half of the array the second thread computed, so resuming in another process said "the
    dataset differs" at random (seen in CI): building and fingerprinting run on one thread."""
    from latentatlas.data.synthetic.sine_circle import SineCircle
    from latentatlas.train.run import build_dataset

    seen = []
    original_init, original_render = SineCircle.__init__, SineCircle.render

    def init(self, *args, **kwargs):
        seen.append(("build", torch.get_num_threads()))
        original_init(self, *args, **kwargs)

    def render(self, factors):
        seen.append(("render", torch.get_num_threads()))
        return original_render(self, factors)

    monkeypatch.setattr(SineCircle, "__init__", init)
    monkeypatch.setattr(SineCircle, "render", render)
    torch.set_num_threads(2)
    data = build_dataset(RunConfig.from_dict(tiny_run_dict()))
    assert seen and all(threads == 1 for _, threads in seen)
    assert torch.get_num_threads() == 2  # restored
    assert data.fingerprint() == build_dataset(RunConfig.from_dict(tiny_run_dict())).fingerprint()
