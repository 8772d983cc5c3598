"""The RNN_Captioning notebook's "Overfit small data" cell, run through `vislab.cs231n` (a script, not a page).

    .venv/bin/python docs/cs231n_captioning.py                 # the notebook's setting: 50 epochs
    .venv/bin/python docs/cs231n_captioning.py --epochs 10     # shorter

With the course's COCO files in ``$VISLAB_DATA/coco_captioning`` (coco2014_captions.h5, coco2014_vocab.json,
train/val2014_vgg16_fc7_pca.h5, train/val2014_urls.txt) it uses them, as the notebook does
(``load_coco_data(max_train=50)``); otherwise 50 training captions of vislab's built-in shapes data
(`vislab.cs231n.coco_utils.shapes_data`; 240-d features instead of 512). The notebook's 50 epochs are
100 updates of batch 25, a few seconds on 2 CPUs. Prints the solver's ``(Iteration i / N) loss: x`` lines,
then the first and last losses. On the shapes data (1000 pictures, features centred like the course's
PCA'd ones) the loss falls from ~28 to ~0.09, the notebook's goal (< 0.1).
"""

from __future__ import annotations

import argparse

import numpy as np

from vislab.cs231n.captioning_solver import CaptioningSolver
from vislab.cs231n.classifiers.rnn import CaptioningRNN
from vislab.cs231n.coco_utils import default_base_dir, load_coco_data, shapes_data


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=50, help="the notebook's num_epochs (default 50)")
    ap.add_argument("--seed", type=int, default=231, help="np.random.seed (the notebook uses 231)")
    args = ap.parse_args(argv)

    np.random.seed(args.seed)
    if (default_base_dir() / "coco2014_captions.h5").is_file():
        small_data = load_coco_data(max_train=50)
        print("data: the course's COCO files, max_train=50")
    else:
        small_data = shapes_data(max_train=50)
        print("data: vislab shapes (the course's COCO files are absent), 50 training captions")

    small_rnn_model = CaptioningRNN(
        cell_type="rnn",
        word_to_idx=small_data["word_to_idx"],
        input_dim=small_data["train_features"].shape[1],
        hidden_dim=512,
        wordvec_dim=256,
    )
    small_rnn_solver = CaptioningSolver(
        small_rnn_model, small_data,
        update_rule="adam",
        num_epochs=args.epochs,
        batch_size=25,
        optim_config={"learning_rate": 5e-3},
        lr_decay=0.95,
        verbose=True, print_every=10,
    )
    small_rnn_solver.train()
    h = small_rnn_solver.loss_history
    print(f"first loss {h[0]:.4f}, last loss {h[-1]:.4f}")


if __name__ == "__main__":
    main()
