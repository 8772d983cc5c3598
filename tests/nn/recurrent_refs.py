"""torch.nn.RNN / LSTM / GRU set up with vislab's weights, and the map from their gradients back to vislab's.

torch stores weights as (gates*H, D) and stacks LSTM gates i, f, g, o (vislab: (D, gates*H), i, f, o, g); both
torch biases (ih and hh) are used, and vislab's b is their sum, except the GRU's hidden-side n bias, which
vislab keeps separately as b[3H:].
"""

from __future__ import annotations

import numpy as np
import torch


def lstm_perm(H: int) -> np.ndarray:
    """Column j of torch's layout is column perm[j] of vislab's: blocks i, f, g, o <- i, f, o, g."""
    i, f, o, g = (np.arange(k * H, (k + 1) * H) for k in range(4))
    return np.concatenate([i, f, g, o])


def make_torch_layer(cell: str, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray, rng) -> torch.nn.Module:
    """A float64 torch layer computing exactly what vislab's `cell` computes with (Wx, Wh, b)."""
    D, H = Wx.shape[0], Wh.shape[0]
    if cell == "rnn":
        layer = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True)
        w_ih, w_hh = Wx.T, Wh.T
        b_hh = rng.standard_normal(H)
        b_ih = b - b_hh
    elif cell == "lstm":
        layer = torch.nn.LSTM(D, H, batch_first=True)
        p = lstm_perm(H)
        w_ih, w_hh = Wx[:, p].T, Wh[:, p].T
        b_hh = rng.standard_normal(4 * H)
        b_ih = b[p] - b_hh
    else:
        layer = torch.nn.GRU(D, H, batch_first=True)
        w_ih, w_hh = Wx.T, Wh.T
        b_hh = np.concatenate([rng.standard_normal(2 * H), b[3 * H:]])
        b_ih = np.concatenate([b[:2 * H] - b_hh[:2 * H], b[2 * H:3 * H]])
    layer = layer.double()
    with torch.no_grad():
        for name, value in (("weight_ih_l0", w_ih), ("weight_hh_l0", w_hh), ("bias_ih_l0", b_ih),
                            ("bias_hh_l0", b_hh)):
            getattr(layer, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    return layer


def torch_grads(cell: str, layer: torch.nn.Module) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dWx, dWh, db) in vislab's layout from the layer's .grad fields."""
    g = {name: p.grad.numpy() for name, p in layer.named_parameters()}
    H = layer.hidden_size
    if cell == "rnn":
        return g["weight_ih_l0"].T, g["weight_hh_l0"].T, g["bias_ih_l0"]
    if cell == "lstm":
        inv = np.argsort(lstm_perm(H))
        return g["weight_ih_l0"].T[:, inv], g["weight_hh_l0"].T[:, inv], g["bias_ih_l0"][inv]
    db = np.concatenate([g["bias_ih_l0"], g["bias_hh_l0"][2 * H:]])
    return g["weight_ih_l0"].T, g["weight_hh_l0"].T, db


def run_torch(cell: str, layer: torch.nn.Module, x: np.ndarray, h0: np.ndarray, dout: np.ndarray):
    """Forward with h0 (and c0 = 0), backward with upstream dout; returns (h, dx, dh0, dWx, dWh, db)."""
    tx = torch.from_numpy(x).requires_grad_(True)
    th0 = torch.from_numpy(h0)[None].requires_grad_(True)
    hx = (th0, torch.zeros_like(th0)) if cell == "lstm" else th0
    out, _ = layer(tx, hx)
    out.backward(torch.from_numpy(dout))
    return (out.detach().numpy(), tx.grad.numpy(), th0.grad[0].numpy(), *torch_grads(cell, layer))
