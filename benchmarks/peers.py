"""Training speed beside the peers: latent-atlas's Trainer, a bare PyTorch loop, pythae's
``BaseTrainer`` and disent's β-VAE under Lightning, each training the Locatello et al. conv β-VAE
at batch 64 in fp32 on the same images, measured side by side in one run.

Every contender is timed through its library's own trainer, set-up included, for ``S`` and for
``2S`` steps on a fresh model; one step costs ``(t(2S) − t(S)) / S``, so what happens once per
training (building loaders, Lightning's set-up, pythae's final save) cancels and what happens
every step or epoch (data loading, logging, pythae's best-model copy) counts. Rounds alternate
between contenders so that machine noise hits all alike; the median over rounds is printed.

- **bare loop**: random batches from a tensor, Adam, nothing else: the speed to match; and the
  same loop with the network and images in channels-last layout.
- **latent-atlas**: :class:`latentatlas.train.Trainer` as a user gets it (its defaults choose
  channels-last and the threads), and with ``memory_format="contiguous"`` beside it.
- **pythae** (``pip install pythae``): its ``BetaVAE`` and ``BaseTrainer`` with *our* encoder
  and decoder wrapped in its encoder/decoder interface, so the network is identical.
- **disent** (``pip install disent lightning``): its ``BetaVae`` framework with the conv nets
  it ships for this study (``EncoderConv64`` / ``DecoderConv64``: they pad by 2, so 912 k
  parameters against the study's 764 k), trained by ``lightning.Trainer``; it is compared with
  a bare loop on *its* network.

A peer that is not installed is named and skipped. The speed ratio is each trainer's images/s
over the bare loop's on the same network: 1.00 is parity.

    python benchmarks/peers.py             # 3 rounds of 30 and 60 steps
    python benchmarks/peers.py --quick     # a smoke run at batch 8 (used by the tests)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable

import torch
from torch import nn

from latentatlas.data import InMemoryDataset
from latentatlas.models.disentangling import locatello_spec
from latentatlas.registry import MODELS, build
from latentatlas.train import Trainer, TrainerConfig

SIDE = 64
LATENTS = 10
BETA = 4.0
LR = 1e-4

Runner = Callable[[int], float]
"""steps → seconds for a whole training of that many steps on a fresh model"""


def ours(seed: int = 0) -> nn.Module:
    """The study's β-VAE as latent-atlas builds it."""
    torch.manual_seed(seed)
    return build(MODELS, {**locatello_spec(beta=BETA), "input_shape": [1, SIDE, SIDE]})


def timed(train: Callable[[], None]) -> float:
    start = time.perf_counter()
    train()
    return time.perf_counter() - start


def bare_loop(make: Callable[[], nn.Module], loss_of, data: torch.Tensor, batch: int) -> Runner:
    """The plainest loop over ``make()``'s network; ``loss_of(model, x)`` is its loss."""

    def run(steps: int) -> float:
        model = make()
        optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        g = torch.Generator().manual_seed(0)

        def train() -> None:
            for _ in range(steps):
                x = data[torch.randint(len(data), (batch,), generator=g)]
                loss = loss_of(model, x)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

        return timed(train)

    return run


def latent_atlas(data: torch.Tensor, batch: int, memory_format: str = "auto") -> Runner:
    def run(steps: int) -> float:
        config = TrainerConfig(
            steps=steps,
            batch_size=batch,
            lr=LR,
            progress=False,
            checkpoint_every=0,
            memory_format=memory_format,
        )
        return timed(Trainer(ours(), InMemoryDataset(data), config).fit)

    return run


def pythae_runner(data: torch.Tensor, batch: int) -> Runner:
    """pythae's BaseTrainer on our network (its BCE takes probabilities: the decoder's sigmoid).
    ``S`` steps are ``S`` batches of one epoch; the data set is cycled to that length."""
    from pythae.data.datasets import BaseDataset
    from pythae.models import BetaVAE, BetaVAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    class Encoder(BaseEncoder):
        def __init__(self, net: nn.Module):
            super().__init__()
            self.net = net

        def forward(self, x):
            mean, log_var = self.net(x).chunk(2, dim=1)
            return ModelOutput(embedding=mean, log_covariance=log_var)

    class Decoder(BaseDecoder):
        def __init__(self, net: nn.Module):
            super().__init__()
            self.net = net

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z)))

    logging.getLogger("pythae").setLevel(logging.WARNING)

    def run(steps: int) -> float:
        net = ours()
        config = BetaVAEConfig(
            input_dim=(1, SIDE, SIDE), latent_dim=LATENTS, beta=BETA, reconstruction_loss="bce"
        )
        model = BetaVAE(config, encoder=Encoder(net.encoder), decoder=Decoder(net.decoder))
        images = data.repeat(-(-steps * batch // len(data)), 1, 1, 1)[: steps * batch]
        with tempfile.TemporaryDirectory() as out:
            training = BaseTrainerConfig(
                output_dir=out,
                num_epochs=1,
                learning_rate=LR,
                per_device_train_batch_size=batch,
                no_cuda=True,
                keep_best_on_train=True,
            )
            trainer = BaseTrainer(
                model, BaseDataset(images, torch.zeros(len(images))), training_config=training
            )
            return timed(trainer.train)

    return run


def disent_runners(data: torch.Tensor, batch: int) -> tuple[Runner, Runner, int]:
    """(a bare loop on disent's net, disent's BetaVae under Lightning, its parameter count)."""
    import lightning
    from disent.frameworks.vae import BetaVae
    from disent.model import AutoEncoder
    from disent.model.ae import DecoderConv64, EncoderConv64

    def make() -> nn.Module:
        torch.manual_seed(0)
        shape = (1, SIDE, SIDE)
        model = AutoEncoder(
            encoder=EncoderConv64(x_shape=shape, z_size=LATENTS, z_multiplier=2),
            decoder=DecoderConv64(x_shape=shape, z_size=LATENTS),
        )
        cfg = BetaVae.cfg(
            optimizer="adam",
            optimizer_kwargs={"lr": LR},
            recon_loss="bce",
            loss_reduction="mean_sum",
            beta=BETA,
        )
        return BetaVae(model=model, cfg=cfg)

    def loss_of(framework, x):
        return framework.do_training_step({"x_targ": (x,)}, 0)

    class Images(torch.utils.data.Dataset):
        def __len__(self):
            return len(data)

        def __getitem__(self, i):
            return {"x_targ": (data[i],)}

    def run(steps: int) -> float:
        framework = make()
        loader = torch.utils.data.DataLoader(Images(), batch_size=batch, shuffle=True)
        trainer = lightning.Trainer(
            max_steps=steps,
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
        )
        return timed(lambda: trainer.fit(framework, loader))

    params = sum(p.numel() for p in make().parameters())
    return bare_loop(make, loss_of, data, batch), run, params


@contextlib.contextmanager
def quiet():
    """The peers' banners and warnings off the benchmark's table."""
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        logging.disable(logging.INFO)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def contenders(data: torch.Tensor, batch: int) -> tuple[dict[str, tuple[Runner, str]], list[str]]:
    """name → (runner, the bare loop it is compared with), and the peers not installed."""

    def our_loss(model, x):
        return model(x).loss

    def ours_channels_last() -> nn.Module:
        return ours().to(memory_format=torch.channels_last)

    data_channels_last = data.contiguous(memory_format=torch.channels_last)

    bare = "bare loop (study's net)"
    runs: dict[str, tuple[Runner, str]] = {
        bare: (bare_loop(ours, our_loss, data, batch), bare),
        "bare loop, channels-last": (
            bare_loop(ours_channels_last, our_loss, data_channels_last, batch),
            bare,
        ),
        "latent-atlas Trainer (defaults)": (latent_atlas(data, batch), bare),
        "latent-atlas Trainer, contiguous": (latent_atlas(data, batch, "contiguous"), bare),
    }
    missing = []
    try:
        runs["pythae BaseTrainer (study's net)"] = (pythae_runner(data, batch), bare)
    except (ImportError, RuntimeError, OSError) as e:  # not installed, or a broken install
        missing.append(f"pythae: not importable ({e}); pip install pythae")
    try:
        disent_bare, lightning_run, params = disent_runners(data, batch)
        theirs = f"bare loop (disent's net, {params / 1e3:.0f} k)"
        runs[theirs] = (disent_bare, theirs)
        runs["disent BetaVae + Lightning"] = (lightning_run, theirs)
    except (ImportError, RuntimeError, OSError) as e:  # not installed, or a broken install
        missing.append(f"disent: not importable ({e}); pip install disent lightning")
    return runs, missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="S: each contender runs S and 2S")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="1 round of 2 and 4 steps, batch 8")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.rounds, args.batch = 2, 1, 8
    g = torch.Generator().manual_seed(1)
    data = (torch.rand(1024, 1, SIDE, SIDE, generator=g) > 0.8).float()
    with quiet():  # disent warns at import (no numba)
        runs, missing = contenders(data, args.batch)
    print(
        f"Locatello β-VAE (64×64, {sum(p.numel() for p in ours().parameters()) / 1e3:.0f} k "
        f"parameters), batch {args.batch}, fp32, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}; {args.rounds} rounds of {args.steps} and "
        f"{2 * args.steps} steps"
    )
    for line in missing:
        print(f"  skipped: {line}")
    per_step: dict[str, list[float]] = {name: [] for name in runs}
    with quiet():
        for run, _ in runs.values():  # warm-up: imports, allocator, one-off compilation
            run(1)
        for _ in range(args.rounds):
            for name, (run, _) in runs.items():
                short, long = run(args.steps), run(2 * args.steps)
                per_step[name].append(max(long - short, 1e-9) / args.steps)
    medians = {name: statistics.median(times) for name, times in per_step.items()}
    print(f"{'':38s} {'ms/step':>9s} {'images/s':>9s} {'÷ bare loop':>12s}")
    for name, (_, baseline) in runs.items():
        seconds = medians[name]
        ratio = medians[baseline] / seconds
        print(f"{name:38s} {seconds * 1e3:9.1f} {args.batch / seconds:9.1f} {ratio:12.2f}")


if __name__ == "__main__":
    main()
