"""ImageNet class names and lookup of a class by index or (fuzzy) name.

`imagenet_classes.txt` holds the 1000 ILSVRC-2012 classes in the standard index order, one per line:
``wnid<TAB>comma-separated WordNet synonyms`` (the lemma list distributed with timm, Apache-2.0).
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from importlib import resources

from ..errors import ClassNameError


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[str, ...]:
    """The 1000 ImageNet class names, each its comma-separated synonyms (``"tabby, tabby cat"``)."""
    text = resources.files(__package__).joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    return tuple(line.split("\t", 1)[1] for line in text.splitlines() if line.strip())


def short_name(full: str) -> str:
    """The first synonym: ``"tabby, tabby cat"`` -> ``"tabby"``."""
    return full.split(",")[0].strip()


def _norm(s: str) -> str:
    return " ".join(s.replace("_", " ").replace("-", " ").lower().split())


def find_class(classes: tuple[str, ...] | list[str], query: str | int) -> int:
    """Index of the class given by index (int or digit string) or name (any synonym, case-insensitive).

    Raises `ClassNameError` for an index out of range, an unknown name (listing the closest names) or a name that
    several classes share (listing them with their indices).
    """
    n = len(classes)
    if isinstance(query, int) or (isinstance(query, str) and query.strip().lstrip("-").isdigit()):
        i = int(query)
        if not 0 <= i < n:
            raise ClassNameError(f"class index {i} is out of range: this model has classes 0..{n - 1}")
        return i
    q = _norm(str(query))
    if not q:
        raise ClassNameError("empty class name")
    exact = [i for i, c in enumerate(classes) if _norm(c) == q]
    if len(exact) == 1:
        return exact[0]
    hits = [i for i, c in enumerate(classes) if q in (_norm(s) for s in c.split(","))]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        options = "; ".join(f"{i} ({classes[i]})" for i in hits)
        raise ClassNameError(f"class name {query!r} is ambiguous: it names {options}; give the index instead")
    synonyms = {_norm(s): i for i, c in enumerate(classes) for s in c.split(",")}
    close = difflib.get_close_matches(q, list(synonyms), n=5, cutoff=0.6)
    if not close:
        close = [s for s in synonyms if q in s][:5]
    hint = ", ".join(f"{s!r} ({synonyms[s]})" for s in close) if close else "none close"
    raise ClassNameError(f"unknown class name {query!r}; closest matches: {hint}")
