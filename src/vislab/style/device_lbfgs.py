"""L-BFGS for pixels on a GPU that never waits for it: what ``torch.optim.LBFGS(max_iter=1, tolerance_grad=0,
tolerance_change=0)`` computes, with every decision made on the device.

torch's L-BFGS reads numbers back to the host several times per step (the loss, ``ys > 1e-10``, the descent test,
and each of the 2 x history ``alpha=`` factors of its two-loop recursion, about 45 reads at history 20). Each read
makes the CPU wait for the GPU to finish everything queued, so a GPU step costs its launches *plus* its kernels
instead of the larger of the two. Here the history is a fixed (history, n) buffer, oldest row first, and the
branches are arithmetic: a rejected pair (``ys <= 1e-10``) leaves the buffer as it is, an empty slot has
``rho = 0`` and so drops out of both loops, and a non-descent direction is taken with step 0 (torch skips the step
the same way). Same iterates as torch's up to rounding; vislab uses torch's own on the CPU, where reads cost
nothing, so CPU results stay bitwise what they were.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


class DeviceLBFGS(torch.optim.Optimizer):
    """One closure evaluation per `step`; no line search; one parameter tensor."""

    def __init__(self, params, lr: float = 1.0, history_size: int = 20) -> None:
        super().__init__(params, {"lr": lr, "history_size": history_size})
        if len(self.param_groups) != 1 or len(self.param_groups[0]["params"]) != 1:
            raise ValueError("DeviceLBFGS optimizes exactly one tensor")

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        with torch.enable_grad():
            loss = closure()
        group = self.param_groups[0]
        p, lr = group["params"][0], group["lr"]
        g = p.grad.detach().reshape(-1)
        st = self.state[p]
        if not st:
            self._start(st, g, group["history_size"])
            t = torch.clamp(1.0 / g.abs().sum(), max=1.0) * lr  # torch: min(1, 1 / |g|_1) * lr, first step
            d = g.neg()
        else:
            self._remember(st, g)
            d = self._direction(st, g)
            t = torch.full_like(st["t"], lr)
        st["prev_g"].copy_(g)
        descent = g.dot(d) < 0  # torch breaks (no step) when g.d > -tolerance_change = 0
        p.add_((d * torch.where(descent, t, torch.zeros_like(t))).view_as(p))
        st["d"], st["t"] = d, t
        return loss

    @staticmethod
    def _start(st: dict, g: torch.Tensor, history: int) -> None:
        st["dirs"] = g.new_zeros(history, g.numel())  # y_k = g_{k+1} - g_k, oldest first
        st["stps"] = g.new_zeros(history, g.numel())  # s_k = t_k d_k
        st["rho"] = g.new_zeros(history)  # 1 / (y_k . s_k); 0 marks an empty slot
        st["h_diag"] = g.new_ones(())
        st["prev_g"] = g.clone()

    @staticmethod
    def _remember(st: dict, g: torch.Tensor) -> None:
        """Append (y, s) when y.s > 1e-10 (dropping the oldest), else keep the history as it is."""
        y = g - st["prev_g"]
        s = st["d"] * st["t"]
        ys = y.dot(s)
        ok = ys > 1e-10
        for key, new in (("dirs", y), ("stps", s)):
            shifted = torch.cat([st[key][1:], new[None]])
            st[key] = torch.where(ok, shifted, st[key])
        st["rho"] = torch.where(ok, torch.cat([st["rho"][1:], (1.0 / ys)[None]]), st["rho"])
        st["h_diag"] = torch.where(ok, ys / y.dot(y), st["h_diag"])

    @staticmethod
    def _direction(st: dict, g: torch.Tensor) -> torch.Tensor:
        """The two-loop recursion: d = -H g."""
        dirs, stps, rho = st["dirs"], st["stps"], st["rho"]
        q = g.neg()
        al = []
        for i in range(len(rho) - 1, -1, -1):  # newest to oldest
            a = stps[i].dot(q) * rho[i]
            q.sub_(dirs[i] * a)
            al.append(a)
        r = q * st["h_diag"]
        for i, a in zip(range(len(rho)), reversed(al), strict=True):  # oldest to newest
            be = dirs[i].dot(r) * rho[i]
            r.add_(stps[i] * (a - be))
        return r
