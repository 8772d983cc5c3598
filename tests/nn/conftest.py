"""One BLAS thread for these tests: their matrices are tiny, and OpenBLAS's thread hand-offs on a shared
2-core machine cost far more than the arithmetic (30x slower measured)."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield
