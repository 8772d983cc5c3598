"""Vanilla (tanh) RNN: one step, and a whole sequence, each with a hand-written backward pass.

    next_h = tanh(x @ Wx + prev_h @ Wh + b)        x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,)

The step functions are the plain formula. The sequence functions compute the same thing but are arranged for
speed: everything that does not depend on the previous step is taken out of the time loop and done as one big
matrix product over all N*T rows (the input projection x @ Wx in forward; dx, dWx, dWh and db in backward).
Only the recurrent product h @ Wh and the elementwise math stay inside the loop, working in preallocated
buffers (``out=``, in-place ops) instead of making temporaries. Internally the sequence is stored time-major,
(T, N, H), so the rows of one step are contiguous; inputs and outputs are batch-major (N, T, ...) like the
cs231n API, and the returned h is a transposed view of the buffer the cache keeps, so change it only by copy.
"""

from __future__ import annotations

import numpy as np


def rnn_step_forward(x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                     b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """One time step: returns (next_h (N, H), cache)."""
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Gradients (dx, dprev_h, dWx, dWh, db) of one step, given dLoss/dnext_h."""
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h * next_h)  # tanh'(a) = 1 - tanh(a)^2, and tanh(a) is next_h
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def sequence_start(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                   b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the RNN and the LSTM start a sequence from, in the inputs' common dtype: x time-major (T, N, D),
    the hidden states hs (T + 1, N, H) with hs[0] = h0, and the input projections of all steps, x Wx + b
    (T, N, Wx's columns): one (T*N, D) x (D, .) product instead of T small ones."""
    N, T, D = x.shape
    H = Wh.shape[0]
    dtype = np.result_type(x, h0, Wx, Wh, b)
    x_tm = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dtype)  # (T, N, D)
    hs = np.empty((T + 1, N, H), dtype=dtype)  # hs[0] = h0, hs[t + 1] = h after step t
    hs[0] = h0
    xw = (x_tm.reshape(T * N, D) @ Wx).reshape(T, N, Wx.shape[1])
    xw += b
    return x_tm, hs, xw


def rnn_forward(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Run over a whole sequence: x (N, T, D), h0 (N, H) -> hidden states h (N, T, H), cache."""
    x_tm, hs, xw = sequence_start(x, h0, Wx, Wh, b)
    for t in range(len(x_tm)):
        h = hs[t + 1]
        np.matmul(hs[t], Wh, out=h)
        h += xw[t]
        np.tanh(h, out=h)
    return hs[1:].transpose(1, 0, 2), (x_tm, hs, Wx, Wh)


def rnn_backward(dh: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backprop through time. dh (N, T, H) is dLoss/dh from outside (e.g. the output layer) at every step.

    Returns (dx (N, T, D), dh0 (N, H), dWx, dWh, db).
    """
    x_tm, hs, Wx, Wh = cache
    T, N, D = x_tm.shape
    H = Wh.shape[0]
    da = np.empty((T, N, H), dtype=hs.dtype)  # dLoss/d(pre-activation) of every step
    dprev_h = np.zeros((N, H), dtype=hs.dtype)  # gradient arriving from step t + 1 through h @ Wh
    tmp = np.empty((N, H), dtype=hs.dtype)
    for t in reversed(range(T)):
        g = da[t]
        np.add(dh[:, t], dprev_h, out=g)  # h_t feeds both the output and the next step
        np.multiply(hs[t + 1], hs[t + 1], out=tmp)
        np.subtract(1, tmp, out=tmp)
        g *= tmp
        np.matmul(g, Wh.T, out=dprev_h)

    # The weight gradients sum over all steps: one product each over the T*N rows.
    da2 = da.reshape(T * N, H)
    dx = (da2 @ Wx.T).reshape(T, N, D).transpose(1, 0, 2)
    dWx = x_tm.reshape(T * N, D).T @ da2
    dWh = hs[:-1].reshape(T * N, H).T @ da2
    return np.ascontiguousarray(dx), dprev_h, dWx, dWh, da2.sum(axis=0)
