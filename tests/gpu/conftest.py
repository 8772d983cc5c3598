"""tests/gpu: every job on a GPU against its CPU result (skipped, module by module, where there is no GPU).

Run them with ``make gpu-check`` (which also runs bench/gpu.py) or ``pytest -q -m gpu tests/gpu``. The device
under test is ``cuda`` unless ``VISLAB_GPU_TEST_DEVICE`` names another (``cpu`` dry-runs the comparisons on a
machine without a GPU: each job then runs twice on the CPU, which checks the harness, not the GPU).
"""

from __future__ import annotations

import os

# cuBLAS reads its workspace setting when it makes its first handle: set it before anything touches CUDA, so the
# deterministic-resume tests can be bitwise (the other tests are unaffected: it only fixes the workspace).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import pytest  # noqa: E402
import torch  # noqa: E402

DEVICE = os.environ.get("VISLAB_GPU_TEST_DEVICE", "cuda")


def device_available(name: str = DEVICE) -> bool:
    if name == "cpu":
        return True
    if name.startswith("cuda"):
        return torch.cuda.is_available()
    return name == "mps" and torch.backends.mps.is_available()


def skip_without_device() -> None:
    """Skip the calling test module where the device under test is missing (CI, laptops)."""
    if not device_available():
        pytest.skip(f"no {DEVICE} device: tests/gpu runs where a GPU is (make gpu-check)", allow_module_level=True)


def gpu_count() -> int:
    return torch.cuda.device_count() if DEVICE.startswith("cuda") and torch.cuda.is_available() else 0
