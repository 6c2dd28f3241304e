"""A training step traced once into a straight-line program of tensor operations.

The ensemble's step (:mod:`.ensemble`) — every member's loss through a ``vmap``-ed
``functional_call`` and the gradient of their sum — spends more of its time in Python dispatch
than in arithmetic when the members are small: vmap's batching rules, module calls and
distribution objects run for each of ~100 tiny operations, every step. ``make_fx`` records the
operations one step actually runs (forward and backward, already batched over the members) as an
FX graph; replaying that graph runs the same kernels on the same inputs, in the same order,
without the Python around them. On the thesis grid (45 MLP VAEs) a step takes 1.9 ms instead of
2.9 ms, with bit-identical results (``benchmarks/ensemble.py``, docs/training.md).

What keeps a replay equal to the eager step:

* the trace runs on fake tensors (shapes only), so a step whose Python reads tensor values
  (``.item()``, ``if loss > 0``, ``float(t)``) cannot be traced and stays eager;
* the replay is checked once against the eager step on the same inputs; any difference in any
  bit keeps the eager step. Python state the step itself changes (a call counter in a model's
  ``forward``) differs between the eager call and the trace, which is a second call, so the
  check refuses such a step; the ensemble traces a copy of its module, so the trace's call
  leaves the eager steps' state alone;
* everything else a step reads is baked in and must not change between steps: shapes, config
  values, Python attributes set from outside. The ensemble therefore traces only after the
  regulariser warm-up (whose weight it sets, a Python float) and refuses models with training
  phases.

A step that cannot be traced, or whose replay differs, is reported in the log (INFO) and runs
eagerly: tracing changes speed, never results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import torch

log = logging.getLogger(__name__)

Step = Callable[..., tuple[torch.Tensor, ...]]


def trace_step(
    step: Step, inputs: Sequence[torch.Tensor], reference: Sequence[torch.Tensor]
) -> Step | None:
    """``step`` traced on ``inputs`` into a replayable graph, or None where it cannot be.

    ``step(*inputs)`` returns a tuple of tensors and must not depend on anything but its
    inputs, fixed Python values and constant tensors (see the module doc); ``reference``: its
    eager outputs on ``inputs``, which the replay must reproduce exactly (the same bits, NaN
    where NaN) before it is used. The returned function takes the same positional tensors,
    runs without autograd and returns tensors that share no memory with its inputs.

    Run the step eagerly on ``inputs`` first (``reference`` is that run): a cache the step
    fills on first use (a lookup table, say) must then hold real tensors; filled during the
    trace it would hold fake ones. Any exception while tracing means "not traceable" (the
    eager step already ran on the same inputs, so it is not the user's error) and is logged."""
    try:
        from torch.fx.experimental.proxy_tensor import make_fx

        # constant tensors the step holds (lookup tables, say) stay real; only inputs are fake
        graph_module = make_fx(step, tracing_mode="fake", _allow_non_fake_inputs=True)(*inputs)
        removed = drop_no_ops(graph_module.graph)
        graph_module.recompile()
    except Exception as exc:  # any failure to trace leaves the eager step, which is correct
        log.info(
            "the step runs eagerly: it cannot be traced (%s: %s)",
            type(exc).__name__,
            str(exc).splitlines()[0][:200] if str(exc) else "",
        )
        return None

    def replay(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        with torch.no_grad():
            outputs = tuple(graph_module(*args))
        # dropped no-ops may leave an output a view of an input (x * 1 → x); the eager step's
        # outputs are new tensors, so such an output is copied
        held = {a.untyped_storage().data_ptr() for a in args if isinstance(a, torch.Tensor)}
        return tuple(o.clone() if o.untyped_storage().data_ptr() in held else o for o in outputs)

    try:
        outputs = replay(*inputs)
    except Exception as exc:
        log.info("the step runs eagerly: its trace does not run (%s)", type(exc).__name__)
        return None
    if len(outputs) != len(reference) or not all(
        _same_bits(o, r) for o, r in zip(outputs, reference)
    ):
        log.info("the step runs eagerly: its trace does not reproduce the eager step")
        return None
    log.debug(
        "step traced: %d operations (%d no-ops dropped)",
        sum(n.op == "call_function" for n in graph_module.graph.nodes),
        removed,
    )
    return replay


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two tensors hold the same values exactly (shape, dtype and device included; NaN
    equals NaN): a replay must not change a result, not even by rounding, or an ensemble's
    numbers would depend on whether (and when) it was traced."""
    if (a.shape, a.dtype, a.device) != (b.shape, b.dtype, b.device):
        return False
    same = a == b
    if a.is_floating_point() or a.is_complex():
        same |= a.isnan() & b.isnan()
    return bool(same.all())


def drop_no_ops(graph: torch.fx.Graph) -> int:
    """Remove operations of a traced graph that return their input unchanged; returns how many.

    Batching rules and autograd formulas leave many: ``view``/``expand`` to the shape the
    tensor has, multiplication or division by 1, ``pow(x, 1)``, ``detach`` (the replay runs
    without autograd). Each costs a few µs of dispatch and does nothing. Dropped only in a graph
    without in-place operations (so no new aliasing can be written through) and never where the
    result is a graph output itself; an output that becomes a view of an input through later
    views is copied by :func:`trace_step`'s replay."""
    aten = torch.ops.aten
    calls = [n for n in graph.nodes if n.op == "call_function"]
    if any(
        isinstance(n.target, torch._ops.OpOverload) and n.target._schema.is_mutable for n in calls
    ):
        return 0
    same_shape = {aten.view.default, aten.expand.default, aten._unsafe_view.default}
    times_one = {
        aten.mul.Scalar,
        aten.mul.Tensor,
        aten.div.Scalar,
        aten.div.Tensor,
        aten.pow.Tensor_Scalar,
    }
    removed = 0
    for node in calls:
        if any(user.op == "output" for user in node.users) or not node.args:
            continue
        source, out = node.args[0], node.meta.get("val")
        value = source.meta.get("val") if isinstance(source, torch.fx.Node) else None
        if not (isinstance(out, torch.Tensor) and isinstance(value, torch.Tensor)):
            continue
        if (out.shape, out.dtype, out.device) != (value.shape, value.dtype, value.device):
            continue
        identity = (
            node.target is aten.detach.default
            or (node.target in same_shape and tuple(node.args[1]) == tuple(value.shape))
            or (
                node.target in times_one
                and len(node.args) == 2
                and isinstance(node.args[1], (int, float))
                and node.args[1] == 1
            )
        )
        if identity:
            node.replace_all_uses_with(source)
            graph.erase_node(node)
            removed += 1
    graph.eliminate_dead_code()
    return removed
