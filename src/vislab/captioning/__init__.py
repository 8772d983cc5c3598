"""Image captioning: a recurrent network (rnn, lstm or gru) that turns image features into words."""

from .metrics import caption_scores, cider_d, corpus_bleu
from .model import CaptioningRNN
from .tokenize import tokenize
from .vocab import Vocabulary

# Data, features, training and evaluation import torch; reach them as vislab.captioning.data / .train / ...
__all__ = ["CaptioningRNN", "Vocabulary", "tokenize", "corpus_bleu", "cider_d", "caption_scores"]
