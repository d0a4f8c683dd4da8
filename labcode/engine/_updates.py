"""An optimizer's ``zero_grad`` and ``step`` without its per-call bookkeeping (private).

Used by :mod:`labcode.engine.stacked`, whose steps are short enough that the Python
around ``optimizer.step()`` is a visible part of them: ``benchmarks/bench_stacked.py
--updates`` times the studies' stacks with and without it.
"""

from __future__ import annotations

import torch


class Updates:
    """``zero_grad`` and ``step`` of an optimizer, without its per-call bookkeeping.

    For torch's fused Adam and AdamW (the ``adam`` and ``adamw`` entries of
    :data:`labcode.training.OPTIMIZERS`) ``step`` runs the two kernels that
    ``optimizer.step()`` runs, on the optimizer's own state, with the same arguments:
    ``torch._foreach_add_`` of the step counts, then ``torch._fused_adam_`` (or
    ``_fused_adamw_``). The numbers are the same; what goes is the Python of
    ``optimizer.step()`` (hooks, profiler records, regrouping the tensors). The first
    step, which creates the state, and every other optimizer go through
    ``optimizer.step()``.
    """

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer
        (group,) = optimizer.param_groups
        self.params = list(group["params"])
        self.group = group
        self.fast = (
            type(optimizer) in (torch.optim.Adam, torch.optim.AdamW)
            and bool(group.get("fused")) and not group["amsgrad"] and not group["maximize"]
            and not group["capturable"] and not group["differentiable"]
            and not torch.is_tensor(group["lr"])
        )  # fmt: skip
        self.kernel = (torch._fused_adamw_ if group.get("decoupled_weight_decay")
                       else torch._fused_adam_)  # fmt: skip
        self.state = None

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        if not self.fast or (self.state is None and not all(
                self.optimizer.state.get(p) for p in self.params)):
            self.optimizer.step()
            return
        if self.state is None:
            states = [self.optimizer.state[p] for p in self.params]
            self.state = ([s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
                          [s["step"] for s in states])  # fmt: skip
        exp_avgs, exp_avg_sqs, steps = self.state
        group = self.group
        beta1, beta2 = group["betas"]
        with torch.no_grad():
            torch._foreach_add_(steps, 1)
            self.kernel(
                self.params, [p.grad for p in self.params], exp_avgs, exp_avg_sqs, [], steps,
                amsgrad=False, lr=group["lr"], beta1=beta1, beta2=beta2,
                weight_decay=group["weight_decay"], eps=group["eps"], maximize=False,
                grad_scale=None, found_inf=None,
            )  # fmt: skip
