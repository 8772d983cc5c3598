"""Tables of attack results as CSV (atomic)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..fileio import write_text


def write_csv(path: str | os.PathLike, rows: Sequence[dict[str, Any]]) -> Path:
    """`rows` (dicts with the same keys) as a CSV file with a header line."""
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    write_text(path, buf.getvalue())
    return Path(path)
