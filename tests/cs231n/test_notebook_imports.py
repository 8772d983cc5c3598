"""Every `from cs231n...` line of the course's released assignment-3 notebooks (PyTorch and captioning; 2019
``spring1819_assignment3.zip`` and 2020 ``assignment3_jupyter.zip`` from cs231n/cs231n.github.io), transcribed
verbatim, resolves against `vislab.cs231n` after the one rewrite ``from cs231n`` -> ``from vislab.cs231n``.
(`quality/cs231n_notebooks.py` runs the notebooks themselves.)"""

import pytest

CAPTIONING_SETUP = [  # the first code cell of RNN_Captioning and LSTM_Captioning, both years
    "from cs231n.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array",
    "from cs231n.rnn_layers import *",
    "from cs231n.captioning_solver import CaptioningSolver",
    "from cs231n.classifiers.rnn import CaptioningRNN",
    "from cs231n.coco_utils import load_coco_data, sample_coco_minibatch, decode_captions",
    "from cs231n.image_utils import image_from_url",
]

NOTEBOOK_IMPORTS = {
    "2019 RNN_Captioning": CAPTIONING_SETUP + [
        "from cs231n.rnn_layers import rnn_step_forward, rnn_step_backward",
        "from cs231n.rnn_layers import temporal_softmax_loss"],
    "2019 LSTM_Captioning": CAPTIONING_SETUP + ["from cs231n.rnn_layers import lstm_forward, lstm_backward"],
    "2019 NetworkVisualization-PyTorch": [
        "from cs231n.image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD",
        "from cs231n.data_utils import load_imagenet_val"],
    "2019 StyleTransfer-PyTorch": ["from cs231n.image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD"],
    "2020 RNN_Captioning": CAPTIONING_SETUP + [
        "from cs231n.rnn_layers import rnn_step_forward, rnn_step_backward",
        "from cs231n.rnn_layers import temporal_softmax_loss"],
    "2020 LSTM_Captioning": CAPTIONING_SETUP + ["from cs231n.rnn_layers import lstm_forward, lstm_backward"],
    "2020 NetworkVisualization-PyTorch": [
        "from cs231n.image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD",
        "from cs231n.net_visualization_pytorch import preprocess, deprocess, rescale, blur_image",
        "from cs231n.data_utils import load_imagenet_val",
        "from cs231n.net_visualization_pytorch import compute_saliency_maps",
        "from cs231n.net_visualization_pytorch import make_fooling_image",
        "from cs231n.net_visualization_pytorch import class_visualization_update_step, jitter, blur_image"],
    "2020 StyleTransfer-PyTorch": [
        "from cs231n.image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD",
        "from cs231n.style_transfer_pytorch import preprocess, deprocess, rescale, rel_error, features_from_img",
        "from cs231n.style_transfer_pytorch import content_loss, extract_features, features_from_img",
        "from cs231n.style_transfer_pytorch import gram_matrix",
        "from cs231n.style_transfer_pytorch import style_loss",
        "from cs231n.style_transfer_pytorch import tv_loss"],
    "2020 Generative_Adversarial_Networks_PyTorch": [
        "from cs231n.gan_pytorch import preprocess_img, deprocess_img, rel_error, count_params, ChunkSampler",
        "from cs231n.gan_pytorch import sample_noise",
        "from cs231n.gan_pytorch import Flatten, Unflatten, initialize_weights",
        "from cs231n.gan_pytorch import discriminator",
        "from cs231n.gan_pytorch import generator",
        "from cs231n.gan_pytorch import bce_loss, discriminator_loss, generator_loss",
        "from cs231n.gan_pytorch import get_optimizer, run_a_gan",
        "from cs231n.gan_pytorch import ls_discriminator_loss, ls_generator_loss",
        "from cs231n.gan_pytorch import build_dc_classifier",
        "from cs231n.gan_pytorch import build_dc_generator"],
    # the 2019 GAN PyTorch notebook imports nothing from cs231n
}

# what the captioning notebooks use from `from cs231n.rnn_layers import *` without importing it by name
STAR_NAMES = ["rnn_forward", "rnn_backward", "word_embedding_forward", "word_embedding_backward",
              "temporal_affine_forward", "temporal_affine_backward", "lstm_step_forward", "lstm_step_backward"]


@pytest.mark.parametrize("notebook", sorted(NOTEBOOK_IMPORTS))
def test_every_import_line_resolves_with_only_the_rewrite(notebook):
    ns: dict = {}
    for line in NOTEBOOK_IMPORTS[notebook]:
        assert line.startswith("from cs231n")
        exec(line.replace("from cs231n", "from vislab.cs231n", 1), ns)
        names = line.split(" import ", 1)[1]
        if names != "*":
            for name in (n.strip() for n in names.split(",")):
                assert ns[name] is not None, (notebook, name)
    if "Captioning" in notebook:
        assert all(callable(ns[name]) for name in STAR_NAMES)
