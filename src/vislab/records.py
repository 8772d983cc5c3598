"""vislab's own capabilities: one `register` call each (the CLI, the web page and the tour are built from these).

A new capability is its library module (a settings dataclass with field metadata + ``run``), one record appended
here, a test and a doc line; see DEVELOPERS.md, "Add a capability". Order within a group is the order here.
"""

from __future__ import annotations

from .registry import Capability, TourStep, register

DREAM_QUICK = {"steps": 80, "size": 128}
"""The quick tour's class visualization: smaller and shorter than the defaults (224 px, 200 steps), yet a
flamingo: pink necks and heads over water, p(flamingo) 0.78 after a 1.33x zoom (0.46 at 50 steps; the
network's p of a picture that only fools it at one framing drops there). Recheck with quality/tour_grid.py."""

INVERT_QUICK = {"image_size": 192, "scales": None, "iterations": 150}
"""The quick tour's feature inversion: coarse to fine (96, 192 px), 150 iterations a scale: the cat's eyes, nose and
fur at block9 (relative feature error 0.042; PSNR 14 dB, SSIM 0.08 against the photo: a layer keeps shapes, not
colours). A single 128 px scale of 100 iterations was colour noise with a faint outline."""

STYLE_QUICK = {"image_size": 256, "iterations": 100}
"""The quick tour's style transfer: half the default's size and two thirds of its iterations per scale (coarse to
fine, 128 then 256 px). Fewer iterations leave noise (256 px at 50 was still noise); the result takes the
painting's colours and strokes. Checked with quality/tour_grid.py (the style loss fraction it prints)."""

TEXTURE_QUICK = {"iterations": 100}
"""The quick tour's texture: the default size and scales (256 px: 128 then 256) with 100 iterations a scale (style
loss 3.0% of the start: Starry Night's swirls and palette). A single 128 px scale was rainbow noise (issue 24)."""

# -- see: what a pretrained classifier sees ------------------------------------------------------------------------

register(Capability(
    "classify", "top-k classes of images with a pretrained CNN",
    settings="vislab.backbones.classify_job:ClassifySettings", run="vislab.backbones.classify_job:run",
    positional=("images",), group="see", show="table",
    description="Classify images (files, or sample:coffee etc.) with a pretrained ImageNet CNN.",
    tour=TourStep(step="vislab.tour.see:classify")))

register(Capability(
    "saliency", "saliency maps: which pixels the class score depends on",
    settings="vislab.visualize.settings:SaliencySettings", run="vislab.visualize.saliency_job:run",
    positional=("images",), group="see",
    description="Saliency maps of images for a class (default: the predicted class). Writes, per image, a "
                "heatmap PNG, an overlay PNG and a figure with a colour bar. With --evaluate, labelled folders are "
                "scored for faithfulness instead (the saliency-eval job).",
    tour=TourStep(step="vislab.tour.see:saliency")))

register(Capability(
    "saliency-eval", "is a saliency map faithful? every method scored side by side",
    settings="vislab.visualize.saliency_eval:SaliencyEvalSettings", run="vislab.visualize.saliency_eval:run",
    positional=("images",), group="see",
    description="Score saliency methods on images (a folder's labels.json gives the classes; an image without a "
                "label is explained for the model's top-1 prediction, not a ground truth): deletion "
                "and insertion AUC (Petsiuk et al.), ROAD remove-and-debias (Rong et al.), and the rank "
                "correlation of each map with the map of a top-down randomized model (Adebayo et al.), with the "
                "seconds per map. Writes faithfulness.md / .csv (one row per method) and faithfulness.png."))

register(Capability(
    "fool", "fooling image: a small change that makes the classifier say CLASS",
    settings="vislab.visualize.settings:FoolSettings", run="vislab.visualize.fool_job:run",
    positional=("image",), group="see",
    description="Make a fooling image: gradient ascent on the target class score with L2-normalized steps until "
                "the saved 8-bit image is classified as the target. Writes fooling.png (lossless, at the input's "
                "resolution) and figure.png (original | fooling | magnified difference). Exit status 1 when the "
                "image could not be fooled within --max-iters.",
    tour=TourStep(settings={"image": "sample:chelsea", "target": "stingray"}, smoke={"max_iters": 2})))

register(Capability(
    "dream", "feature visualization: an image the network takes for a class, or that drives a channel, neuron or layer",
    settings="vislab.visualize.settings:DreamSettings", run="vislab.visualize.dream_job:run", group="see",
    description="Class visualization by gradient ascent on the class score, from noise; or feature visualization "
                "of one --channel LAYER:INDEX, one --neuron or a whole layer (--deepdream LAYER), --batch images "
                "at once pushed apart by --diversity. --param fourier "
                "(default): decorrelated Fourier image, Adam, random zoom/rotate/shift; --param pixel: the classic "
                "loop with jitter, blur and an L2 penalty. Unset settings take the parameterization's defaults; a "
                "setting the parameterization does not use is an error. Writes dream.png and figure.png.",
    tour=TourStep(settings={"class_": "flamingo"}, quick=DREAM_QUICK, smoke={"steps": 2, "views": 1, "size": 64})))

register(Capability(
    "invert", "rebuild an image from one layer's features (what does the layer keep?)",
    settings="vislab.style.settings:InvertSettings", run="vislab.style.runners:run_invert",
    positional=("image",), group="see",
    description="Feature inversion: starting from noise, optimize an image whose activations at --layer match "
                "IMAGE's (content loss only, plus a little smoothness). Prints PSNR/SSIM against the input.",
    tour=TourStep(settings={"image": "sample:chelsea"}, quick=INVERT_QUICK,
                  smoke={"image_size": 32, "iterations": 2}, headline="image")))

# -- generate: new pictures --------------------------------------------------------------------------------------

register(Capability(
    "style", "repaint a photo in the style of one or more paintings",
    settings="vislab.style.settings:StyleSettings", run="vislab.style.runners:run_style",
    positional=("content", "styles"), group="generate",
    description="Neural style transfer (Gatys et al.): optimize an image whose CNN features match the content "
                "photo's and whose Gram matrices match the paintings'. Losses are relative errors, so the weights "
                "mean the same on every backbone and at every size.",
    tour=TourStep(settings={"content": "sample:chelsea"}, quick=STYLE_QUICK,
                  smoke={"image_size": 48, "iterations": 2}, headline="image")))

register(Capability(
    "texture", "synthesize a texture with the statistics of an image",
    settings="vislab.style.settings:TextureSettings", run="vislab.style.runners:run_texture",
    positional=("style",), group="generate",
    description="Texture synthesis (Gatys et al.): starting from noise, optimize an image whose Gram matrices "
                "match STYLE's (style loss only). Prints the final style loss (the mean relative Gram error).",
    tour=TourStep(quick=TEXTURE_QUICK, smoke={"image_size": 32, "iterations": 2}, headline="image")))

register(Capability(
    "gan sample", "a grid of samples from a trained generator",
    settings="vislab.gan.settings:GanSampleSettings", run="vislab.gan.sample:run", group="generate",
    description="Draw samples from a checkpoint's generator and tile them into one grid, saved in the run folder "
                "(samples.png) and, with -o, also there."))

# -- learn: train and evaluate models ------------------------------------------------------------------------------

register(Capability(
    "caption", "caption images with a trained model",
    settings="vislab.captioning.settings:CaptionSettings", run="vislab.captioning.predict:run",
    positional=("images",), group="learn", show="captions",
    description="Caption image files with a trained model."))

register(Capability(
    "caption train", "train a captioning model",
    settings="vislab.captioning.settings:CaptionTrainSettings", run="vislab.captioning.train:run",
    group="learn", page=False,
    description="Train a captioning model (Adam, per-epoch validation loss and BLEU, checkpoints).",
    tour=TourStep(step="vislab.tour.learn:caption", name="caption")))

register(Capability(
    "caption eval", "score a captioning model (BLEU, CIDEr-D)",
    settings="vislab.captioning.settings:CaptionEvalSettings", run="vislab.captioning.evaluate:run",
    group="learn", show="scores", page=False,
    description="Caption a split of a dataset and score it: BLEU-1..4 and CIDEr-D."))

register(Capability(
    "gan train", "train a GAN on MNIST",
    settings="vislab.gan.settings:GanTrainSettings", run="vislab.gan.train:run", group="learn", page=False,
    description="Train a GAN; writes sample grids, losses.png, checkpoint.pt and scores into the run folder.",
    tour=TourStep(step="vislab.tour.learn:gan", name="gan")))

register(Capability(
    "gan eval", "MNIST score, Fréchet distance and class histogram of a generator",
    settings="vislab.gan.settings:GanEvalSettings", run="vislab.gan.score:run", group="learn", show="scores",
    description="Score a checkpoint's samples with a small MNIST classifier: the MNIST score, the Fréchet "
                "distance on its penultimate features vs the test set, and the class histogram."))

# -- see: adversarial attacks and robustness (issue 25) -------------------------------------------------------------

register(Capability(
    "attack", "adversarial images: fgsm, pgd, cw or deepfool, saved as 8-bit PNGs that still fool",
    settings="vislab.attacks.settings:AttackSettings", run="vislab.attacks.attack_job:run",
    positional=("images",), group="see",
    description="Attack images in the classifier's 224 px view: fgsm, pgd (L-inf or L2, targeted with --target, "
                "random start, --restarts), cw (Carlini-Wagner L2) or deepfool. --eps is in 0-255 levels for "
                "L-inf (8 = 8/255) and in [0, 1] pixel units for L2 (e.g. 0.5). Writes, per image, the clean view, "
                "the adversarial PNG (8-bit, still adversarial) and the perturbation, figure.png and attack.csv "
                "(before/after class and probability, L-inf and L2 change).",
    tour=TourStep(settings={"images": ["sample:chelsea"], "attack": "pgd", "eps": 2.0, "steps": 5},
                  smoke={"steps": 1})))

register(Capability(
    "robustness", "accuracy under attack for a list of budgets: the robustness curve",
    settings="vislab.attacks.settings:RobustnessSettings", run="vislab.attacks.robustness_job:run",
    positional=("folder",), group="see", show="table",
    description="Accuracy vs attack budget on a folder of images (labels from its labels.json, else the model's "
                "clean predictions; --images, as the web page sends them: no labels, so their clean "
                "predictions). --eps lists budgets (0-255 levels for L-inf; L2 norms in [0, 1] units for "
                "--norm l2, cw and deepfool). Writes robustness.json, robustness.csv and robustness.png; each "
                "finished budget is kept, so --resume in the same --out skips it."))
