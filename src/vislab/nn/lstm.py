"""LSTM: one step, and a whole sequence, each with a hand-written backward pass.

    a = x @ Wx + prev_h @ Wh + b                        Wx (D, 4H), Wh (H, 4H), b (4H,)
    i, f, o, g = a[:, :H], a[:, H:2H], a[:, 2H:3H], a[:, 3H:]     (gate order i, f, o, g along the 4H axis)
    i, f, o = sigmoid(i), sigmoid(f), sigmoid(o);  g = tanh(g)
    next_c = f * prev_c + i * g
    next_h = o * tanh(next_c)

torch.nn.LSTM stacks its gates as i, f, g, o (and stores weights transposed, as (4H, D)): swap the last two
H-blocks to convert. The cell math lives in `_cell_forward` / `_cell_backward`, shared by the step functions
(which are the plain formula) and the sequence functions (which move the input projection and all weight
gradients out of the time loop as single big matrix products, see `vislab.nn.rnn`).
"""

from __future__ import annotations

import numpy as np

from .rnn import sequence_start


def _cell_forward(a: np.ndarray, prev_c: np.ndarray, next_c: np.ndarray, tanh_c: np.ndarray,
                  next_h: np.ndarray) -> None:
    """Turn the pre-activations `a` (N, 4H) into gate values in place; write next_c, tanh(next_c), next_h."""
    H = prev_c.shape[1]
    # sigmoid(x) = (1 + tanh(x / 2)) / 2, so one tanh over the whole contiguous row does all four gates
    # (numpy's tanh is SIMD-vectorised; this is ~5x faster than scipy's expit in float32).
    ifo = a[:, :3 * H]
    ifo *= 0.5
    np.tanh(a, out=a)
    ifo *= 0.5
    ifo += 0.5
    i, f, o, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
    np.multiply(f, prev_c, out=next_c)
    np.multiply(i, g, out=next_h)  # next_h is free until the last line: use it as scratch
    next_c += next_h
    np.tanh(next_c, out=tanh_c)
    np.multiply(o, tanh_c, out=next_h)


def _cell_backward(dh: np.ndarray, dc: np.ndarray, gates: np.ndarray, prev_c: np.ndarray,
                   tanh_c: np.ndarray, da: np.ndarray, tmp: np.ndarray) -> None:
    """Given dLoss/dnext_h (dh) and dLoss/dnext_c (dc, overwritten with dLoss/dprev_c), write dLoss/da to da.

    `gates` holds the activated i, f, o, g of the step; `tmp` is (N, H) scratch.
    """
    H = prev_c.shape[1]
    i, f, o, g = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    di, df, do, dg = da[:, :H], da[:, H:2 * H], da[:, 2 * H:3 * H], da[:, 3 * H:]
    # next_h = o * tanh(c): gradient to o, and to c through tanh (on top of the dc that comes from step t + 1)
    np.multiply(dh, tanh_c, out=do)
    np.multiply(tanh_c, tanh_c, out=tmp)
    np.subtract(1, tmp, out=tmp)
    tmp *= o
    tmp *= dh
    dc += tmp
    # next_c = f * prev_c + i * g
    np.multiply(dc, g, out=di)
    np.multiply(dc, prev_c, out=df)
    np.multiply(dc, i, out=dg)
    dc *= f  # now dLoss/dprev_c
    # through the nonlinearities: sigmoid' = s (1 - s) for i, f, o at once; tanh' = 1 - g^2
    s = gates[:, :3 * H]
    ds = da[:, :3 * H]
    ds *= s
    ds -= ds * s  # ds * s * (1 - s), with one temporary
    np.multiply(g, g, out=tmp)
    np.subtract(1, tmp, out=tmp)
    dg *= tmp


def lstm_step_forward(x: np.ndarray, prev_h: np.ndarray, prev_c: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                      b: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
    """One time step: returns (next_h (N, H), next_c (N, H), cache)."""
    gates = x @ Wx + prev_h @ Wh + b
    next_c, tanh_c, next_h = (np.empty_like(prev_c, dtype=gates.dtype) for _ in range(3))
    _cell_forward(gates, prev_c, next_c, tanh_c, next_h)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, gates, tanh_c)


def lstm_step_backward(dnext_h: np.ndarray, dnext_c: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Gradients (dx, dprev_h, dprev_c, dWx, dWh, db) of one step."""
    x, prev_h, prev_c, Wx, Wh, gates, tanh_c = cache
    da = np.empty_like(gates)
    dc = np.array(dnext_c, dtype=gates.dtype)  # copy: _cell_backward overwrites it with dprev_c
    _cell_backward(dnext_h, dc, gates, prev_c, tanh_c, da, np.empty_like(dc))
    return da @ Wx.T, da @ Wh.T, dc, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                 b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Run over a whole sequence with c0 = 0: x (N, T, D), h0 (N, H) -> h (N, T, H), cache."""
    # gates: the pre-activations of all steps from the input; the loop adds h @ Wh and then overwrites them with
    # the gate values, which backward needs.
    x_tm, hs, gates = sequence_start(x, h0, Wx, Wh, b)
    T, N, H = gates.shape[0], *hs.shape[1:]
    dtype = hs.dtype
    cs = np.empty((T + 1, N, H), dtype=dtype)  # cs[0] = c0 = 0
    tanh_cs = np.empty((T, N, H), dtype=dtype)
    cs[0] = 0
    hw = np.empty((N, 4 * H), dtype=dtype)
    for t in range(T):
        np.matmul(hs[t], Wh, out=hw)
        gates[t] += hw
        _cell_forward(gates[t], cs[t], cs[t + 1], tanh_cs[t], hs[t + 1])
    return hs[1:].transpose(1, 0, 2), (x_tm, hs, cs, tanh_cs, gates, Wx, Wh)


def lstm_backward(dh: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backprop through time. dh (N, T, H) is dLoss/dh from outside at every step.

    Returns (dx (N, T, D), dh0 (N, H), dWx, dWh, db).
    """
    x_tm, hs, cs, tanh_cs, gates, Wx, Wh = cache
    T, N, D = x_tm.shape
    H = Wh.shape[0]
    dtype = hs.dtype
    da = np.empty((T, N, 4 * H), dtype=dtype)
    dprev_h = np.zeros((N, H), dtype=dtype)  # from step t + 1 through h @ Wh
    dc = np.zeros((N, H), dtype=dtype)  # from step t + 1 through f * c (the final c is not an output)
    dh_t = np.empty((N, H), dtype=dtype)
    tmp = np.empty((N, H), dtype=dtype)
    for t in reversed(range(T)):
        np.add(dh[:, t], dprev_h, out=dh_t)
        _cell_backward(dh_t, dc, gates[t], cs[t], tanh_cs[t], da[t], tmp)
        np.matmul(da[t], Wh.T, out=dprev_h)

    da2 = da.reshape(T * N, 4 * H)
    dx = (da2 @ Wx.T).reshape(T, N, D).transpose(1, 0, 2)
    dWx = x_tm.reshape(T * N, D).T @ da2
    dWh = hs[:-1].reshape(T * N, H).T @ da2
    return np.ascontiguousarray(dx), dprev_h, dWx, dWh, da2.sum(axis=0)
