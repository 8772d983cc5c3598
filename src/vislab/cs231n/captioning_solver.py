"""`cs231n.captioning_solver.CaptioningSolver`: the course's minibatch training loop for a captioning model.

The loop is the course's (one update-rule config per parameter, learning-rate decay after every epoch,
minibatches from `sample_coco_minibatch`); the update rules are vislab's (`vislab.cs231n.optim`) and the model
is any object with ``params`` and ``loss(features, captions) -> (loss, grads)``, e.g.
`vislab.cs231n.classifiers.rnn.CaptioningRNN`. vislab's own trainer (`vislab.captioning.train`) is a different
design (torch, epochs over shuffled data, checkpoints); this adapter keeps the notebooks' API instead.
"""

from __future__ import annotations

from typing import Any

from . import optim
from .coco_utils import sample_coco_minibatch

__all__ = ["CaptioningSolver"]

_KWARGS = ("update_rule", "optim_config", "lr_decay", "batch_size", "num_epochs", "print_every", "verbose")


class CaptioningSolver:
    """CaptioningSolver(model, data, **kwargs): trains `model` on the `load_coco_data` dict `data`.

    kwargs (the course's): update_rule='sgd' (a function name in `vislab.cs231n.optim`), optim_config={}
    (its hyperparameters, copied per parameter), lr_decay=1.0 (learning rate multiplied by it after each
    epoch), batch_size=100, num_epochs=10, print_every=10, verbose=True. An unknown kwarg or update rule is
    the course's `ValueError`.

    After `train()`: ``loss_history`` (one loss per iteration), ``epoch``; ``train_acc_history`` and
    ``val_acc_history`` stay empty, as in the course (its captioning solver computes no accuracy).
    """

    def __init__(self, model: Any, data: dict, **kwargs: Any) -> None:
        self.model = model
        self.data = data
        self.update_rule = kwargs.pop("update_rule", "sgd")
        self.optim_config = kwargs.pop("optim_config", {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)
        if kwargs:
            raise ValueError("Unrecognized arguments " + ", ".join(f'"{k}"' for k in kwargs))
        rule = getattr(optim, self.update_rule, None) if isinstance(self.update_rule, str) else None
        if rule is None or self.update_rule not in optim.__all__:
            raise ValueError(f'Invalid update_rule "{self.update_rule}"')
        self.update_rule = rule
        self._reset()

    def _reset(self) -> None:
        """Book-keeping back to the start (called by the constructor; not meant to be called by hand)."""
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params: dict = {}
        self.loss_history: list[float] = []
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    def _step(self) -> None:
        """One update: a training minibatch, the loss and gradients, and the update rule on every parameter."""
        captions, features, _urls = sample_coco_minibatch(self.data, batch_size=self.batch_size, split="train")
        loss, grads = self.model.loss(features, captions)
        self.loss_history.append(loss)
        for p, w in self.model.params.items():
            next_w, next_config = self.update_rule(w, grads[p], self.optim_configs[p])
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config

    def check_accuracy(self, X: Any, y: Any, num_samples: int | None = None, batch_size: int = 100) -> float:
        """In the course this is left over from the classification solver and cannot run on a captioning model
        (it calls ``model.loss(X)`` without captions); `train` never calls it. Here it says so."""
        raise NotImplementedError("CaptioningSolver.check_accuracy is not usable for captioning models (as in "
                                  "the course); evaluate with model.sample and decode_captions, or vislab's "
                                  "BLEU (vislab.captioning.metrics)")

    def train(self) -> None:
        """num_epochs * max(num_train // batch_size, 1) updates; prints ``(Iteration i / N) loss: x`` every
        `print_every` iterations (from the first) when verbose; decays every learning rate after each epoch."""
        num_train = self.data["train_captions"].shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        for t in range(num_iterations):
            self._step()
            if self.verbose and t % self.print_every == 0:
                print(f"(Iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}")
            if (t + 1) % iterations_per_epoch == 0:
                self.epoch += 1
                for k in self.optim_configs:
                    self.optim_configs[k]["learning_rate"] *= self.lr_decay
