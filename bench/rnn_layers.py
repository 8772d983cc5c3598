"""numpy LSTM / RNN layers (vislab.nn) vs torch.nn.LSTM / nn.RNN on the CPU: forward + backward time.

    .venv/bin/python bench/rnn_layers.py [--threads 1] [--repeats 15] [--N 128 --T 16 --D 256 --H 512]

Both libraries get the same number of threads (numpy's BLAS through threadpoolctl, torch through
set_num_threads), float32, and compute the same gradients (inputs, initial state and all weights). The runs
alternate numpy / torch so that noise from other processes hits both alike; the medians are reported.
Goal: numpy within 1.2x of torch.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from vislab.nn import lstm_backward, lstm_forward, rnn_backward, rnn_forward


def numpy_step(fw, bw, x, h0, Wx, Wh, b, dout):
    h, cache = fw(x, h0, Wx, Wh, b)
    return bw(dout, cache)


def torch_step(layer, x, h0, dout, lstm: bool):
    layer.zero_grad(set_to_none=True)
    x.grad = h0.grad = None
    hx = (h0, torch.zeros_like(h0)) if lstm else h0
    out, _ = layer(x, hx)
    out.backward(dout)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench(cell: str, N: int, T: int, D: int, H: int, repeats: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    g = 4 if cell == "lstm" else 1
    f32 = np.float32
    x = rng.standard_normal((N, T, D)).astype(f32)
    h0 = rng.standard_normal((N, H)).astype(f32)
    Wx = (rng.standard_normal((D, g * H)) / np.sqrt(D)).astype(f32)
    Wh = (rng.standard_normal((H, g * H)) / np.sqrt(H)).astype(f32)
    b = np.zeros(g * H, f32)
    dout = rng.standard_normal((N, T, H)).astype(f32)
    fw, bw = (lstm_forward, lstm_backward) if cell == "lstm" else (rnn_forward, rnn_backward)

    layer = (torch.nn.LSTM(D, H, batch_first=True) if cell == "lstm"
             else torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True))
    tx = torch.from_numpy(x).requires_grad_(True)
    th0 = torch.from_numpy(h0).unsqueeze(0).requires_grad_(True)
    tdout = torch.from_numpy(dout)

    np_run = lambda: numpy_step(fw, bw, x, h0, Wx, Wh, b, dout)
    torch_run = lambda: torch_step(layer, tx, th0, tdout, cell == "lstm")
    for _ in range(3):  # warm up caches, allocators and thread pools
        np_run()
        torch_run()
    t_np, t_torch = [], []
    for _ in range(repeats):
        t_np.append(timed(np_run))
        t_torch.append(timed(torch_run))
    return statistics.median(t_np), statistics.median(t_torch)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for numpy's BLAS and for torch (default 1: stable on a shared machine)")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--N", type=int, default=128)
    ap.add_argument("--T", type=int, default=16)
    ap.add_argument("--D", type=int, default=256)
    ap.add_argument("--H", type=int, default=512)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        blas = [f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info()
                if i["user_api"] == "blas"]
        print(f"numpy {np.__version__} (BLAS: {', '.join(blas)}), torch {torch.__version__} "
              f"({torch.get_num_threads()} threads), float32, N={args.N} T={args.T} D={args.D} H={args.H}, "
              f"median of {args.repeats}")
        print(f"{'forward+backward':<18}{'numpy':>10}{'torch':>10}{'numpy/torch':>13}")
        for cell in ("lstm", "rnn"):
            t_np, t_torch = bench(cell, args.N, args.T, args.D, args.H, args.repeats)
            print(f"{cell:<18}{t_np * 1e3:>8.1f}ms{t_torch * 1e3:>8.1f}ms{t_np / t_torch:>12.2f}x")


if __name__ == "__main__":
    main()
