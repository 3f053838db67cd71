"""Devices and numeric precision: one place that turns a user's device string into the device
every part of the suite uses, and that applies a run's precision and determinism settings.

A device string is normalised once, where it enters (the command line, the public functions):
``cpu`` stays ``cpu``; ``cuda`` becomes ``cuda:N`` for the current CUDA device; ``cuda:N`` is kept
when that GPU exists. Anything else, or a ``cuda`` device on a machine without CUDA, is a
:class:`~mocose.config.ConfigError` (exit 2 on the command line) before any work starts. Training,
evaluation, analysis and the runner all pass the normalised string on, so a model placed on
``cuda:0`` is evaluated on ``cuda:0``.
"""
from __future__ import annotations

import contextlib
import os
import re
from typing import Any

from .config import ConfigError

DEVICE_HELP = "'cpu', 'cuda' (the current CUDA device) or 'cuda:N'"
# cuBLAS needs a fixed workspace to give the same sums every run (PyTorch's reproducibility notes).
CUBLAS_WORKSPACE = ":4096:8"


def parse_device(text: Any) -> tuple[str, int | None]:
    """('cpu', None), ('cuda', None) for the current GPU, or ('cuda', N); ConfigError otherwise."""
    value = str(text if text is not None else "cpu").strip().lower()
    if value == "cpu":
        return "cpu", None
    m = re.fullmatch(r"cuda(?::(\d+))?", value)
    if not m:
        raise ConfigError(f"device={text!r} is not allowed: device must be {DEVICE_HELP}")
    return "cuda", None if m.group(1) is None else int(m.group(1))


def cuda_count() -> int:
    """GPUs this process sees (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def check_cuda(asked: str, index: int | None = None) -> int:
    """Raise ConfigError unless CUDA (and GPU ``index``) exists here; returns the GPU count."""
    count = cuda_count()
    if count == 0:
        import torch

        build = f"torch {torch.__version__}" + ("" if torch.version.cuda else ", a build without CUDA")
        raise ConfigError(f"device={asked!r} asks for CUDA, but no CUDA GPU is available here ({build}); "
                          "use the device 'cpu' instead")
    if index is not None and index >= count:
        raise ConfigError(f"device={asked!r}: there is no GPU {index} here ({count} visible: "
                          f"cuda:0..cuda:{count - 1})")
    return count


def resolve_device(text: Any = None) -> str:
    """The normalised device: 'cpu' or 'cuda:N' (``None``: :func:`default_device`)."""
    if text is None:
        return default_device()
    kind, index = parse_device(text)
    if kind == "cpu":
        return "cpu"
    check_cuda(str(text), index)
    if index is None:
        import torch

        index = torch.cuda.current_device()
    return f"cuda:{index}"


def default_device() -> str:
    """The current CUDA device when there is one, else 'cpu'."""
    return resolve_device("cuda") if cuda_count() else "cpu"


# -- precision and determinism -------------------------------------------------------------------
def set_deterministic(on: bool) -> None:
    """Deterministic kernels (or not) for this process; on CUDA this needs cuBLAS's fixed workspace,
    which is read when cuBLAS starts, so it is set here before any GPU work."""
    import torch

    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.use_deterministic_algorithms(on)
    torch.backends.cudnn.deterministic = on
    torch.backends.cudnn.benchmark = False


def set_matmul_precision(precision: str) -> None:
    """float32 matmuls at ``precision``: 'highest' (true float32, the paper's) or 'high' (TF32)."""
    import torch

    torch.set_float32_matmul_precision(precision)


def autocast(device: str, dtype: str) -> contextlib.AbstractContextManager:
    """A context that runs the encoder passes in ``dtype`` ('bf16') or changes nothing ('none')."""
    if dtype == "none":
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)


def precision_record(config: Any) -> dict[str, str]:
    """What a result says about its arithmetic."""
    return {"matmul_precision": config.train.matmul_precision, "autocast": config.train.autocast}
