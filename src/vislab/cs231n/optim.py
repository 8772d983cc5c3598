"""`cs231n.optim` over `vislab.nn.optim`: ``next_w, config = rule(w, dw, config=None)``.

The rules, defaults and config keys (velocity; cache; m, v, t) are the course's, so they are vislab's
functions themselves.
"""

from ..nn.optim import adam, rmsprop, sgd, sgd_momentum

__all__ = ["sgd", "sgd_momentum", "rmsprop", "adam"]
