"""Every course name this slice provides imports from its course module path."""

import importlib

import numpy as np
import pytest

NAMES = {
    "vislab.cs231n.rnn_layers": [
        "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
        "word_embedding_forward", "word_embedding_backward",
        "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
        "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
        "affine_forward", "affine_backward", "sigmoid"],
    "vislab.cs231n.gradient_check": ["eval_numerical_gradient", "eval_numerical_gradient_array", "rel_error"],
    "vislab.cs231n.optim": ["sgd", "sgd_momentum", "rmsprop", "adam"],
    "vislab.cs231n.classifiers.rnn": ["CaptioningRNN"],
    "vislab.cs231n": ["rel_error"],
    "vislab.cs231n.captioning_solver": ["CaptioningSolver"],
    "vislab.cs231n.coco_utils": ["load_coco_data", "decode_captions", "sample_coco_minibatch"],
    "vislab.cs231n.image_utils": ["preprocess", "deprocess", "load_image"],
    "vislab.cs231n.net_visualization_pytorch": [
        "compute_saliency_maps", "make_fooling_image", "class_visualization_update_step", "jitter", "blur_image"],
    "vislab.cs231n.style_transfer_pytorch": [
        "content_loss", "gram_matrix", "style_loss", "tv_loss", "extract_features", "features_from_img",
        "style_transfer"],
    "vislab.cs231n.gan_pytorch": [
        "sample_noise", "Flatten", "Unflatten", "initialize_weights", "discriminator", "generator", "bce_loss",
        "discriminator_loss", "generator_loss", "get_optimizer", "run_a_gan", "ls_discriminator_loss",
        "ls_generator_loss", "build_dc_classifier", "build_dc_generator", "preprocess_img", "deprocess_img",
        "count_params", "rel_error"],
}


@pytest.mark.parametrize("module", sorted(NAMES))
def test_names_import_and_star_import(module):
    mod = importlib.import_module(module)
    for name in NAMES[module]:
        assert callable(getattr(mod, name)), name
    ns: dict = {}
    exec(f"from {module} import *", ns)  # what a notebook does
    missing = [n for n in NAMES[module] if n not in ns]
    assert not missing


def test_image_utils_constants_are_the_imagenet_statistics():
    from vislab.cs231n.image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD

    np.testing.assert_allclose(SQUEEZENET_MEAN, [0.485, 0.456, 0.406], atol=1e-6)
    np.testing.assert_allclose(SQUEEZENET_STD, [0.229, 0.224, 0.225], atol=1e-6)
