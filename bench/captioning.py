"""Training throughput of the captioning engines, side by side in one run: numpy (hand-written backprop +
vislab.nn.optim.adam) vs torch (autograd + torch.optim.Adam), same model, batch and thread count.

    .venv/bin/python bench/captioning.py [--steps 30] [--threads 2]

Two vocabularies: the shapes dataset's (~25 words) and cs231n's COCO vocabulary (1004 words), where the output
layer dominates. Prints captions/s per engine and the numpy/torch ratio (> 1: numpy is faster).
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    # Thread counts must be fixed before numpy/torch start their pools.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    import torch

    from vislab.captioning.engines import NumpyEngine, TorchEngine
    from vislab.captioning.shapes import make_shapes
    from vislab.captioning.tokenize import tokenize
    from vislab.captioning.vocab import Vocabulary
    from vislab.distributed import DistInfo

    torch.set_num_threads(args.threads)
    shapes_vocab = Vocabulary.build(tokenize(c) for caps in make_shapes(200).captions for c in caps)
    coco_vocab = Vocabulary([*("<NULL> <START> <END> <UNK>".split()), *(f"w{i}" for i in range(1000))])
    N, T, D, W, H = args.batch_size, 17, 240, 128, 256
    print(f"batch {N}, caption length {T}, features {D}, wordvec {W}, hidden {H}, float32, "
          f"{args.threads} threads, {args.steps} timed steps after 3 warm-up steps")
    print(f"{'vocab':>6} {'cell':>5} {'numpy cap/s':>12} {'torch cap/s':>12} {'numpy/torch':>12}")
    rng = np.random.default_rng(0)
    for vname, vocab in (("shapes", shapes_vocab), ("coco", coco_vocab)):
        feats = rng.standard_normal((N, D)).astype(np.float32)
        caps = rng.integers(4, len(vocab), size=(N, T + 1)).astype(np.int32)
        caps[:, 0] = vocab.start
        for cell in ("rnn", "lstm", "gru"):
            rates = []
            for engine in (NumpyEngine(vocab.word_to_idx, D, W, H, cell, "float32", 0),
                           TorchEngine(vocab.word_to_idx, D, W, H, cell, "float32", 0, dist=DistInfo())):
                for _ in range(3):
                    engine.train_step(feats, caps, 1e-3, N)
                t = time.perf_counter()
                for _ in range(args.steps):
                    engine.train_step(feats, caps, 1e-3, N)
                rates.append(N * args.steps / (time.perf_counter() - t))
            print(f"{vname:>6} {cell:>5} {rates[0]:12.0f} {rates[1]:12.0f} {rates[0] / rates[1]:12.2f}")


if __name__ == "__main__":
    main()
