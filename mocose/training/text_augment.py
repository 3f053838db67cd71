"""Text-level augmentations (docs/model.md, Augmentations; config field ``text_augment``).

In the authors' code a text augmentation rewrites the sentence the *target* branch reads; the
online branch reads the original. :func:`build_text_augmenter` returns a callable
``list[str] -> list[str]`` (same length, same order) for the trainer to apply to a batch before
tokenising the target's input, or None for ``none``.

- ``typos``: keyboard-neighbour substitutions and adjacent-character swaps, written here so the
  row runs offline with no model and no nlpaug. It *stands in* for what the authors ran,
  ``nlpaug.augmenter.word.SpellingAug()``, which swaps whole words for natural misspellings from
  a dictionary (``res/word/spelling/spelling_en.txt``, shipped inside the nlpaug wheel). The noise
  differs, so a ``typos`` result is not the paper's Typos row; ``spelling`` (below) is.
  Parameters follow nlpaug's character augmenters' defaults: 30% of the words of at least 4
  letters (at least 1, at most 10 words), one edit per chosen word. Each sentence's edits are
  drawn from a generator seeded by (seed, sentence): the same seed gives the same output
  whatever the batch, and a resumed run repeats nothing it should not (the paper trains one epoch).
- ``spelling``: the authors' SpellingAug itself (needs nlpaug, no model). Not yet a value of
  ``mocose.config.TEXT_AUGMENTS``; available here for when the config admits it.
- ``synonym``: ``ContextualWordEmbsAug(model_path="roberta-base", action="insert")``. The paper
  calls the row "synonym replace", but the authors' code *inserts* words roberta-base predicts;
  we follow the code.
- ``paraphrase``: ``ContextualWordEmbsForSentenceAug(model_path="xlnet-base-cased")``.
- ``back_translation``: ``BackTranslationAug(facebook/wmt19-en-de, facebook/wmt19-de-en)``.

The model-based ones need nlpaug (the optional extra ``text-aug``) and the weights in the local
Hugging Face cache. :func:`check_text_augment_available` says what is missing, naming each model
and how to get it, before training starts; nothing falls back silently. nlpaug draws from the
global ``random``/``numpy``/``torch`` generators; the wrapper here runs it on its own seeded states
so it neither disturbs training's randomness nor depends on it.
"""
from __future__ import annotations

import contextlib
import importlib.util
import random
import re
from pathlib import Path
from typing import Callable, Iterator

from ..model.encoders import EncoderUnavailable

TextAugmenter = Callable[[list[str]], list[str]]

OFFLINE = ("none", "typos")
NLPAUG_ONLY = ("spelling",)
# name -> Hugging Face models it loads, in the order nlpaug loads them
MODELS: dict[str, tuple[str, ...]] = {
    "synonym": ("roberta-base",),
    "paraphrase": ("xlnet-base-cased",),
    "back_translation": ("facebook/wmt19-en-de", "facebook/wmt19-de-en"),
}
KNOWN = OFFLINE + NLPAUG_ONLY + tuple(MODELS)

# files that must be in the cache for a model to load: each tuple is "any one of these"
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
_MODEL_FILES: dict[str, tuple[tuple[str, ...], ...]] = {
    "roberta-base": (("config.json",), _WEIGHTS, ("vocab.json", "tokenizer.json")),
    "xlnet-base-cased": (("config.json",), _WEIGHTS, ("spiece.model", "tokenizer.json")),
    "facebook/wmt19-en-de": (("config.json",), _WEIGHTS, ("vocab-src.json",)),
    "facebook/wmt19-de-en": (("config.json",), _WEIGHTS, ("vocab-src.json",)),
}

PIP_HINT = "pip install -e '.[text-aug]' (or: pip install 'nlpaug>=1.1.11')"


class TextAugmentUnavailable(EncoderUnavailable):
    """A text augmentation cannot run here: nlpaug or a model it needs is missing."""


# -- availability ----------------------------------------------------------------------------------
def _known(name: str) -> None:
    if name not in KNOWN:
        raise ValueError(f"text_augment={name!r} is not allowed: text_augment must be one of "
                         + ", ".join(KNOWN))


def missing_models(name: str, cache_dir: str | Path | None = None) -> list[str]:
    """The models augmentation ``name`` needs that are not complete in the local HF cache."""
    _known(name)
    from huggingface_hub import try_to_load_from_cache

    missing = []
    for model in MODELS.get(name, ()):
        for choices in _MODEL_FILES[model]:
            found = any(isinstance(try_to_load_from_cache(model, f, cache_dir=cache_dir), str)
                        for f in choices)
            if not found:
                missing.append(model)
                break
    return missing


def nlpaug_installed() -> bool:
    return importlib.util.find_spec("nlpaug") is not None


def check_text_augment_available(name: str, cache_dir: str | Path | None = None) -> None:
    """Raise :class:`TextAugmentUnavailable` naming everything ``name`` lacks here, and how to get it.

    ``cache_dir``: the Hugging Face hub cache to look in (default: the one ``HF_HUB_CACHE`` /
    ``HF_HOME`` select, as ``from_pretrained`` would).
    """
    _known(name)
    if name in OFFLINE:
        return
    problems = []
    if not nlpaug_installed():
        problems.append(f"the Python package nlpaug is not installed: {PIP_HINT}")
    for model in missing_models(name, cache_dir):
        problems.append(
            f"the model {model!r} is not in the local Hugging Face cache"
            f"{f' ({cache_dir})' if cache_dir else ''}: download it once with "
            f"`hf download {model}` or "
            f"`python -c \"from huggingface_hub import snapshot_download; snapshot_download('{model}')\"`")
    if problems:
        raise TextAugmentUnavailable(
            f"text_augment={name!r} cannot run here (it will not fall back to anything else): "
            + "; ".join(problems))


# -- typos: offline keyboard and swap noise -------------------------------------------------------
_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard_neighbours() -> dict[str, str]:
    """QWERTY neighbours: left/right on the row, and the touching keys of the rows above/below
    (the rows are staggered: key i of a row touches keys i and i+1 of the row above, i-1 and i of
    the row below)."""
    out: dict[str, str] = {}
    for r, row in enumerate(_ROWS):
        for i, key in enumerate(row):
            near = [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
            if r > 0:
                near += [_ROWS[r - 1][j] for j in (i, i + 1) if 0 <= j < len(_ROWS[r - 1])]
            if r + 1 < len(_ROWS):
                near += [_ROWS[r + 1][j] for j in (i - 1, i) if 0 <= j < len(_ROWS[r + 1])]
            out[key] = "".join(near)
    return out


KEYBOARD = _keyboard_neighbours()
_TOKEN = re.compile(r"\S+")


class KeyboardTypos:
    """Seeded keyboard-neighbour substitutions and adjacent-letter swaps (the offline ``typos``).

    Never deletes or inserts characters, so a non-empty sentence stays non-empty and any sentence
    with a letter or digit changes.
    """

    def __init__(self, seed: int, word_p: float = 0.3, min_word: int = 1, max_word: int = 10,
                 min_chars: int = 4, swap_p: float = 0.5) -> None:
        self.seed, self.word_p, self.min_word, self.max_word = seed, word_p, min_word, max_word
        self.min_chars, self.swap_p = min_chars, swap_p

    def __call__(self, sentences: list[str]) -> list[str]:
        return [self.augment(s) for s in sentences]

    def augment(self, sentence: str) -> str:
        rng = random.Random(f"{self.seed}\x00{sentence}")  # str seeds hash by sha512: stable
        words = [(m.start(), m.end()) for m in _TOKEN.finditer(sentence)]

        def editable(span: tuple[int, int]) -> list[int]:
            return [i for i in range(*span) if sentence[i].lower() in KEYBOARD]

        spans = [w for w in words if len(editable(w)) >= self.min_chars]
        if not spans:  # short sentences: any word with something to edit
            spans = [w for w in words if editable(w)]
        if not spans:
            return sentence
        n = max(self.min_word, min(self.max_word, int(len(spans) * self.word_p)))
        chars = list(sentence)
        for span in rng.sample(spans, min(n, len(spans))):
            self._edit(chars, editable(span), rng)
        return "".join(chars)

    def _edit(self, chars: list[str], positions: list[int], rng: random.Random) -> None:
        swaps = [i for i, j in zip(positions, positions[1:])
                 if j == i + 1 and chars[i].lower() != chars[j].lower()]
        if swaps and rng.random() < self.swap_p:
            i = rng.choice(swaps)
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
            return
        i = rng.choice(positions)
        new = rng.choice(KEYBOARD[chars[i].lower()])
        chars[i] = new.upper() if chars[i].isupper() else new


# -- nlpaug-backed ----------------------------------------------------------------------------------
class _IsolatedRandomness:
    """Own seeded states of ``random``, ``numpy`` and ``torch``, swapped in around each call."""

    def __init__(self, seed: int) -> None:
        import numpy as np

        self.seed = seed
        self.py = random.Random(seed).getstate()
        self.np = np.random.RandomState(seed % 2**32).get_state()
        self.torch_cpu = None
        self.torch_cuda = None

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        import numpy as np
        import torch

        py_saved, np_saved = random.getstate(), np.random.get_state()
        cuda = torch.cuda.is_available()
        with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if cuda else []):
            if self.torch_cpu is None:
                torch.manual_seed(self.seed)
            else:
                torch.set_rng_state(self.torch_cpu)
                if cuda and self.torch_cuda is not None:
                    torch.cuda.set_rng_state_all(self.torch_cuda)
            random.setstate(self.py)
            np.random.set_state(self.np)
            try:
                yield
            finally:
                self.py, self.np = random.getstate(), np.random.get_state()
                self.torch_cpu = torch.get_rng_state()
                self.torch_cuda = torch.cuda.get_rng_state_all() if cuda else None
                random.setstate(py_saved)
                np.random.set_state(np_saved)


class NlpaugAugmenter:
    """An nlpaug augmenter run on its own seeded randomness, batch in, batch out."""

    def __init__(self, name: str, augmenter, seed: int) -> None:
        self.name, self.augmenter = name, augmenter
        self.rng = _IsolatedRandomness(seed)

    def __call__(self, sentences: list[str]) -> list[str]:
        if not sentences:
            return []
        with self.rng.active():
            out = self.augmenter.augment(list(sentences))
        if isinstance(out, str):
            out = [out]
        if len(out) != len(sentences):
            raise RuntimeError(f"text_augment={self.name!r}: nlpaug returned {len(out)} sentences "
                               f"for {len(sentences)}")
        return [str(s) for s in out]


def _make_nlpaug(name: str):
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "spelling":
        import nlpaug.augmenter.word as naw

        return naw.SpellingAug()
    if name == "synonym":
        import nlpaug.augmenter.word as naw

        return naw.ContextualWordEmbsAug(model_path="roberta-base", action="insert", device=device)
    if name == "paraphrase":
        import nlpaug.augmenter.sentence as nas

        return nas.ContextualWordEmbsForSentenceAug(model_path="xlnet-base-cased", device=device)
    if name == "back_translation":
        import nlpaug.augmenter.word as naw

        return naw.BackTranslationAug(from_model_name="facebook/wmt19-en-de",
                                      to_model_name="facebook/wmt19-de-en", device=device)
    raise AssertionError(name)


def build_text_augmenter(name: str, seed: int,
                         cache_dir: str | Path | None = None) -> TextAugmenter | None:
    """The augmenter ``text_augment=name`` names, seeded by ``seed``; None for ``none``.

    Raises :class:`TextAugmentUnavailable` (before loading anything) when nlpaug or a model is
    missing, and ValueError for an unknown name.
    """
    check_text_augment_available(name, cache_dir)
    if name == "none":
        return None
    if name == "typos":
        return KeyboardTypos(seed)
    return NlpaugAugmenter(name, _make_nlpaug(name), seed)
