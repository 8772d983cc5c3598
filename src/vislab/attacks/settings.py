"""The settings of `vislab attack` and `vislab robustness`: every default, allowed value and check.

Units, as people quote attack budgets: an L-inf `eps` (and `alpha`) is in 0-255 levels (8 means 8/255 of the
pixel range); an L2 `eps` is the perturbation's L2 norm in [0, 1] pixel units (0.5 is a common ImageNet value).
`eps_unit` converts to the [0, 1] units the attack functions take.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..backbones.settings import ModelSettings, check_count, check_texts
from ..jobs import SettingError, check_bool, check_choice, check_number, check_seed, check_text
from ..visualize.settings import check_class

ATTACKS = ("fgsm", "pgd", "cw", "deepfool")
BUDGET_ATTACKS = ("fgsm", "pgd")  # attacks with a budget eps; cw and deepfool look for the smallest change
NORMS = ("linf", "l2")
DEFAULT_EPS = {"linf": 8.0, "l2": 0.5}  # levels / [0, 1] L2 units
DEFAULT_STEPS = {"fgsm": 1, "pgd": 10, "cw": 100, "deepfool": 50}
MAX_LEVELS = 255.0
EPS_HELP = ("L-inf: in 0-255 levels (8 = 8/255 of the pixel range); L2 (--norm l2): the perturbation's L2 norm in "
            "[0, 1] pixel units (e.g. 0.5)")


def eps_unit(value: float, norm: str) -> float:
    """A budget in the settings' units -> [0, 1] pixel units (L-inf levels / 255; L2 unchanged)."""
    return value / 255 if norm == "linf" else value


def check_eps(name: str, value: Any, norm: str) -> None:
    check_number(name, value, lo=0, hi=MAX_LEVELS if norm == "linf" else None)


@dataclass(kw_only=True)
class _AttackOptions(ModelSettings):
    """What every attack run shares (the images or folder come in the subclasses)."""

    attack: str = field(default="pgd", metadata={
        "help": "fgsm (one signed gradient step), pgd (projected gradient descent), cw (Carlini-Wagner L2, "
                "smallest change; no budget) or deepfool (smallest change to the nearest boundary; no budget)",
        "choices": ATTACKS})
    norm: str = field(default="linf", metadata={
        "help": "pgd's budget: linf (no pixel moves more than eps) or l2 (the change's L2 norm at most eps); fgsm "
                "is linf only", "choices": NORMS})
    steps: int | None = field(default=None, metadata={
        "help": "iterations (default: pgd 10, cw 100, deepfool 50; fgsm takes one)", "min": 1})
    alpha: float | None = field(default=None, metadata={
        "help": "pgd: step size, in eps's units (default 2.5 * eps / steps)", "min": 0})
    restarts: int = field(default=1, metadata={
        "help": "pgd: attack again from new random starts the images not fooled yet", "min": 1})
    random_start: bool = field(default=True, metadata={
        "help": "pgd: start at a random point of the eps-ball (false: at the image)"})
    c: float = field(default=1.0, metadata={"help": "cw: weight of the misclassification term", "min": 0})
    kappa: float = field(default=0.0, metadata={"help": "cw: confidence margin in logits", "min": 0})
    lr: float = field(default=0.01, metadata={"help": "cw: Adam learning rate", "min": 0})
    overshoot: float = field(default=0.02, metadata={"help": "deepfool: overshoot of each step", "min": 0})
    candidates: int = field(default=10, metadata={
        "help": "deepfool: classes considered (the clean image's top ones; the paper's 10)", "min": 2})
    seed: int = field(default=0, metadata={"help": "random seed", "min": 0})

    def validate(self) -> None:
        super().validate()
        check_choice("attack", self.attack, ATTACKS)
        check_choice("norm", self.norm, NORMS)
        if self.attack == "fgsm" and self.norm != "linf":
            raise SettingError("norm", "must be linf for fgsm (use pgd for an L2 budget)")
        if self.steps is not None:
            check_count("steps", self.steps)
        if self.alpha is not None:
            check_number("alpha", self.alpha, lo=0, lo_open=True)
        check_count("restarts", self.restarts)
        check_bool("random_start", self.random_start)
        if self.restarts > 1 and not self.random_start:
            raise SettingError("restarts", "needs random_start: restarts from the same start repeat the same attack")
        check_number("c", self.c, lo=0, lo_open=True)
        check_number("kappa", self.kappa, lo=0)
        check_number("lr", self.lr, lo=0, lo_open=True)
        check_number("overshoot", self.overshoot, lo=0)
        check_count("candidates", self.candidates, lo=2)
        check_seed("seed", self.seed)

    @property
    def n_steps(self) -> int:
        """The iterations the attack takes (fgsm: always one)."""
        if self.attack == "fgsm" or self.steps is None:
            return DEFAULT_STEPS[self.attack]
        return self.steps


@dataclass(kw_only=True)
class AttackSettings(_AttackOptions):
    """`vislab attack`: adversarial versions of images (their 224 px classifier view), saved as 8-bit PNGs."""

    images: list[str] = field(metadata={
        "help": "image files, or sample:NAME for a built-in photo", "metavar": "IMAGE", "input": "images"})
    eps: float | None = field(default=None, metadata={
        "help": f"fgsm/pgd budget. {EPS_HELP}. Default 8 (linf) / 0.5 (l2)", "metavar": "EPS", "min": 0})
    target: str | int | None = field(default=None, metadata={
        "help": "class name or index to reach (targeted attack; not deepfool); default: untargeted, away from "
                "each image's clean prediction", "metavar": "CLASS", "input": "class"})
    early_stop: bool = field(default=False, metadata={
        "help": "pgd: stop stepping an image once it is fooled (smaller changes, faster)"})

    def validate(self) -> None:
        super().validate()
        check_texts("images", self.images)
        if self.eps is not None:
            check_eps("eps", self.eps, self.norm)
        check_class("target", self.target, optional=True)
        if self.target is not None and self.attack == "deepfool":
            raise SettingError("target", "is not supported by deepfool (untargeted only); use pgd or cw")
        check_bool("early_stop", self.early_stop)

    @property
    def budget(self) -> float:
        """eps in the settings' units, its default filled in."""
        return self.eps if self.eps is not None else DEFAULT_EPS[self.norm]


@dataclass(kw_only=True)
class RobustnessSettings(_AttackOptions):
    """`vislab robustness`: accuracy under attack for each budget in `eps`, on a labelled folder of images."""

    folder: str = field(default="", metadata={
        "help": "folder of images; labels from its labels.json ({\"images/x.png\": class index}) when present, "
                "else each image's clean prediction (then clean accuracy is 1 by definition)",
        "metavar": "FOLDER", "input": "folder", "page": False, "optional": True})
    images: tuple[str, ...] = field(default=(), metadata={
        "help": "image files or sample:NAME, comma-separated, instead of a folder (then FOLDER is ''; what the web "
                "page attacks); no labels: each image's label is its clean prediction (clean accuracy is 1 by "
                "definition, not a measured accuracy)", "metavar": "IMAGE,IMAGE", "input": "images"})
    eps: tuple[float, ...] = field(default=(0.0, 1.0, 2.0, 4.0, 8.0), metadata={
        "help": f"budgets, comma-separated. {EPS_HELP}. cw/deepfool: an image counts as robust at eps when the "
                "smallest change found is larger (L2)", "metavar": "EPS,EPS"})
    early_stop: bool = field(default=True, metadata={
        "help": "pgd: stop stepping an image once it is fooled (the accuracy is the same or lower; much faster)"})
    limit: int | None = field(default=None, metadata={"help": "use at most this many images (sorted by name)",
                                                      "min": 1})
    batch_size: int = field(default=8, metadata={"help": "images attacked together", "min": 1})
    resume: bool = field(default=False, metadata={
        "help": "continue the robustness run in --out: the budgets it finished are kept, the others run",
        "page": False})

    def validate(self) -> None:
        super().validate()
        if self.folder and self.images:
            raise SettingError("images", "cannot be given with folder: the images to attack are one or the other")
        if not self.folder and not self.images:
            raise SettingError("folder", "must be given (a folder of images), or images (files or sample:NAME)")
        if self.folder:
            check_text("folder", self.folder)
        else:
            check_texts("images", self.images)
        check_bool("resume", self.resume)
        if isinstance(self.eps, (str, bytes)) or not hasattr(self.eps, "__len__") or not len(self.eps):
            raise SettingError("eps", f"must be a non-empty list of budgets, got {self.eps!r}")
        norm = self.norm if self.attack in BUDGET_ATTACKS else "l2"
        for e in self.eps:
            check_eps("eps", e, norm)
        if len(set(self.eps)) != len(self.eps):
            raise SettingError("eps", f"lists a budget twice: {', '.join(map(str, self.eps))}")
        check_bool("early_stop", self.early_stop)
        if self.limit is not None:
            check_count("limit", self.limit)
        check_count("batch_size", self.batch_size)

    @property
    def curve_norm(self) -> str:
        """The norm the eps list is in: `norm` for fgsm/pgd, L2 for the smallest-change attacks."""
        return self.norm if self.attack in BUDGET_ATTACKS else "l2"
