"""Extra objectives optimised in alternation with the model's loss (a trainer option).

Some methods add an objective that is not part of the model's loss and is optimised in separate
steps between the ordinary ones: the intrinsic paper (sec. 5.2) minimises the SDR objective of
eq. 9 for the filters of one layer after each VAE step, cycling through the chosen layers ("leaving
one normal VAE iteration between each"). :class:`AlternatingObjective` does that for any
objectives: pass it to the :class:`~latentatlas.train.Trainer` with the other callbacks.

After every ``every``-th training step it takes the batch of that step, evaluates the next
objective in the cycle and makes one step of its own Adam optimiser on that objective's
parameters only (the trainer's optimiser and its moments are untouched). Its optimiser state and
position in the cycle are part of the trainer's checkpoint, so a resumed run continues exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..errors import ConfigError, TrainingDiverged
from .callbacks import Callback

if TYPE_CHECKING:
    from .trainer import Trainer


@dataclass
class AuxiliaryTerm:
    """One objective: ``loss(model, x) -> scalar tensor`` over ``parameters`` (the only ones its
    steps change)."""

    name: str
    loss: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]
    parameters: list[torch.nn.Parameter] = field(default_factory=list)


class AlternatingObjective(Callback):
    """Optimise ``terms`` in alternation with the training loss (see the module docstring).

    Args:
        terms: the objectives, visited in turn (one per extra step); or a function
            ``model -> terms`` called when training starts (for models built by
            ``latentatlas.train_run``).
        lr, betas: the Adam settings of the extra steps (default: the intrinsic paper's β1 = 0.5).
        every: one extra step after every ``every`` training steps (1: one after each).
        split: the name of the records written to ``metrics.jsonl`` on logging steps.
    """

    def __init__(
        self,
        terms: Sequence[AuxiliaryTerm] | Callable[[torch.nn.Module], Sequence[AuxiliaryTerm]],
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        every: int = 1,
        split: str = "auxiliary",
    ):
        if every < 1:
            raise ConfigError(f"alternating objective: every must be ≥ 1, got {every}")
        if not lr > 0:
            raise ConfigError(f"alternating objective: lr must be > 0, got {lr}")
        self.every, self.split, self.lr, self.betas = every, split, lr, tuple(betas)
        self.factory = terms if callable(terms) else None
        self.terms: list[AuxiliaryTerm] = []
        self.optimizer: torch.optim.Optimizer | None = None
        self._pending: dict[str, Any] | None = None
        self.steps = 0
        self.history: list[dict[str, float]] = []
        if self.factory is None:
            self._bind(terms)

    def _bind(self, terms: Sequence[AuxiliaryTerm]) -> None:
        if not terms:
            raise ConfigError("alternating objective: expected at least one term")
        params: list[torch.nn.Parameter] = []
        for term in terms:
            if not term.parameters:
                raise ConfigError(f"alternating objective: term {term.name!r} has no parameters")
            params += [p for p in term.parameters if all(p is not q for q in params)]
        self.terms = list(terms)
        self.optimizer = torch.optim.Adam(params, lr=self.lr, betas=self.betas)
        if self._pending is not None:
            self.optimizer.load_state_dict(self._pending)
            self._pending = None

    def bind(self, model: torch.nn.Module) -> None:
        """Build the terms for ``model`` now (``terms`` given as a function), so that a bad
        setting fails before training starts; training binds unbound objectives itself."""
        if self.optimizer is None:
            self._bind(self.factory(model))

    def on_train_start(self, trainer: Trainer) -> None:
        self.bind(trainer.model)

    def on_step_end(self, trainer: Trainer, step: int, scalars: dict[str, float] | None) -> None:
        if step % self.every:
            return
        assert self.optimizer is not None, "on_train_start binds the terms"
        index = self.steps % len(self.terms)
        term = self.terms[index]
        x = trainer.batch(step - 1).x  # the batch of the training step just taken
        self.optimizer.zero_grad(set_to_none=True)
        loss = term.loss(trainer.model, x)
        if not torch.isfinite(loss):
            raise TrainingDiverged(
                f"the auxiliary objective {term.name!r} became {float(loss.detach())} at step "
                f"{step}; try a smaller auxiliary learning rate"
            )
        loss.backward()
        self.optimizer.step()
        for p in term.parameters:  # the trainer's next step must not see these gradients
            p.grad = None
        self.steps += 1
        record = {"step": step, "term": index, "loss": float(loss.detach())}
        self.history.append(record)
        if scalars is not None:
            trainer.log({"split": self.split, "term": index, f"{term.name}": record["loss"]}, step)

    def state_dict(self) -> dict[str, Any]:
        if self.optimizer is None:
            return {}
        return {
            "optimizer": self.optimizer.state_dict(),
            "steps": torch.tensor(self.steps),
            "history": [dict(r) for r in self.history],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps = int(state["steps"])
        self.history = [dict(r) for r in state.get("history", [])]
        if self.optimizer is None:  # bound when training starts
            self._pending = state["optimizer"]
        else:
            self.optimizer.load_state_dict(state["optimizer"])
