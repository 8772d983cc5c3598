"""The RNN_Captioning / LSTM_Captioning notebooks' check cells (2019), run against vislab.cs231n.rnn_layers.

Expected values are the ones printed in the notebooks; tolerances are the notebooks' ("errors around 1e-8 or
less"; 1e-6 for dWh of the LSTM sequence).
"""

import numpy as np
import pytest

from vislab.cs231n import rel_error
from vislab.cs231n.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
from vislab.cs231n.rnn_layers import (
    affine_backward,
    affine_forward,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    sigmoid,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)


def test_rnn_step_forward_notebook_values():
    N, D, H = 3, 10, 4
    x = np.linspace(-0.4, 0.7, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.2, 0.5, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.1, 0.9, num=D * H).reshape(D, H)
    Wh = np.linspace(-0.3, 0.7, num=H * H).reshape(H, H)
    b = np.linspace(-0.2, 0.4, num=H)
    next_h, _ = rnn_step_forward(x, prev_h, Wx, Wh, b)
    expected_next_h = np.asarray([
        [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
        [0.66854692, 0.79562378, 0.87755553, 0.92795967],
        [0.97934501, 0.99144213, 0.99646691, 0.99854353]])
    assert rel_error(expected_next_h, next_h) < 1e-8


def test_rnn_forward_notebook_values():
    N, T, D, H = 2, 3, 4, 5
    x = np.linspace(-0.1, 0.3, num=N * T * D).reshape(N, T, D)
    h0 = np.linspace(-0.3, 0.1, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.2, 0.4, num=D * H).reshape(D, H)
    Wh = np.linspace(-0.4, 0.1, num=H * H).reshape(H, H)
    b = np.linspace(-0.7, 0.1, num=H)
    h, _ = rnn_forward(x, h0, Wx, Wh, b)
    expected_h = np.asarray([
        [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
         [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
         [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
        [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
         [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
         [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]])
    assert rel_error(expected_h, h) < 1e-7


def test_word_embedding_forward_notebook_values():
    V, D = 5, 3
    x = np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]])
    W = np.linspace(0, 1, num=V * D).reshape(V, D)
    out, _ = word_embedding_forward(x, W)
    expected_out = np.asarray([
        [[0., 0.07142857, 0.14285714],
         [0.64285714, 0.71428571, 0.78571429],
         [0.21428571, 0.28571429, 0.35714286],
         [0.42857143, 0.5, 0.57142857]],
        [[0.42857143, 0.5, 0.57142857],
         [0.21428571, 0.28571429, 0.35714286],
         [0., 0.07142857, 0.14285714],
         [0.64285714, 0.71428571, 0.78571429]]])
    assert rel_error(expected_out, out) < 1e-7


def test_lstm_step_forward_notebook_values():
    N, D, H = 3, 4, 5
    x = np.linspace(-0.4, 1.2, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.3, 0.7, num=N * H).reshape(N, H)
    prev_c = np.linspace(-0.4, 0.9, num=N * H).reshape(N, H)
    Wx = np.linspace(-2.1, 1.3, num=4 * D * H).reshape(D, 4 * H)
    Wh = np.linspace(-0.7, 2.2, num=4 * H * H).reshape(H, 4 * H)
    b = np.linspace(0.3, 0.7, num=4 * H)
    next_h, next_c, _ = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    expected_next_h = np.asarray([
        [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
        [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
        [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]])
    expected_next_c = np.asarray([
        [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
        [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
        [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]])
    assert rel_error(expected_next_h, next_h) < 1e-8
    assert rel_error(expected_next_c, next_c) < 1e-8


def test_lstm_forward_notebook_values():
    N, D, H, T = 2, 5, 4, 3
    x = np.linspace(-0.4, 0.6, num=N * T * D).reshape(N, T, D)
    h0 = np.linspace(-0.4, 0.8, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.2, 0.9, num=4 * D * H).reshape(D, 4 * H)
    Wh = np.linspace(-0.3, 0.6, num=4 * H * H).reshape(H, 4 * H)
    b = np.linspace(0.2, 0.7, num=4 * H)
    h, _ = lstm_forward(x, h0, Wx, Wh, b)
    expected_h = np.asarray([
        [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
         [0.11287491, 0.12146228, 0.13018446, 0.13902939],
         [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
        [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
         [0.6704845, 0.69350089, 0.71486014, 0.7346449],
         [0.81733511, 0.83677871, 0.85403753, 0.86935314]]])
    assert rel_error(expected_h, h) < 1e-7


def _check(pairs, tol=1e-8):
    for num, ana in pairs:
        assert rel_error(num, ana) < tol


def test_rnn_step_backward_gradcheck():
    np.random.seed(231)
    N, D, H = 4, 5, 6
    x, h = np.random.randn(N, D), np.random.randn(N, H)
    Wx, Wh, b = np.random.randn(D, H), np.random.randn(H, H), np.random.randn(H)
    out, cache = rnn_step_forward(x, h, Wx, Wh, b)
    dnext_h = np.random.randn(*out.shape)
    num = [eval_numerical_gradient_array(lambda _: rnn_step_forward(x, h, Wx, Wh, b)[0], v, dnext_h)
           for v in (x, h, Wx, Wh, b)]
    _check(zip(num, rnn_step_backward(dnext_h, cache)))


def test_rnn_backward_gradcheck():
    np.random.seed(231)
    N, D, T, H = 2, 3, 10, 5
    x, h0 = np.random.randn(N, T, D), np.random.randn(N, H)
    Wx, Wh, b = np.random.randn(D, H), np.random.randn(H, H), np.random.randn(H)
    out, cache = rnn_forward(x, h0, Wx, Wh, b)
    dout = np.random.randn(*out.shape)
    grads = rnn_backward(dout, cache)
    num = [eval_numerical_gradient_array(lambda _: rnn_forward(x, h0, Wx, Wh, b)[0], v, dout)
           for v in (x, h0, Wx, Wh, b)]
    _check(zip(num, grads), 1e-6)  # the notebook: "on the order of e-6 or less" (the course's difference: 1.3e-7)


def test_word_embedding_backward_gradcheck():
    np.random.seed(231)
    N, T, V, D = 50, 3, 5, 6
    x = np.random.randint(V, size=(N, T))
    W = np.random.randn(V, D)
    out, cache = word_embedding_forward(x, W)
    dout = np.random.randn(*out.shape)
    dW = word_embedding_backward(dout, cache)
    dW_num = eval_numerical_gradient_array(lambda W: word_embedding_forward(x, W)[0], W, dout)
    assert rel_error(dW, dW_num) < 1e-11  # the RNN notebook's cell: "dW error" should be e-11 or less


def test_temporal_affine_backward_gradcheck():
    np.random.seed(231)
    N, T, D, M = 2, 3, 4, 5
    x, w, b = np.random.randn(N, T, D), np.random.randn(D, M), np.random.randn(M)
    out, cache = temporal_affine_forward(x, w, b)
    dout = np.random.randn(*out.shape)
    num = [eval_numerical_gradient_array(lambda _: temporal_affine_forward(x, w, b)[0], v, dout)
           for v in (x, w, b)]
    _check(zip(num, temporal_affine_backward(dout, cache)))


def test_affine_backward_gradcheck():
    np.random.seed(231)
    x, w, b = np.random.randn(4, 6), np.random.randn(6, 3), np.random.randn(3)
    out, cache = affine_forward(x, w, b)
    dout = np.random.randn(*out.shape)
    num = [eval_numerical_gradient_array(lambda _: affine_forward(x, w, b)[0], v, dout) for v in (x, w, b)]
    _check(zip(num, affine_backward(dout, cache)))


def _check_loss(N, T, V, p):
    x = 0.001 * np.random.randn(N, T, V)
    y = np.random.randint(V, size=(N, T))
    mask = np.random.rand(N, T) <= p
    return temporal_softmax_loss(x, y, mask)[0]


def test_temporal_softmax_loss_notebook_sanity():
    # The notebook's comments: "Should be about 2.3", "about 23", "about 2.3" (log 10 per unmasked step).
    np.random.seed(231)
    assert _check_loss(100, 1, 10, 1.0) == pytest.approx(2.3, abs=0.05)
    assert _check_loss(100, 10, 10, 1.0) == pytest.approx(23, abs=0.3)
    assert _check_loss(5000, 10, 10, 0.1) == pytest.approx(2.3, abs=0.1)


def test_temporal_softmax_loss_gradcheck_and_verbose(capsys):
    np.random.seed(231)
    N, T, V = 7, 8, 9
    x = np.random.randn(N, T, V)
    y = np.random.randint(V, size=(N, T))
    mask = np.random.rand(N, T) > 0.5
    loss, dx = temporal_softmax_loss(x, y, mask, verbose=False)
    dx_num = eval_numerical_gradient(lambda x: temporal_softmax_loss(x, y, mask)[0], x, verbose=False)
    # masked entries are exactly 0 analytically and ~1e-14 numerically: the notebook's 'e-7 or less'
    assert rel_error(dx, dx_num) < 1e-6
    temporal_softmax_loss(x, y, mask.astype(int), verbose=True)
    assert "dx_flat" in capsys.readouterr().out


def test_lstm_step_backward_gradcheck():
    np.random.seed(231)
    N, D, H = 4, 5, 6
    x, prev_h, prev_c = np.random.randn(N, D), np.random.randn(N, H), np.random.randn(N, H)
    Wx, Wh, b = np.random.randn(D, 4 * H), np.random.randn(H, 4 * H), np.random.randn(4 * H)
    next_h, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    dnext_h, dnext_c = np.random.randn(*next_h.shape), np.random.randn(*next_c.shape)
    grads = lstm_step_backward(dnext_h, dnext_c, cache)

    def num(v):
        fh = lambda _: lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[0]  # noqa: E731
        fc = lambda _: lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[1]  # noqa: E731
        return eval_numerical_gradient_array(fh, v, dnext_h) + eval_numerical_gradient_array(fc, v, dnext_c)

    # the notebook: "errors on the order of e-7 or less" (it printed dWh error 9.7e-08)
    _check(zip([num(v) for v in (x, prev_h, prev_c, Wx, Wh, b)], grads), 1e-6)


def test_lstm_backward_gradcheck():
    np.random.seed(231)
    N, D, T, H = 2, 3, 10, 6
    x, h0 = np.random.randn(N, T, D), np.random.randn(N, H)
    Wx, Wh, b = np.random.randn(D, 4 * H), np.random.randn(H, 4 * H), np.random.randn(4 * H)
    out, cache = lstm_forward(x, h0, Wx, Wh, b)
    dout = np.random.randn(*out.shape)
    dx, dh0, dWx, dWh, db = lstm_backward(dout, cache)
    num = [eval_numerical_gradient_array(lambda _: lstm_forward(x, h0, Wx, Wh, b)[0], v, dout)
           for v in (x, h0, Wx, Wh, b)]
    for n, a, tol in zip(num, (dx, dh0, dWx, dWh, db), (1e-7, 1e-7, 1e-7, 1e-5, 1e-7)):
        # the notebook: "on the order of e-8 or less" (printed dh0 error 2.5e-08), dWh "e-6 or less" (the
        # course's two-point difference gives 1.9e-6 there; vislab's five-point stencil 3.8e-8 at h=1e-3)
        assert rel_error(n, a) < tol


def test_sigmoid_stable_and_correct():
    x = np.array([-1000.0, -20.0, -1.0, 0.0, 1.0, 20.0, 1000.0])
    with np.errstate(over="raise"):
        s = sigmoid(x)
    ref = np.array([0.0, 1 / (1 + np.exp(20.0)), 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-1.0)),
                    1 / (1 + np.exp(-20.0)), 1.0])
    assert np.allclose(s, ref, rtol=1e-12, atol=0)
