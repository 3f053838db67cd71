"""Saving and loading without pickle: tensors in safetensors, everything else in JSON.

- A *model folder* is a plain Hugging Face encoder folder (``AutoModel.from_pretrained`` loads
  it, so SimCSE's, SentEval's and sentence-transformers' scripts can evaluate it), plus
  ``heads.safetensors`` (pooler, projection, predictor or SimCSE's MLP) and ``mocose_config.json``.
- A *training state* is any nested dict/list of tensors and JSON values (model, optimizer, RNG
  states, counters), split into ``NAME.safetensors`` and ``NAME.json``.

Both are written to a temporary folder and renamed into place, so a kill leaves the old copy or
the new one, never half of one.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

CONFIG_FILE = "mocose_config.json"
HEADS_FILE = "heads.safetensors"
_TENSOR = "__tensor__"


# -- nested trees of tensors and JSON values ------------------------------------------------------
def _split(tree: Any, tensors: dict[str, torch.Tensor], prefix: str) -> Any:
    if isinstance(tree, torch.Tensor):
        key = prefix or "root"
        tensors[key] = tree.detach().cpu().contiguous().clone()  # clone: no shared storage
        return {_TENSOR: key}
    if isinstance(tree, dict):
        if not all(isinstance(k, (str, int)) for k in tree):
            raise TypeError(f"keys at {prefix!r} must be str or int")
        return {"__dict__": [[k, _split(v, tensors, f"{prefix}.{k}" if prefix else str(k))]
                             for k, v in tree.items()]}
    if isinstance(tree, (list, tuple)):
        return [_split(v, tensors, f"{prefix}.{i}") for i, v in enumerate(tree)]
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    raise TypeError(f"cannot save {type(tree).__name__} at {prefix!r} without pickle")


def _join(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(tree, dict):
        if _TENSOR in tree:
            return tensors[tree[_TENSOR]]
        return {k: _join(v, tensors) for k, v in tree["__dict__"]}
    if isinstance(tree, list):
        return [_join(v, tensors) for v in tree]
    return tree


def save_tree(folder: Path, name: str, tree: Any) -> None:
    tensors: dict[str, torch.Tensor] = {}
    structure = _split(tree, tensors, "")
    save_file(tensors, str(folder / f"{name}.safetensors"))
    (folder / f"{name}.json").write_text(json.dumps(structure))


def load_tree(folder: Path, name: str, device: str = "cpu") -> Any:
    tensors = load_file(str(folder / f"{name}.safetensors"), device=device)
    return _join(json.loads((folder / f"{name}.json").read_text()), tensors)


def replace_folder(build, target: Path) -> Path:
    """Call ``build(tmp_folder)`` and atomically put the result at ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        build(tmp)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}-old-{os.getpid()}")
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


# -- model folders -------------------------------------------------------------------------------
def heads_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The trained heads (everything but the encoders and the queue), by module name."""
    names = ("pooler", "projection", "predictor", "mlp")
    return {f"{n}.{k}": v for n in names if hasattr(model, n)
            for k, v in getattr(model, n).state_dict().items()}


def save_model_folder(model: torch.nn.Module, tokenizer, config_dict: dict, target: Path,
                      extra: dict | None = None) -> Path:
    """Write the online encoder as a Hugging Face folder, the heads and the suite's config."""
    from .encoders import quiet_transformers

    quiet_transformers()
    encoder = model.embedding_encoder()

    def build(tmp: Path) -> None:
        encoder.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        heads = {k: v.detach().cpu().contiguous().clone() for k, v in heads_state(model).items()}
        if heads:
            save_file(heads, str(tmp / HEADS_FILE))
        (tmp / CONFIG_FILE).write_text(json.dumps({"config": config_dict, **(extra or {})}, indent=2))

    return replace_folder(build, target)


def load_model_folder(folder: Path):
    """(encoder, tokenizer, suite metadata, heads state) of a saved model folder."""
    from transformers import AutoModel, AutoTokenizer

    folder = Path(folder)
    meta = json.loads((folder / CONFIG_FILE).read_text()) if (folder / CONFIG_FILE).is_file() else {}
    heads = load_file(str(folder / HEADS_FILE)) if (folder / HEADS_FILE).is_file() else {}
    return AutoModel.from_pretrained(folder), AutoTokenizer.from_pretrained(folder), meta, heads
