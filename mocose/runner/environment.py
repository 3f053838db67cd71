"""The environment behind a run's numbers: the accelerator (model, count, driver, CUDA), the
library versions and commit, and the md5 of every data file the run read. Each result records
it; the report names the environments of each table and flags a cell whose seeds came from
different ones (docs/results.md, "The environment of a run")."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, Mapping

# What makes two environments different for the report: a difference elsewhere (the host, a
# data file's path) is not a different environment; a data file's md5 is.
KEY_FIELDS = ("gpu", "cuda", "torch", "transformers", "mocose")


def accelerator() -> dict[str, Any]:
    """GPU model and count, driver and CUDA versions (``gpu`` "none" and count 0 on a CPU)."""
    import torch

    out: dict[str, Any] = {"gpu": "none", "gpu_count": 0, "driver": None,
                           "cuda": torch.version.cuda, "cudnn": None}
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        out.update(gpu=torch.cuda.get_device_name(0), gpu_count=count,
                   cudnn=torch.backends.cudnn.version())
        if shutil.which("nvidia-smi"):
            try:
                done = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                      capture_output=True, text=True, timeout=10)
                out["driver"] = done.stdout.strip().splitlines()[0] if done.returncode == 0 else None
            except (OSError, subprocess.SubprocessError, IndexError):
                pass
    return out


def environment(versions: Mapping[str, Any], commit: str | None, data_files: Mapping[str, str],
                data_dir: str | Path | None = None) -> dict[str, Any]:
    """A run's environment: :func:`accelerator`, the library ``versions`` and ``commit``, and
    ``data_files`` ({path: md5}) keyed by their path inside ``data_dir`` where they lie in it."""
    root = Path(data_dir).resolve() if data_dir else None

    def name(path: str) -> str:
        p = Path(path)
        if root is not None and p.is_relative_to(root):
            return p.relative_to(root).as_posix()
        return path

    return {**accelerator(), "versions": dict(versions), "commit": commit,
            "data": {name(p): md5 for p, md5 in data_files.items()}}


def environment_key(env: Mapping[str, Any] | None) -> str:
    """The environment in words, as the report compares them (KEY_FIELDS and the data's md5s):
    e.g. "cpu / torch 2.13.0 / transformers 5.17.0 / mocose 0.1.0"."""
    if not env:
        return "not recorded"
    versions = env.get("versions") or {}
    parts = ["cpu" if env.get("gpu") in (None, "none") else f"{env.get('gpu_count', 1)}x {env['gpu']}"]
    if env.get("gpu") not in (None, "none") and env.get("cuda"):
        parts.append(f"CUDA {env['cuda']}")
    parts += [f"{lib} {versions[lib]}" for lib in ("torch", "transformers", "mocose") if versions.get(lib)]
    data = env.get("data") or {}
    if data:
        import hashlib

        blob = "".join(f"{k}={v};" for k, v in sorted(data.items()))
        parts.append(f"data {hashlib.md5(blob.encode()).hexdigest()[:8]}")
    return " / ".join(parts)
