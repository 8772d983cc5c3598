"""Soft attention (Show, Attend and Tell, Xu et al. 2015) with hand-written backprop, in the cs231n layer style.

An image is L feature vectors feats (N, L, C), one per cell of the backbone's grid. Before every word the LSTM
looks at them with additive attention, driven by its previous hidden state:

    proj  = feats @ Wf + bf                          (N, L, A)   once per image
    e     = tanh(proj + prev_h @ Wa) @ wa            (N, L)      a score per cell
    alpha = softmax(e over L)                        (N, L)      where it looks; each row sums to 1
    z     = sum_l alpha_l feats_l                    (N, C)      the context vector
    a     = x @ Wx + prev_h @ Wh + z @ Wz + b        (N, 4H)     then the LSTM cell of `vislab.nn.lstm`

The doubly stochastic regularizer lam * sum_l (1 - sum_t alpha_tl)^2 (per caption, averaged over the batch) asks
every cell to be looked at about once over a caption. Forward functions return ``(out, cache)``; backward ones
take the upstream gradients of every output (the attention weights are outputs too: the regularizer reads
them) and return the gradients of the inputs in the order they were passed.

Grounding (supervised attention, Liu et al. 2017, "Attention Correctness in Neural Image Captioning") is a second
term on the weights, for data whose words come with boxes: lam * sum over the grounded words of
-log(sum_l alpha_l m_l) (per caption, averaged over the batch), where m_l is the part of cell l the word's box
covers. It asks the word to put its attention on its box, anywhere in it.
"""

from __future__ import annotations

import numpy as np

from .lstm import _cell_backward, _cell_forward

MASS_FLOOR = 1e-8  # the least attention mass on a box that grounding's log sees


def attention_forward(prev_h: np.ndarray, proj: np.ndarray, feats: np.ndarray, Wa: np.ndarray,
                      wa: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], tuple]:
    """Additive attention: returns ((z (N, C), alpha (N, L)), cache); proj = feats @ Wf + bf (N, L, A)."""
    t = np.tanh(proj + (prev_h @ Wa)[:, None, :])
    e = t @ wa
    e = e - e.max(axis=1, keepdims=True)  # softmax without overflow
    alpha = np.exp(e)
    alpha /= alpha.sum(axis=1, keepdims=True)
    z = np.einsum("nl,nlc->nc", alpha, feats)
    return (z, alpha), (prev_h, feats, Wa, wa, t, alpha)


def attention_backward(dz: np.ndarray, dalpha: np.ndarray | None,
                       cache: tuple) -> tuple[np.ndarray, ...]:
    """Gradients (dprev_h, dproj, dfeats, dWa, dwa) given dLoss/dz and dLoss/dalpha (None: 0)."""
    prev_h, feats, Wa, wa, t, alpha = cache
    dal = np.einsum("nc,nlc->nl", dz, feats)
    if dalpha is not None:
        dal = dal + dalpha
    dfeats = alpha[:, :, None] * dz[:, None, :]
    de = alpha * (dal - (dal * alpha).sum(axis=1, keepdims=True))  # through the softmax
    dwa = np.einsum("nla,nl->a", t, de)
    du = de[:, :, None] * wa * (1 - t * t)  # through e = tanh(u) @ wa
    dhw = du.sum(axis=1)
    return dhw @ Wa.T, du, dfeats, prev_h.T @ dhw, dwa


def attention_lstm_step_forward(x: np.ndarray, prev_h: np.ndarray, prev_c: np.ndarray, proj: np.ndarray,
                                feats: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, Wz: np.ndarray, b: np.ndarray,
                                Wa: np.ndarray, wa: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """One step: attend with prev_h, then the LSTM cell on x and the context. Returns (next_h, next_c, alpha,
    cache)."""
    (z, alpha), att_cache = attention_forward(prev_h, proj, feats, Wa, wa)
    gates = x @ Wx + prev_h @ Wh + z @ Wz + b
    next_c, tanh_c, next_h = (np.empty_like(prev_c, dtype=gates.dtype) for _ in range(3))
    _cell_forward(gates, prev_c, next_c, tanh_c, next_h)
    return next_h, next_c, alpha, (x, z, prev_h, prev_c, gates, tanh_c, Wx, Wh, Wz, att_cache)


def attention_lstm_step_backward(dnext_h: np.ndarray, dnext_c: np.ndarray, dalpha: np.ndarray | None,
                                 cache: tuple) -> tuple[np.ndarray, ...]:
    """Gradients (dx, dprev_h, dprev_c, dproj, dfeats, dWx, dWh, dWz, db, dWa, dwa) of one step."""
    x, z, prev_h, prev_c, gates, tanh_c, Wx, Wh, Wz, att_cache = cache
    da = np.empty_like(gates)
    dc = np.array(dnext_c, dtype=gates.dtype)  # overwritten with dprev_c
    _cell_backward(dnext_h, dc, gates, prev_c, tanh_c, da, np.empty_like(dc))
    dh_att, dproj, dfeats, dWa, dwa = attention_backward(da @ Wz.T, dalpha, att_cache)
    return (da @ Wx.T, da @ Wh.T + dh_att, dc, dproj, dfeats, x.T @ da, prev_h.T @ da, z.T @ da,
            da.sum(axis=0), dWa, dwa)


def attention_lstm_forward(x: np.ndarray, feats: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                           Wz: np.ndarray, b: np.ndarray, Wf: np.ndarray, bf: np.ndarray, Wa: np.ndarray,
                           wa: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], tuple]:
    """A whole sequence with c0 = 0: x (N, T, D), feats (N, L, C), h0 (N, H) -> ((h (N, T, H), alphas (N, T, L)),
    cache). The input and feature projections are single products outside the time loop."""
    N, T, _ = x.shape
    H = Wh.shape[0]
    dtype = np.result_type(x, feats, h0, Wx, Wh, Wz, b, Wf, Wa)
    proj = feats @ Wf + bf
    xw = x @ Wx + b  # (N, T, 4H)
    hs = np.empty((T + 1, N, H), dtype=dtype)
    cs = np.empty((T + 1, N, H), dtype=dtype)
    tanh_cs = np.empty((T, N, H), dtype=dtype)
    gates = np.empty((T, N, 4 * H), dtype=dtype)
    zs = np.empty((T, N, feats.shape[2]), dtype=dtype)
    alphas = np.empty((N, T, feats.shape[1]), dtype=dtype)
    hs[0], cs[0] = h0, 0
    att = []
    for t in range(T):
        (zs[t], alphas[:, t]), c = attention_forward(hs[t], proj, feats, Wa, wa)
        att.append(c)
        gates[t] = xw[:, t] + hs[t] @ Wh + zs[t] @ Wz
        _cell_forward(gates[t], cs[t], cs[t + 1], tanh_cs[t], hs[t + 1])
    cache = (x, feats, hs, cs, tanh_cs, gates, zs, att, Wx, Wh, Wz, Wf)
    return (hs[1:].transpose(1, 0, 2), alphas), cache


def attention_lstm_backward(dh: np.ndarray, dalphas: np.ndarray | None, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backprop through time, given dLoss/dh (N, T, H) and dLoss/dalphas (N, T, L) (None: 0). Returns
    (dx, dfeats, dh0, dWx, dWh, dWz, db, dWf, dbf, dWa, dwa)."""
    x, feats, hs, cs, tanh_cs, gates, zs, att, Wx, Wh, Wz, Wf = cache
    T, N, H = tanh_cs.shape
    da = np.empty_like(gates)
    dprev_h, dc = np.zeros((N, H), hs.dtype), np.zeros((N, H), hs.dtype)
    dh_t, tmp = np.empty((N, H), hs.dtype), np.empty((N, H), hs.dtype)
    dproj, dfeats = np.zeros(feats.shape[:2] + (Wf.shape[1],), hs.dtype), np.zeros_like(feats, dtype=hs.dtype)
    dWa, dwa = 0.0, 0.0
    for t in reversed(range(T)):
        np.add(dh[:, t], dprev_h, out=dh_t)
        _cell_backward(dh_t, dc, gates[t], cs[t], tanh_cs[t], da[t], tmp)
        dh_att, dp, df, dWa_t, dwa_t = attention_backward(da[t] @ Wz.T, None if dalphas is None else dalphas[:, t],
                                                          att[t])
        dprev_h = da[t] @ Wh.T + dh_att
        dproj += dp
        dfeats += df
        dWa, dwa = dWa + dWa_t, dwa + dwa_t
    da2 = da.reshape(T * N, 4 * H)
    x_tm = x.transpose(1, 0, 2).reshape(T * N, -1)
    dx = (da2 @ Wx.T).reshape(T, N, -1).transpose(1, 0, 2)
    dfeats += dproj @ Wf.T
    C, A = feats.shape[2], Wf.shape[1]
    return (np.ascontiguousarray(dx), dfeats, dprev_h, x_tm.T @ da2, hs[:-1].reshape(T * N, H).T @ da2,
            zs.reshape(T * N, -1).T @ da2, da2.sum(axis=0), feats.reshape(-1, C).T @ dproj.reshape(-1, A),
            dproj.sum(axis=(0, 1)), dWa, dwa)


def doubly_stochastic_forward(alphas: np.ndarray, mask: np.ndarray, lam: float) -> tuple[float, tuple]:
    """lam * sum_{n, l} (1 - sum_t mask_nt alpha_ntl)^2 / N: alphas (N, T, L), mask (N, T) (False: padding, not
    counted)."""
    m = mask.astype(alphas.dtype)
    gap = 1 - np.einsum("ntl,nt->nl", alphas, m)
    N = alphas.shape[0]
    return float(lam * (gap * gap).sum() / N), (gap, m, lam, N)


def doubly_stochastic_backward(cache: tuple) -> np.ndarray:
    """dLoss/dalphas (N, T, L) of `doubly_stochastic_forward` (the loss's own gradient is 1)."""
    gap, m, lam, N = cache
    return (-2 * lam / N) * m[:, :, None] * gap[:, None, :]


def grounding_forward(alphas: np.ndarray, targets: np.ndarray, lam: float) -> tuple[float, tuple]:
    """lam * sum over grounded words of -log(mass on the box) / N: alphas (N, T, L), targets (N, T, L) each cell's
    share covered by the box word t names (a row of zeros: an ungrounded word, not counted)."""
    grounded = targets.sum(axis=2) > 0
    mass = np.einsum("ntl,ntl->nt", alphas, targets)
    # log(1) = 0: ungrounded words add nothing; the floor keeps a float32 softmax that underflowed on the box finite
    mass = np.where(grounded, np.maximum(mass, MASS_FLOOR), 1)
    N = alphas.shape[0]
    return float(-lam * np.log(mass).sum() / N), (targets, mass, lam, N)


def grounding_backward(cache: tuple) -> np.ndarray:
    """dLoss/dalphas (N, T, L) of `grounding_forward` (the loss's own gradient is 1)."""
    targets, mass, lam, N = cache
    return (-lam / N) * targets / mass[:, :, None]
