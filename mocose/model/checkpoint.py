"""Saving and loading without pickle: tensors in safetensors, everything else in JSON.

- A *model folder* is a plain Hugging Face encoder folder (``AutoModel.from_pretrained`` loads
  it, so SimCSE's, SentEval's and sentence-transformers' scripts can evaluate it), plus
  ``heads.safetensors`` (pooler, projection, predictor or SimCSE's MLP) and ``mocose_config.json``.
  It also carries the sentence-transformers files (``modules.json``, ``1_Pooling/config.json``
  declaring the [CLS] token, ``sentence_bert_config.json``), so that
  ``SentenceTransformer(folder).encode(s)`` gives the paper's ``cls_before_pooler`` embedding
  rather than sentence-transformers' default mean pooling.
- A *training state* is any nested dict/list of tensors and JSON values (model, optimizer, RNG
  states, counters), split into ``NAME.safetensors`` and ``NAME.json``.

Reading either checks it first (:func:`model_folder_problem`, :func:`load_tree`): a missing,
empty or truncated file is refused with one line naming the folder and the file.

Both are written to a temporary folder and renamed into place, so a kill leaves the old copy or
the new one, never half of one.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..data import DataError
from .interface import ContrastiveModel

CONFIG_FILE = "mocose_config.json"
HEADS_FILE = "heads.safetensors"
_TENSOR = "__tensor__"
# sentence-transformers' files (its documented folder layout, read by SentenceTransformer(path)).
ST_MODULES = "modules.json"
ST_POOLING_DIR = "1_Pooling"
ST_CONFIG = "sentence_bert_config.json"
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")


class CheckpointError(DataError):
    """A model folder or training state is missing, incomplete or damaged; the message names the
    folder and the file (a DataError, so the command line answers it in one line, exit 2)."""


def safetensors_problem(path: Path) -> str | None:
    """None when ``path`` is a whole safetensors file; else what is wrong with it. Reads only the
    header: the file must be as long as the header's last tensor says (a cut copy is shorter)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                return "empty" if size == 0 else "truncated (no header)"
            (length,) = struct.unpack("<Q", head)
            if length > size - 8:
                return "truncated (header cut)"
            header = json.loads(f.read(length))
    except FileNotFoundError:
        return "missing"
    except (OSError, ValueError) as err:
        return f"unreadable ({err})"
    if not isinstance(header, dict):
        return "not a safetensors file"
    ends = [v["data_offsets"][1] for k, v in header.items()
            if k != "__metadata__" and isinstance(v, dict) and "data_offsets" in v]
    if size < 8 + length + max(ends, default=0):
        return f"truncated ({size} bytes, the header needs {8 + length + max(ends)})"
    return None


def quiet_transformers() -> None:
    """Silence transformers' per-file loading/saving bars: the suite shows its own progress."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


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


def read_tree_json(folder: Path, name: str) -> Any:
    """The JSON half of a saved tree (tensors left as references): cheap, for checks before a load."""
    path = Path(folder) / f"{name}.json"
    if not path.is_file():
        raise CheckpointError(f"{folder}: {path.name} is missing")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is damaged (not valid JSON: {err})") from None


def load_tree(folder: Path, name: str, device: str = "cpu") -> Any:
    """A tree saved by :func:`save_tree`; a missing or damaged half raises CheckpointError."""
    folder = Path(folder)
    structure = read_tree_json(folder, name)
    tensors_path = folder / f"{name}.safetensors"
    problem = safetensors_problem(tensors_path)
    if problem:
        raise CheckpointError(f"{folder}: {tensors_path.name} is {problem}")
    tensors = load_file(str(tensors_path), device=device)
    try:
        return _join(structure, tensors)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{folder}: {name}.json does not match {tensors_path.name} ({err!r})") from None


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


def recover_folder(target: Path) -> None:
    """Undo what a kill inside :func:`replace_folder` left: when ``target`` is gone but its old
    copy was already moved aside, put the old copy back; delete half-built temporary folders."""
    target = Path(target)
    if not target.parent.is_dir():
        return
    olds = sorted(target.parent.glob(f".{target.name}-old-*"), key=lambda p: p.stat().st_mtime)
    if not target.exists() and olds:
        os.replace(olds.pop(), target)
    for leftover in [*olds, *target.parent.glob(f".{target.name}-*")]:
        if leftover.is_dir() and leftover != target:
            shutil.rmtree(leftover, ignore_errors=True)


# -- model folders -------------------------------------------------------------------------------
def sentence_transformers_files(folder: Path, hidden_size: int, max_length: int) -> None:
    """Write sentence-transformers' module files declaring [CLS] pooling (the suite's
    ``cls_before_pooler``) into the Hugging Face folder ``folder``. The old-style Pooling keys are
    read by sentence-transformers 6.2 (tested) and its predecessors."""
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": ST_POOLING_DIR, "type": "sentence_transformers.models.Pooling"}]
    (folder / ST_MODULES).write_text(json.dumps(modules, indent=2))
    (folder / ST_POOLING_DIR).mkdir(exist_ok=True)
    pooling = {"word_embedding_dimension": hidden_size, "pooling_mode_cls_token": True,
               "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": False,
               "pooling_mode_mean_sqrt_len_tokens": False}
    (folder / ST_POOLING_DIR / "config.json").write_text(json.dumps(pooling, indent=2))
    (folder / ST_CONFIG).write_text(json.dumps({"max_seq_length": max_length, "do_lower_case": False}, indent=2))


def declared_pooler(folder: str | os.PathLike) -> str | None:
    """The suite's pooler for the pooling a sentence-transformers folder declares (its first Pooling
    module): [CLS] -> cls_before_pooler, mean -> avg; None when the folder declares none or one the
    suite has no equivalent for (max, weighted mean, last token)."""
    folder = Path(folder)
    try:
        modules = json.loads((folder / ST_MODULES).read_text())
        path = next(m["path"] for m in modules if str(m.get("type", "")).endswith("Pooling"))
        config = json.loads((folder / path / "config.json").read_text())
    except (OSError, ValueError, StopIteration, KeyError, TypeError):
        return None
    modes = config.get("pooling_mode")  # sentence-transformers >= 6: "cls" / "mean" / a list
    if modes is not None:
        modes = {modes} if isinstance(modes, str) else set(modes)
    else:
        modes = {name for name, key in (("cls", "pooling_mode_cls_token"), ("mean", "pooling_mode_mean_tokens"),
                                        ("max", "pooling_mode_max_tokens"),
                                        ("mean_sqrt_len_tokens", "pooling_mode_mean_sqrt_len_tokens"),
                                        ("weightedmean", "pooling_mode_weightedmean_tokens"),
                                        ("lasttoken", "pooling_mode_lasttoken")) if config.get(key)}
    return {frozenset({"cls"}): "cls_before_pooler", frozenset({"mean"}): "avg"}.get(frozenset(modes))


def model_folder_problem(folder: Path) -> str | None:
    """None when ``folder`` holds a loadable Hugging Face encoder; else what is missing or broken
    (checked from file headers only, so it is cheap)."""
    folder = Path(folder)
    if not folder.is_dir():
        return "no such folder" if not folder.exists() else "not a folder"
    if not any(folder.iterdir()):
        return "the folder is empty"
    config = folder / "config.json"
    if not config.is_file():
        return "config.json is missing (not a Hugging Face model folder)"
    try:
        json.loads(config.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        return f"config.json is damaged ({err})"
    present = [name for name in WEIGHT_FILES if (folder / name).is_file()]
    if not present:
        return f"no weights ({' or '.join(WEIGHT_FILES[::2])} is missing)"
    if present[0] == "model.safetensors":
        problem = safetensors_problem(folder / "model.safetensors")
        if problem:
            return f"model.safetensors is {problem}"
    elif present[0] == "pytorch_model.bin" and (folder / "pytorch_model.bin").stat().st_size == 0:
        return "pytorch_model.bin is empty"
    heads = folder / HEADS_FILE
    if heads.exists():
        problem = safetensors_problem(heads)
        if problem:
            return f"{HEADS_FILE} is {problem}"
    return None


def check_model_folder(folder: Path) -> None:
    """Raise CheckpointError naming ``folder`` and what is wrong, if anything."""
    problem = model_folder_problem(folder)
    if problem:
        raise CheckpointError(f"model folder {folder}: {problem}")


def save_model_folder(model: ContrastiveModel, tokenizer, config_dict: dict, target: Path,
                      extra: dict | None = None) -> Path:
    """Write the online encoder as a Hugging Face folder (with the sentence-transformers files),
    the heads and the suite's config."""
    quiet_transformers()
    encoder = model.embedding_encoder()
    # The evaluation's truncation length (SentenceEncoder.max_length), not training's max_length.
    limits = [getattr(tokenizer, "model_max_length", None), encoder.config.max_position_embeddings]
    eval_length = min(int(x) for x in limits if isinstance(x, (int, float)) and 0 < x < 1e9)

    def build(tmp: Path) -> None:
        encoder.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        heads = {k: v.detach().cpu().contiguous().clone() for k, v in model.heads_state().items()}
        if heads:
            save_file(heads, str(tmp / HEADS_FILE))
        sentence_transformers_files(tmp, encoder.config.hidden_size, eval_length)
        (tmp / CONFIG_FILE).write_text(json.dumps({"config": config_dict, **(extra or {})}, indent=2))

    return replace_folder(build, target)


def load_model_folder(folder: Path):
    """(encoder, tokenizer, suite metadata, heads state) of a saved model folder."""
    from transformers import AutoModel, AutoTokenizer

    folder = Path(folder)
    check_model_folder(folder)
    meta = json.loads((folder / CONFIG_FILE).read_text()) if (folder / CONFIG_FILE).is_file() else {}
    heads = load_file(str(folder / HEADS_FILE)) if (folder / HEADS_FILE).is_file() else {}
    return AutoModel.from_pretrained(folder), AutoTokenizer.from_pretrained(folder), meta, heads
