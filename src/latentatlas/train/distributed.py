"""torchrun support: detect the launcher's environment and set up DistributedDataParallel.

Launched with ``torchrun --nproc_per_node=N``, the environment holds ``WORLD_SIZE``, ``RANK``
and ``LOCAL_RANK``; :func:`setup` then starts a process group (gloo on CPU, nccl on GPUs) and the
trainer wraps the model in DDP, shards each batch over ranks, and lets only rank 0 write files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env() -> DistInfo:
    """The torchrun environment, or a single-process DistInfo."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return DistInfo(world, int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")))


def backend_for(device: torch.device) -> str:
    """The process-group backend torch pairs with ``device``'s type (nccl for CUDA, xccl for
    XPU, gloo for the CPU and anything torch has no collective backend for)."""
    return dist.Backend.default_device_backend_map.get(device.type, dist.Backend.GLOO)


def collectives_on_device(device: torch.device) -> bool:
    """Whether collectives (and DDP's device ids) run on ``device`` itself rather than the CPU."""
    return backend_for(device) != dist.Backend.GLOO


def collective_device(device: torch.device) -> torch.device:
    """Where collectives run: the model's device for an accelerator backend, else the CPU."""
    return device if collectives_on_device(device) else torch.device("cpu")


def device_rng_state(device: torch.device) -> torch.Tensor | None:
    """The random state of an accelerator ``device`` (None for the CPU, whose state is
    ``torch.get_rng_state``, and for devices whose module keeps no per-device state)."""
    module = torch.get_device_module(device)
    if device.type == "cpu" or not hasattr(module, "get_rng_state"):
        return None
    return module.get_rng_state(device)


def set_device_rng_state(state: torch.Tensor, device: torch.device) -> None:
    """Restore :func:`device_rng_state` on ``device`` (a no-op where it returned None)."""
    module = torch.get_device_module(device)
    if device.type != "cpu" and hasattr(module, "set_rng_state"):
        module.set_rng_state(state, device)


def setup(device: torch.device) -> DistInfo:
    """Start the process group if launched by torchrun (idempotent)."""
    info = from_env()
    if info.enabled and not dist.is_initialized():
        dist.init_process_group(backend=backend_for(device))
    return info


def device_for(device: torch.device, info: DistInfo) -> torch.device:
    """One accelerator per process: ``cuda`` becomes ``cuda:LOCAL_RANK`` under torchrun."""
    if info.enabled and device.type != "cpu" and device.index is None:
        return torch.device(device.type, info.local_rank)
    return device


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def mean_over_ranks(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """The mean of each scalar over all ranks (the values themselves in a single process)."""
    if not (dist.is_available() and dist.is_initialized()) or not values:
        return values
    t = torch.tensor(list(values.values()), dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= dist.get_world_size()
    return dict(zip(values, t.tolist()))


def gather_rng_states(state: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Every rank's RNG state stacked ``(world_size, n)`` (one row in a single process).

    Each rank draws its own posterior noise (it is seeded with seed + rank), so an exact resume
    needs all of them; RNG states of one kind have the same length on every rank.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return state[None]
    local = state.to(device)
    rows = [torch.empty_like(local) for _ in range(dist.get_world_size())]
    dist.all_gather(rows, local)
    return torch.stack([r.cpu() for r in rows])


def any_rank(flags: list[bool], device: torch.device) -> list[bool]:
    """For each flag, whether it is set on any rank (the flags themselves in a single process).

    Decisions that end or skip a step (a NaN loss on one shard, Ctrl-C reaching one process)
    must be taken by every rank together, or the others wait forever in the next collective.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return list(flags)
    t = torch.tensor([float(f) for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]
