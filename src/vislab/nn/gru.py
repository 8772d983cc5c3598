"""GRU: one step, and a whole sequence, each with a hand-written backward pass.

This follows torch.nn.GRU's formulation exactly (gate order r, z, n along the 3H axis):

    ax = x @ Wx + b[:3H]                  Wx (D, 3H): input side of the r, z, n gates
    ah = prev_h @ Wh;  ah[:, 2H:] += b[3H:]    Wh (H, 3H); b (4H,): the n gate has a second, hidden-side bias
    r = sigmoid(ax_r + ah_r);  z = sigmoid(ax_z + ah_z)
    n = tanh(ax_n + r * ah_n)             the reset gate scales the hidden part, bias included
    next_h = (1 - z) * n + z * prev_h

Because r multiplies (prev_h @ Wh_n + b_hn), that bias cannot be folded into the input one, which is why b has
4H entries: [b_r, b_z, b_in, b_hn]. To load torch weights: Wx = weight_ih.T, Wh = weight_hh.T,
b = [b_ih[:2H] + b_hh[:2H], b_ih[2H:], b_hh[2H:]]. The sequence functions move the input projection and the
weight gradients out of the time loop, as in `vislab.nn.rnn`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit


def _cell_forward(ax: np.ndarray, ah: np.ndarray, prev_h: np.ndarray, next_h: np.ndarray) -> None:
    """From the input-side (ax) and hidden-side (ah) pre-activations, overwrite ax[:, :3H] with r, z, n and
    write next_h. ah[:, 2H:] (the hidden part of n, which backward needs) is left as it is."""
    H = prev_h.shape[1]
    rz = ax[:, :2 * H]
    rz += ah[:, :2 * H]
    expit(rz, out=rz)
    r, z, n = ax[:, :H], ax[:, H:2 * H], ax[:, 2 * H:]
    np.multiply(r, ah[:, 2 * H:], out=next_h)  # next_h as scratch
    n += next_h
    np.tanh(n, out=n)
    # (1 - z) * n + z * prev_h, written as n + z * (prev_h - n)
    np.subtract(prev_h, n, out=next_h)
    next_h *= z
    next_h += n


def _cell_backward(dh: np.ndarray, gates: np.ndarray, hn: np.ndarray, prev_h: np.ndarray,
                   dax: np.ndarray, dah: np.ndarray, dprev_h: np.ndarray) -> None:
    """Given dLoss/dnext_h, write dLoss/dax and dLoss/dah (both (N, 3H)) and the direct part of
    dLoss/dprev_h (dh * z; the caller adds the part through prev_h @ Wh). `hn` is ah[:, 2H:] of the step."""
    H = prev_h.shape[1]
    r, z, n = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    dr, dz, dn = dax[:, :H], dax[:, H:2 * H], dax[:, 2 * H:]
    np.multiply(dh, z, out=dprev_h)
    np.subtract(prev_h, n, out=dz)
    dz *= dh
    np.subtract(dh, dprev_h, out=dn)  # dh * (1 - z)
    dn -= dn * n * n  # through tanh: * (1 - n^2)
    np.multiply(dn, hn, out=dr)  # n = tanh(ax_n + r * hn)
    np.multiply(dn, r, out=dah[:, 2 * H:])
    drz = dax[:, :2 * H]
    drz *= gates[:, :2 * H]
    drz -= drz * gates[:, :2 * H]  # sigmoid' = s (1 - s)
    dah[:, :2 * H] = drz  # r and z see the same pre-activation gradient from both sides


def gru_step_forward(x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                     b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """One time step: returns (next_h (N, H), cache)."""
    H = prev_h.shape[1]
    gates = x @ Wx + b[:3 * H]
    ah = prev_h @ Wh
    ah[:, 2 * H:] += b[3 * H:]
    next_h = np.empty_like(prev_h, dtype=gates.dtype)
    _cell_forward(gates, ah, prev_h, next_h)
    return next_h, (x, prev_h, Wx, Wh, gates, ah[:, 2 * H:])


def gru_step_backward(dnext_h: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Gradients (dx, dprev_h, dWx, dWh, db) of one step; db has 4H entries like b."""
    x, prev_h, Wx, Wh, gates, hn = cache
    H = prev_h.shape[1]
    dax, dah = np.empty_like(gates), np.empty_like(gates)
    dprev_h = np.empty_like(prev_h, dtype=gates.dtype)
    _cell_backward(dnext_h, gates, hn, prev_h, dax, dah, dprev_h)
    dprev_h += dah @ Wh.T
    db = np.concatenate([dax.sum(axis=0), dah[:, 2 * H:].sum(axis=0)])
    return dax @ Wx.T, dprev_h, x.T @ dax, prev_h.T @ dah, db


def gru_forward(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Run over a whole sequence: x (N, T, D), h0 (N, H) -> h (N, T, H), cache."""
    N, T, D = x.shape
    H = Wh.shape[0]
    dtype = np.result_type(x, h0, Wx, Wh, b)
    x_tm = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dtype)

    hs = np.empty((T + 1, N, H), dtype=dtype)
    hs[0] = h0
    gates = (x_tm.reshape(T * N, D) @ Wx).reshape(T, N, 3 * H)  # input side of every step; becomes r, z, n
    gates += b[:3 * H]
    hns = np.empty((T, N, H), dtype=dtype)  # hidden part of n per step, for backward
    ah = np.empty((N, 3 * H), dtype=dtype)
    for t in range(T):
        np.matmul(hs[t], Wh, out=ah)
        ah[:, 2 * H:] += b[3 * H:]
        _cell_forward(gates[t], ah, hs[t], hs[t + 1])
        hns[t] = ah[:, 2 * H:]
    return hs[1:].transpose(1, 0, 2), (x_tm, hs, gates, hns, Wx, Wh)


def gru_backward(dh: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backprop through time: dh (N, T, H) -> (dx (N, T, D), dh0 (N, H), dWx, dWh, db (4H,))."""
    x_tm, hs, gates, hns, Wx, Wh = cache
    T, N, D = x_tm.shape
    H = Wh.shape[0]
    dtype = hs.dtype
    dax = np.empty((T, N, 3 * H), dtype=dtype)
    dah = np.empty((T, N, 3 * H), dtype=dtype)
    dprev_h = np.zeros((N, H), dtype=dtype)
    dh_t = np.empty((N, H), dtype=dtype)
    for t in reversed(range(T)):
        np.add(dh[:, t], dprev_h, out=dh_t)
        _cell_backward(dh_t, gates[t], hns[t], hs[t], dax[t], dah[t], dprev_h)
        dprev_h += dah[t] @ Wh.T

    dax2, dah2 = dax.reshape(T * N, 3 * H), dah.reshape(T * N, 3 * H)
    dx = (dax2 @ Wx.T).reshape(T, N, D).transpose(1, 0, 2)
    dWx = x_tm.reshape(T * N, D).T @ dax2
    dWh = hs[:-1].reshape(T * N, H).T @ dah2
    db = np.concatenate([dax2.sum(axis=0), dah2[:, 2 * H:].sum(axis=0)])
    return np.ascontiguousarray(dx), dprev_h, dWx, dWh, db
