"""Train many small models at once: a vectorised ensemble (torch.func), same results as alone.

The thesis's tables train 5 repetitions × 3 data sets × 3 decoder σX = 45 VAEs each. Models of
one architecture can share every kernel launch: their parameters are stacked along a new leading
axis and one ``torch.func.vmap``-ed ``functional_call`` computes all their losses in batched
matrix products. Members may differ in their seed (initialisation, batch order, posterior noise),
their data set (same observation shape and size) and their decoder σX (a buffer, so it stacks);
everything else — architecture, β, L, the trainer settings — is shared. Models whose Trainer
does more than step the loss (training phases, an auxiliary step) are refused
(:func:`ensemble_obstacle`).

Once the regulariser warm-up is over every step runs the same program, so a long enough
ensemble replays it as a traced graph (:mod:`.traced_step`): the same kernels on the same
inputs without vmap's and the modules' Python around them, checked against the eager step.

Equivalence with training each member alone (:func:`~latentatlas.train.run.fit_config`): member
k is initialised under ``torch.manual_seed(seed_k)`` exactly like ``fit_config``; its batches
are the same stateless per-epoch permutations as the :class:`Trainer`'s (seed, epoch); its
posterior noise is drawn from a generator seeded with seed_k in the same order and shapes as the
Trainer draws it from the global RNG; Adam is elementwise, so Adam on the stacked parameters is
Adam on each member. Only the floating-point order of the batched products differs (agreement
to ~10⁻⁶ relative after hundreds of steps, tested).

Checkpoints and clean stops: every ``train.checkpoint_every`` steps the ensemble hands its
members, as they are at that step, to an ``on_checkpoint`` callback (a sweep writes each as a
run folder with :func:`write_member_run`); Ctrl-C or SIGTERM finishes the step and raises
:class:`~latentatlas.errors.Interrupted` whose ``result`` holds the members so far
(``stopped_by`` set), so that the caller's program stops unless it catches that. A member's
folder written mid-training resumes alone (``resume_fit``) exactly as a lone run resumes from
its checkpoint.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import func

from ..errors import ConfigError, Interrupted, RunFolderError
from .optim import make_optimizer, make_schedule
from .run import RunConfig, build_dataset, build_model, complete_config
from .stopping import StopRequest
from .traced_step import trace_step
from .trainer import (
    apply_optimizer_settings,
    check_device_available,
    parse_device,
    regularizer_scale,
)


@dataclass
class EnsembleResult:
    """The members (ordinary models, unstacked), their per-step losses ``(steps, K)`` and each
    member's trainer state (what :class:`Trainer` checkpoints, so that a member written with
    :func:`write_member_run` resumes like a run trained alone; None where the optimiser's
    parameters could not be matched). ``total_steps``: the steps the members are to train
    (more than ``len(losses)`` for a checkpoint or a stopped ensemble); ``stopped_by``: the
    signal that stopped it early."""

    models: list[torch.nn.Module]
    configs: list[RunConfig]
    losses: torch.Tensor
    states: list[dict[str, Any] | None] = field(default_factory=list)
    total_steps: int | None = None
    stopped_by: str | None = None
    first_step: int = 0
    """the step the members started from (a resumed ensemble): ``losses`` are those after it"""

    @property
    def step(self) -> int:
        """The steps trained so far."""
        return self.first_step + len(self.losses)

    @property
    def finished(self) -> bool:
        return self.total_steps is None or self.step >= self.total_steps


def ensemble_obstacle(model_class: type) -> str | None:
    """Why models of ``model_class`` cannot train as an ensemble member (None: they can).

    The ensemble steps one loss per member. A model whose :class:`Trainer` also switches
    training phases (``curriculum``: annealed capacity, the PCA-like autoencoder's stages) or
    takes an auxiliary step (``auxiliary_steps``: FactorVAE's discriminator) would train
    differently as a member than alone, so it trains one by one."""
    from ..models.base import Autoencoder

    if not (isinstance(model_class, type) and issubclass(model_class, Autoencoder)):
        return f"{getattr(model_class, '__name__', model_class)} is not an Autoencoder"
    if model_class.curriculum is not Autoencoder.curriculum:
        return f"{model_class.__name__} has training phases (curriculum)"
    if model_class.auxiliary_steps is not Autoencoder.auxiliary_steps:
        return f"{model_class.__name__} takes an auxiliary step each step"
    return None


def _shared_part(config: RunConfig) -> dict:
    """What every member must share: the config without seed, data and decoder σX."""
    data = config.to_dict()
    data.pop("seed")
    data.pop("dataset")
    likelihood = dict(data["model"].get("likelihood", {}))
    likelihood.pop("sigma", None)
    data["model"] = {**data["model"], "likelihood": likelihood}
    return data


class _BatchSchedules:
    """Every member's batch order at once: row k of ``schedules(step)`` is the Trainer's
    stateless order for member k (``Trainer.batch_indices``: a permutation per (seed, epoch)).
    The members share the data size and batch size, so their epochs turn together: one stacked
    permutation per epoch, and a step's indices are one column slice of it (the same values as
    slicing each member's permutation, without a Python call per member and step)."""

    def __init__(self, seeds: Sequence[int], n: int, batch: int):
        self.seeds, self.n, self.batch = list(seeds), n, batch
        self.per_epoch = max(n // batch, 1)
        self._cache: tuple[int, torch.Tensor] | None = None

    def __call__(self, step: int) -> torch.Tensor:
        epoch, pos = divmod(step, self.per_epoch)
        if self._cache is None or self._cache[0] != epoch:
            gens = [torch.Generator().manual_seed(s * 1_000_003 + epoch) for s in self.seeds]
            perms = [torch.randperm(self.n, generator=g) for g in gens]
            self._cache = (epoch, torch.stack(perms))
        perms = self._cache[1]
        start, stop = pos * self.batch, (pos + 1) * self.batch
        if stop <= self.n:  # the common case: a plain slice, the same values as below
            return perms[:, start:stop]
        return perms[:, torch.arange(start, stop) % self.n]


#: tracing the step (0.1-0.2 s for the thesis grid, ~1 s more for the first trace in a process)
#: costs about what 100 steps of the thesis grid save; shorter runs stay eager by default
TRACE_MIN_STEPS = 100

#: data sets above this many bytes in all are not stacked into one copy for an ensemble
_STACK_LIMIT = 256 * 2**20


def _batch_gatherer(datasets: Sequence[Any], device: torch.device) -> Any:
    """``gather(indices) -> (K, batch, *shape)`` on ``device``: each member's batch of its data
    set (``indices``: a ``(K, batch)`` tensor or one index tensor per member).

    Data sets held as one tensor ``x`` whose batches are plain ``x[indices]`` (in-memory data)
    are gathered in one indexing of their stacked tensors — the same values as ``get_batch``
    without its 45 calls and index checks per step — and are copied to ``device`` once when
    they fit :data:`_STACK_LIMIT`; any other data set goes through ``get_batch`` and each
    step's batch is copied."""
    from ..data.base import InMemoryDataset

    plain = all(
        isinstance(d, InMemoryDataset) and type(d).get_batch is InMemoryDataset.get_batch
        for d in datasets
    )
    tensors = {id(d): d.x for d in datasets} if plain else {}
    size = sum(t.numel() * t.element_size() for t in tensors.values())
    if not plain or (len(tensors) > 1 and size > _STACK_LIMIT):
        return lambda indices: torch.stack(
            [d.get_batch(idx).x for d, idx in zip(datasets, indices, strict=True)]
        ).to(device)
    unique: dict[int, int] = {}
    for d in datasets:
        unique.setdefault(id(d), len(unique))
    # one data set: index it directly (no copy); several small ones: one stacked copy
    stacked = (
        next(iter(tensors.values()))[None]
        if len(unique) == 1
        else torch.stack([tensors[key] for key in unique])
    )
    if size <= _STACK_LIMIT:  # one copy on the device; a larger one: each batch is copied
        stacked = stacked.to(device)
    which = torch.tensor([unique[id(d)] for d in datasets], device=stacked.device)[:, None]
    n = stacked.shape[1]
    flat_rows = stacked.reshape(-1, *stacked.shape[2:])  # a view: the data are contiguous

    def gather(indices: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        idx = indices if isinstance(indices, torch.Tensor) else torch.stack(list(indices))
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
            raise ConfigError(f"ensemble batch indices out of range [0, {n})")
        rows = (which * n + idx.to(stacked.device)).reshape(-1)
        return flat_rows.index_select(0, rows).view(*idx.shape, *stacked.shape[2:]).to(device)

    return gather


class _FlatLayout:
    """The members' stacked parameters as slices of one flat tensor.

    Every optimiser here (Adam, AdamW, RMSprop, SGD) is elementwise, so stepping one flat
    tensor equals stepping each stacked parameter; it takes ~10 tensor operations a step
    instead of ~10 per parameter, which is most of an optimiser step for small members.
    Parameter ``name`` is ``flat[offset : offset + numel].view(shape)`` with the members on
    the leading axis (each slice contiguous, as ``stack_module_state`` gives it).
    """

    def __init__(self, stacked: dict[str, torch.Tensor]):
        self.names = list(stacked)
        self.shapes = [tuple(v.shape) for v in stacked.values()]
        self.sizes = [v.numel() for v in stacked.values()]

    def flatten(self, stacked: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([stacked[n].detach().reshape(-1) for n in self.names])

    def views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = torch.split(flat, self.sizes)
        return {n: p.view(s) for n, p, s in zip(self.names, parts, self.shapes)}

    def optimizer_state(self, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        """The optimiser's state dict as if it had stepped each stacked parameter (the
        per-parameter layout a member's lone :class:`Trainer` loads, one slice each)."""
        flat_state = optimizer.state_dict()
        group = dict(flat_state["param_groups"][0], params=list(range(len(self.names))))
        state = {}
        for key, value in flat_state["state"].get(0, {}).items():
            if torch.is_tensor(value) and value.dim() > 0:
                for i, part in enumerate(self.views(value).values()):
                    state.setdefault(i, {})[key] = part
            else:  # e.g. Adam's step count: one copy per parameter (it is updated in place)
                for i in range(len(self.names)):
                    copy = value.clone() if torch.is_tensor(value) else value
                    state.setdefault(i, {})[key] = copy
        return {"state": state, "param_groups": [group]}

    def load_optimizer_state(self, optimizer: torch.optim.Optimizer, members: list[dict]) -> None:
        """The inverse of :meth:`optimizer_state`: each member's lone optimiser state (per
        parameter, in the members' parameter order) stacked into the flat tensor's state."""
        per_param = [m["state"] for m in members]
        keys = per_param[0].get(0, {})
        flat: dict[str, Any] = {}
        for key, value in keys.items():
            if torch.is_tensor(value) and value.dim() > 0:
                flat[key] = torch.cat(
                    [
                        torch.stack([states[i][key] for states in per_param]).reshape(-1)
                        for i in range(len(self.names))
                    ]
                )
            else:  # the step count: the same for every parameter and member
                flat[key] = value.clone() if torch.is_tensor(value) else value
        group = dict(members[0]["param_groups"][0], params=[0])
        optimizer.load_state_dict({"state": {0: flat} if flat else {}, "param_groups": [group]})


def train_ensemble(
    configs: Sequence[RunConfig],
    progress: bool = False,
    on_checkpoint: Callable[[EnsembleResult], None] | None = None,
    start: Sequence[dict[str, Any]] | None = None,
    trace: bool | None = None,
) -> EnsembleResult:
    """Train every config's model together; each ends as if trained alone by ``fit_config``
    (contiguous: a conv model that ``fit_config`` puts in channels-last on the CPU, the default
    ``train.memory_format: auto``, ends the same up to float rounding).

    ``on_checkpoint`` receives the members as they are every ``train.checkpoint_every`` steps
    (before the last). Ctrl-C / SIGTERM finish the current step and raise
    :class:`~latentatlas.errors.Interrupted` (a ``KeyboardInterrupt`` / a ``SystemExit``)
    whose ``result`` is the members so far (``stopped_by`` names the signal); a second signal
    stops at once. ``start``: one trainer
    state per member (what :class:`Trainer` checkpoints, e.g. the ``trainer_state.pt`` of the
    folders a checkpoint wrote), all at the same step: the ensemble continues from there as
    each member's lone run would resume. ``trace``: replay the step as a traced graph once
    the regulariser warm-up is over (:mod:`.traced_step`: the same results, ~1.5× faster for
    small members; a step that cannot be traced stays eager); None (the default): only when
    at least :data:`TRACE_MIN_STEPS` steps remain then; False: always eager.

    The ensemble trains on the members' shared ``train.device`` (data, stacked parameters and
    optimizer state live there; the posterior noise is drawn on the CPU from each member's
    generator and copied, so a member's noise is the same on every device). The returned
    models are on the CPU.

    Raises :class:`ConfigError` when the members do not share an architecture and trainer
    settings, or when their data differ in shape or size.
    """
    if not configs:
        raise ConfigError("train_ensemble: give at least one config")
    shared = _shared_part(configs[0])
    for i, c in enumerate(configs[1:], 1):
        if _shared_part(c) != shared:
            diff = sorted(k for k in shared if shared[k] != _shared_part(c)[k]) or [
                "model.likelihood"
            ]
            raise ConfigError(
                f"ensemble member {i} differs from member 0 in {', '.join(diff)}: members may "
                "differ only in seed, dataset and decoder sigma"
            )
    from ..registry import MODELS

    obstacle = ensemble_obstacle(MODELS.get(configs[0].model["name"]))
    if obstacle is not None:
        raise ConfigError(f"model: {obstacle}; train such models one by one")
    train = configs[0].train
    if train.precision != "fp32" or train.memory_format == "channels_last":
        raise ConfigError(
            "train.precision / train.memory_format: an ensemble trains in fp32, contiguous "
            "(train its members one by one for bf16 or channels_last; memory_format auto "
            "trains an ensemble contiguous)"
        )
    if train.grad_clip is not None:
        raise ConfigError("train.grad_clip: not supported in an ensemble (it couples members)")
    device = parse_device(train.device, "train.device")
    check_device_available(device, "train.device")
    built: dict[str, object] = {}  # members that share a data set share one copy
    for c in configs:
        key = json.dumps(c.dataset, sort_keys=True)
        if key not in built:
            built[key] = build_dataset(c)
    datasets = [built[json.dumps(c.dataset, sort_keys=True)] for c in configs]
    shapes = {(len(d), tuple(d.observation_shape)) for d in datasets}
    if len(shapes) != 1:
        raise ConfigError(f"ensemble members' data differ in size or shape: {sorted(shapes)}")
    for d in {id(d): d for d in datasets}.values():  # once per distinct data set
        d.check_finite()
    models, full_configs = [], []
    for c, d in zip(configs, datasets):
        c = complete_config(c, d)
        torch.manual_seed(c.seed)  # as fit_config: the initialisation comes from the seed
        models.append(build_model(c, d))
        full_configs.append(c)
    if start is not None:
        _load_weights(start, models)
    base = copy.deepcopy(models[0]).to("meta")
    stacked, buffers = func.stack_module_state(models)
    buffers = {k: v.to(device) for k, v in buffers.items()}
    layout = _FlatLayout(stacked)
    flat = layout.flatten(stacked).to(device).requires_grad_(True)
    optimizer = make_optimizer(
        train.optimizer, [flat], train.lr, train.betas, train.weight_decay, train.momentum
    )
    total = (
        train.steps
        if train.epochs is None
        else train.epochs * max(len(datasets[0]) // train.batch_size, 1)
    )
    scheduler = make_schedule(
        optimizer,
        train.schedule,
        total,
        train.warmup_steps,
        min_ratio=train.min_lr_ratio,
        step_size=train.step_size,
        gamma=train.gamma,
    )
    noise_gens = [torch.Generator().manual_seed(c.seed) for c in full_configs]
    first = 0
    if start is not None:
        first = _restore(start, layout, optimizer, scheduler, noise_gens)
        apply_optimizer_settings(optimizer, scheduler, train)  # the config's lr, as a resume
    n_samples = models[0].config.n_samples

    buffer_names = list(buffers)
    buffer_values = [buffers[name] for name in buffer_names]
    eager_step = _batched_step(base, layout, buffer_names, refuse_unused=train.weight_decay != 0)
    step_function: Callable[..., tuple[torch.Tensor, ...]] = eager_step
    tracing_done = trace is False  # whether tracing was tried (or is off)
    n = len(datasets[0])
    history = []
    bar = None
    if progress:
        from .progress import progress_display

        bar = progress_display(
            total, first, "step", f"ensemble of {len(models)}", train.progress_every
        )
    # the shape in which the Trainer draws each step's noise: (L, batch, noise per sample)
    noise_shape = (n_samples, train.batch_size, models[0].latent.noise_size)
    schedules = _BatchSchedules([c.seed for c in full_configs], n, train.batch_size)
    gather = _batch_gatherer(datasets, device)
    every = train.checkpoint_every

    def snapshot(stopped_by: str | None = None) -> EnsembleResult:
        """The members as they are now, each with its trainer state at this step."""
        params = layout.views(flat.detach())
        for k, m in enumerate(models):
            m.load_state_dict(
                {name: value[k].cpu().clone() for name, value in params.items()}, strict=False
            )
            m.eval()
        losses = torch.stack(history).cpu() if history else torch.zeros(0, len(models))
        states = _member_states(
            models,
            full_configs,
            datasets,
            layout.optimizer_state(optimizer),
            scheduler,
            noise_gens,
            first + len(history),
        )
        models[0].cpu()  # the helper Trainer moved it to the training device
        return EnsembleResult(list(models), full_configs, losses, states, total, stopped_by, first)

    from ..threads import training_threads

    # threads by the size of all members' step together, as the Trainer chooses for one
    threads = torch.get_num_threads()
    chosen = training_threads(
        models[0], gather(schedules(first))[0].to(device), train.threads, members=len(models)
    )
    stops = StopRequest()
    previous_handlers = stops.install("returning the members so far")
    torch.set_num_threads(chosen)
    try:
        for step in range(first, total):
            if stops.requested:
                break
            scale = regularizer_scale(step, train.regularizer_warmup)
            if hasattr(base, "regularizer_scale"):  # as the Trainer's warm-up (a step function)
                base.regularizer_scale = scale
            xs = gather(schedules(step))
            noises = torch.stack([torch.randn(noise_shape, generator=g) for g in noise_gens])
            inputs = (flat.detach(), xs, noises.to(device), *buffer_values)
            losses, grad = step_function(*inputs)
            if not tracing_done and scale == 1.0:  # from here on every step is the same program
                tracing_done = True
                if trace or total - step > TRACE_MIN_STEPS:
                    # traced on a copy of the module: what the trace's call does to the model's
                    # Python state (a counter, say) must not reach the eager steps if it fails
                    copied = _batched_step(copy.deepcopy(base), layout, buffer_names)
                    step_function = trace_step(copied, inputs, (losses, grad)) or eager_step
            if not torch.isfinite(losses).all():
                bad = int((~torch.isfinite(losses)).nonzero()[0])
                raise ConfigError(
                    f"ensemble member {bad}: the loss became non-finite at step {step + 1}"
                )
            optimizer.zero_grad(set_to_none=True)
            flat.grad = grad
            optimizer.step()
            scheduler.step()
            history.append(losses.detach())
            done = step + 1
            if bar is not None:
                if done % 50 == 0 or done == total:
                    bar.set_postfix(mean_loss=f"{float(losses.mean()):.4g}")
                bar.update(1)
            if on_checkpoint is not None and every and done % every == 0 and done < total:
                on_checkpoint(snapshot())
    finally:
        stops.restore(previous_handlers)
        torch.set_num_threads(threads)
        if bar is not None:
            bar.close()
    if stops.requested and stops.signal is not None and first + len(history) < total:
        stopped = snapshot(stops.signal)  # what a caller may still write (a sweep's folders)
        raise Interrupted(
            stops.signal,
            f"stopped by {stops.signal} at step {stopped.step} of {total}",
            step=stopped.step,
            result=stopped,
        )
    return snapshot()


def _batched_step(
    module: torch.nn.Module,
    layout: _FlatLayout,
    buffer_names: Sequence[str],
    refuse_unused: bool = False,
) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    """The ensemble's step for ``module`` (its architecture; parameters on the meta device):
    ``step(flat, xs, noises, *buffer_values) -> (losses, grad)``, every member's loss through
    a ``vmap``-ed ``functional_call`` and the gradient of their sum for the flat parameters
    (members are independent: each slice of it is that member's own gradient).

    A parameter the loss does not use gets a zero slice of that gradient, where a lone run's
    optimiser skips it (no gradient at all); with weight decay the ensemble would shrink it
    and the lone run not. ``refuse_unused``: the first call checks that every parameter gets a
    gradient and raises :class:`ConfigError` naming those that do not."""

    def member_loss(p, b, x, eps):
        return func.functional_call(module, (p, b), (x,), {"noise": eps}).loss

    batched_loss = func.vmap(member_loss, randomness="error")
    check_unused = refuse_unused

    def step(
        params: torch.Tensor, xs: torch.Tensor, noises: torch.Tensor, *buffer_values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        nonlocal check_unused
        with torch.enable_grad():
            leaf = params.detach().requires_grad_(True)
            views = layout.views(leaf)
            member_buffers = dict(zip(buffer_names, buffer_values))
            try:
                losses = batched_loss(views, member_buffers, xs, noises)
            except RuntimeError as exc:
                if "randomness" in str(exc):
                    raise ConfigError(
                        "an ensemble member draws random numbers inside its loss (e.g. a "
                        "Monte-Carlo KL): train such models one by one"
                    ) from None
                raise
            if not check_unused:
                (grad,) = torch.autograd.grad(losses.sum(), leaf)
                return losses.detach(), grad
            check_unused = False
            grad, *per_parameter = torch.autograd.grad(
                losses.sum(), [leaf, *views.values()], allow_unused=True
            )
        unused = [name for name, g in zip(views, per_parameter) if g is None]
        if unused:
            raise ConfigError(
                f"train.weight_decay: the loss does not use parameter(s) {', '.join(unused)}; "
                "an ensemble would decay them while a lone run leaves them alone: train one "
                "by one, or set train.weight_decay: 0"
            )
        return losses.detach(), grad

    return step


def _load_weights(start: Sequence[dict[str, Any]], models: Sequence[torch.nn.Module]) -> None:
    """Each member's weights from its trainer state (before the parameters are stacked)."""
    if len(start) != len(models):
        raise ConfigError(f"ensemble: {len(start)} start states for {len(models)} members")
    for k, (state, model) in enumerate(zip(start, models)):
        try:
            model.load_state_dict(state["model"])
        except (KeyError, RuntimeError) as exc:
            raise RunFolderError(
                f"ensemble member {k}: its checkpoint's weights do not fit its config "
                f"({type(exc).__name__}: {str(exc)[:160]})"
            ) from None


def _restore(
    start: Sequence[dict[str, Any]],
    layout: _FlatLayout,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    generators: Sequence[torch.Generator],
) -> int:
    """Optimiser moments, schedule and noise streams from the members' trainer states; returns
    the step they share."""
    steps = {int(state.get("step", -1)) for state in start}
    if len(steps) != 1 or min(steps) < 0:
        raise RunFolderError(
            f"ensemble: the members' checkpoints are at different steps {sorted(steps)}; resume "
            "them one by one"
        )
    try:
        layout.load_optimizer_state(optimizer, [state["optimizer"] for state in start])
        scheduler.load_state_dict(start[0]["scheduler"])
        for state, generator in zip(start, generators):
            rng = state["torch_rng"]
            generator.set_state((rng[0] if rng.ndim == 2 else rng).clone())
    except (KeyError, IndexError, ValueError, RuntimeError, TypeError) as exc:
        raise RunFolderError(
            f"ensemble: a member's optimiser, schedule or generator state does not fit "
            f"({type(exc).__name__}: {str(exc)[:160]})"
        ) from None
    return steps.pop()


def _member_states(
    models: Sequence[torch.nn.Module],
    configs: Sequence[RunConfig],
    datasets: Sequence[Any],
    stacked: dict[str, Any],
    scheduler: Any,
    generators: Sequence[torch.Generator],
    step: int,
) -> list[dict[str, Any] | None]:
    """Each member's trainer state, as the :class:`Trainer` of a lone run would checkpoint it
    at ``step``: the member's slice of the optimiser's moments (the stacked parameters keep the
    members on the leading axis), the shared schedule, and its noise generator as the torch RNG
    state (a lone run draws the same noise from the global RNG).

    One helper Trainer, given member 0's moments, writes the state of a lone run; the members
    share its layout (optimiser settings, callbacks, schedule) and differ in their weights,
    moments, noise stream and seed. All None where the moments do not fit the lone optimiser's
    parameters one to one."""
    from .trainer import Trainer

    def moments(k: int) -> dict[str, Any]:
        """Member k's optimiser state (cloned: a view of the stacked moments would keep, and
        save, all of them)."""
        return {
            i: {
                key: (v[k].clone() if torch.is_tensor(v) and v.dim() > 0 else v)
                for key, v in s.items()
            }
            for i, s in stacked["state"].items()
        }

    trainer = Trainer(models[0], datasets[0], configs[0].train, None, configs[0].seed)
    try:
        trainer.optimizer.load_state_dict(
            {"state": moments(0), "param_groups": stacked["param_groups"]}
        )
    except (ValueError, KeyError, RuntimeError):  # the parameters do not match one to one
        return [None] * len(models)
    trainer.scheduler.load_state_dict(scheduler.state_dict())
    trainer.step = step
    template = trainer.state_dict()
    states: list[dict[str, Any] | None] = []
    for k, (model, config, generator) in enumerate(zip(models, configs, generators)):
        state = {
            **template,
            "model": model.state_dict(),
            "optimizer": {**template["optimizer"], "state": moments(k)},
            "torch_rng": generator.get_state()[None],  # one row: a single process's state
            "seed": config.seed,
        }
        # a copy: the weights are the member's model, which a later snapshot overwrites, and
        # the members must not share the template's step counts, schedule or callback states
        states.append(copy.deepcopy(state))
    return states


def write_member_run(
    folder: str | Path,
    config: RunConfig,
    model: torch.nn.Module,
    losses: torch.Tensor,
    state: dict[str, Any] | None = None,
    fingerprint: str | None = None,
    total_steps: int | None = None,
    first_step: int = 0,
) -> None:
    """An ensemble member as a run folder like :func:`fit_config` writes: config, weights,
    ``metrics.jsonl`` (its loss every ``train.log_every`` steps and at the last), metadata (with
    the data's ``fingerprint``) and, given its ``state``, the trainer state that ``resume_fit``
    (``latent-atlas train --resume``) continues from. A member written before its
    ``total_steps`` (a checkpoint, a stopped ensemble) is marked interrupted, as a lone run
    stopped at that step is, and its last loss line is not that of a final step. A member of a
    resumed ensemble (``first_step`` > 0: ``losses`` are those after it) keeps the folder's
    records up to ``first_step``. Every file is written atomically; the metadata last, so a
    folder marked finished is complete."""
    from . import checkpoint as ckpt
    from .outputs import mark_folder

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    mark_folder(folder, "run")
    steps = first_step + len(losses)
    total = steps if total_steps is None else total_steps
    every = config.train.log_every
    earlier = (
        [r for r in ckpt.read_metrics(folder) if r["step"] <= first_step] if first_step else []
    )
    logged = [s for s in range(first_step + 1, steps + 1) if s % every == 0 or s == total]
    lines = [json.dumps(r) for r in earlier] + [
        json.dumps({"step": s, "split": "train", "loss": float(losses[s - first_step - 1])})
        for s in logged
    ]
    ckpt.atomic_write_text(folder / ckpt.CONFIG, config.to_json() + "\n")
    ckpt.atomic_write_text(folder / ckpt.METRICS, "".join(line + "\n" for line in lines))
    if state is not None:
        ckpt.save_state(folder / ckpt.STATE, state)
    ckpt.save_weights(folder / ckpt.WEIGHTS, model, {"step": str(steps)})
    ckpt.write_metadata(
        folder / ckpt.METADATA,
        {
            "status": "finished" if steps >= total else "interrupted",
            "step": steps,
            "total_steps": total,
            "seed": config.seed,
            "dataset": config.dataset.get("name"),
            "model": config.model.get("name"),
            "trained_as": "ensemble",
            "torch": torch.__version__,
            **({"data_fingerprint": fingerprint} if fingerprint else {}),
        },
    )
