"""A traced step replays exactly what the eager step computes, or is not used at all."""

from __future__ import annotations

import torch
from torch.fx.experimental.proxy_tensor import make_fx

from latentatlas.train.traced_step import drop_no_ops, trace_step


def loss_and_grad(w: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.enable_grad():
        leaf = w.detach().requires_grad_(True)
        loss = ((x @ leaf).relu() * 1.0).pow(2).sum(-1).mean()
        (grad,) = torch.autograd.grad(loss, leaf)
    return loss.detach(), grad


def inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(5, 3, generator=g), torch.randn(8, 5, generator=g)


def test_a_replay_computes_what_the_eager_step_computes_on_new_inputs():
    traced = trace_step(loss_and_grad, inputs(0), loss_and_grad(*inputs(0)))
    assert traced is not None
    for seed in (1, 2):  # other values, same shapes: the same numbers to the last bit
        for ours, eager in zip(traced(*inputs(seed)), loss_and_grad(*inputs(seed))):
            assert torch.equal(ours, eager)


def test_a_step_that_reads_tensor_values_stays_eager(caplog):
    """A Python branch on a value cannot be replayed (its other arm would never run): the
    trace on fake tensors refuses it and the caller keeps the eager step."""

    def branching(w, x):
        loss, grad = loss_and_grad(w, x)
        return (loss * 2, grad) if float(loss) > 1.0 else (loss, grad)

    with caplog.at_level("INFO", logger="latentatlas.train.traced_step"):
        assert trace_step(branching, inputs(), branching(*inputs())) is None
    assert "cannot be traced" in caplog.text


def test_a_replay_that_differs_from_the_eager_step_is_refused(caplog):
    w, x = inputs()
    loss, grad = loss_and_grad(w, x)
    one_ulp = torch.nextafter(grad, torch.full_like(grad, float("inf")))
    with caplog.at_level("INFO", logger="latentatlas.train.traced_step"):
        assert trace_step(loss_and_grad, (w, x), (loss, grad + 1e-3)) is None
        # exact: a replay one rounding away would make results depend on whether it traced
        assert trace_step(loss_and_grad, (w, x), (loss, one_ulp)) is None
        assert trace_step(loss_and_grad, (w, x), (loss,)) is None  # a missing output
        assert trace_step(loss_and_grad, (w, x), (loss.double(), grad)) is None  # a dtype
    assert "does not reproduce" in caplog.text


def test_no_ops_are_dropped_without_changing_results():
    def step(w, x):
        h = (x @ w).view(8, 3).expand(8, 3) * 1
        return (h.pow(1.0) / 1).relu().sum(0), h.detach().exp()

    graph_module = make_fx(step, tracing_mode="fake")(*inputs())
    calls = sum(n.op == "call_function" for n in graph_module.graph.nodes)
    removed = drop_no_ops(graph_module.graph)
    graph_module.recompile()
    assert removed >= 5 and sum(n.op == "call_function" for n in graph_module.graph.nodes) < calls
    for ours, eager in zip(graph_module(*inputs(3)), step(*inputs(3))):
        assert torch.equal(ours, eager)


def test_nothing_is_dropped_from_a_graph_that_writes_in_place():
    """An in-place write through an alias would reach the dropped operation's input."""

    def step(w, x):
        h = (x @ w) * 1
        h.add_(1.0)
        return h.sum(), x @ w

    graph_module = make_fx(step, tracing_mode="fake")(*inputs())
    assert drop_no_ops(graph_module.graph) == 0
    graph_module.recompile()
    for ours, eager in zip(graph_module(*inputs(4)), step(*inputs(4))):
        assert torch.equal(ours, eager)


def test_a_graph_output_never_becomes_an_alias_of_an_input():
    def step(w, x):
        return w * 1, x.view(8, 5)

    graph_module = make_fx(step, tracing_mode="fake")(*inputs())
    drop_no_ops(graph_module.graph)
    graph_module.recompile()
    w, x = inputs()
    out_w, out_x = graph_module(w, x)
    assert out_w.data_ptr() != w.data_ptr()
    assert torch.equal(out_w, w) and torch.equal(out_x, x)


def test_a_replayed_output_never_shares_memory_with_an_input():
    """Dropping ``* 1`` can leave an output a view of an input through later views; the replay
    copies it, as the eager step returns new tensors (writing to the input must not reach it)."""

    def step(w, x):
        return (w * 1).view(15), (x.detach() * 1.0).t()

    w, x = inputs()
    traced = trace_step(step, (w, x), step(w, x))
    assert traced is not None
    out_w, out_x = traced(w, x)
    w.zero_()
    x.zero_()
    assert out_w.abs().sum() > 0 and out_x.abs().sum() > 0
